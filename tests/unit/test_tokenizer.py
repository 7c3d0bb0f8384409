from memkd.tokenizer import load, train_sentencepiece

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
