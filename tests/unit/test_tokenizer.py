import pytest

from memkd.tokenizer import load, sample_sentences, train_sentencepiece

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
