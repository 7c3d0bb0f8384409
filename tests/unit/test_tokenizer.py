import pytest

from memkd.tokenizer import load, sample_sentences, sample_table_sentences, train_sentencepiece

SETTINGS = {"vocab_size": 40, "model_type": "unigram", "character_coverage": 1.0}
TEXTS = [f"the {w} went to the {v} and said {i}" for i, (w, v) in enumerate(zip(["man", "woman", "king"] * 40, ["city", "river", "house", "field"] * 30))]


def test_sentencepiece_is_deterministic_and_round_trips(tmp_path):
    first, second = tmp_path / "a" / "spm.model", tmp_path / "b" / "spm.model"
    first.parent.mkdir(), second.parent.mkdir()
    train_sentencepiece(TEXTS, first, SETTINGS, seed=1)
    train_sentencepiece(TEXTS, second, SETTINGS, seed=1)
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".vocab").exists()
    model = load(first)
    assert model.vocab_size() == 40
    assert model.pad_id() == 0 and model.eos_id() == 3
    assert model.decode(model.encode("the king went to the river")) == "the king went to the river"


def test_sample_sentences_is_seeded_and_keeps_corpus_order():
    texts = [f"line {i}" for i in range(100)]
    first, again, other = (sample_sentences(texts, 30, seed) for seed in (1, 1, 2))
    assert first == again and first != other
    assert len(set(first)) == 30 and first == sorted(first, key=texts.index)
    assert sample_sentences(texts, None, 1) == texts and sample_sentences(texts, 500, 1) == texts
    with pytest.raises(ValueError, match="at least 1"):
        sample_sentences(texts, 0, 1)


def test_a_sample_drawn_while_reading_the_table_equals_the_sample_of_its_columns(tmp_path):
    """sample_table_sentences, reading 7 rows at a time, draws the very sentences (and order) that sample_sentences
    draws from the columns' texts one column after the other: SentencePiece gets the same input, so the same model."""
    import pandas as pd

    from memkd.io import write_tsv_atomic

    n = 53
    table = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "en": [f"en {i}" for i in range(n)],
                          "es": [f"es {i}" if i % 5 else "" for i in range(n)]})  # empty texts are texts too
    path = tmp_path / "train.tsv"
    write_tsv_atomic(path, table)
    texts = table["en"].tolist() + table["es"].tolist()
    for size in (None, 1, 10, 53, 80, 2 * n, 500):
        for seed in (1, 2):
            sample, total = sample_table_sentences(path, ["en", "es"], size, seed, rows=7)
            assert total == 2 * n
            assert sample == sample_sentences(texts, size, seed)
    with pytest.raises(ValueError, match="at least 1"):
        sample_table_sentences(path, ["en", "es"], 0, 1)


def test_sentencepiece_on_a_sample_with_threads_is_deterministic(tmp_path):
    texts = [f"the {w} went to the {v} and said {i}" for i, (w, v) in enumerate(zip(
        ["man", "woman", "king", "servant", "prophet"] * 200, ["city", "river", "house", "field"] * 250))]
    settings = {**SETTINGS, "input_sentence_size": 300, "threads": 2}
    paths = [tmp_path / name / "spm.model" for name in ("a", "b", "c", "all")]
    for path in paths:
        path.parent.mkdir()
    train_sentencepiece(texts, paths[0], settings, seed=1)
    train_sentencepiece(texts, paths[1], settings, seed=1)
    train_sentencepiece(texts, paths[2], settings, seed=2)
    train_sentencepiece(texts, paths[3], {**settings, "input_sentence_size": None}, seed=1)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    # Another seed draws another sample, and the sample is not all sentences: different models.
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert paths[0].read_bytes() != paths[3].read_bytes()
    model = load(paths[0])
    assert model.vocab_size() == 40
    assert model.decode(model.encode("the king went to the river")) == "the king went to the river"
