import math

import pytest
import sentencepiece as spm
import torch

from memkd import train as train_module
from memkd.decode import decoding_signature, resolve_precision, score, translate
from memkd.marian import to_hugging_face
from memkd.model import build_model
from memkd.tokenizer import train_sentencepiece

WORDS = "the man woman king went to city river house field and said saw".split()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained to copy short sentences: enough to check decoding mechanics."""
    import random

    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 7))) for _ in range(300)]
    path = tmp_path_factory.mktemp("spm") / "spm.model"
    train_sentencepiece(texts, path, {"vocab_size": 32, "model_type": "unigram", "character_coverage": 1.0}, seed=1)
    processor = spm.SentencePieceProcessor(model_file=str(path))
    ids = [processor.encode(t) + [3] for t in texts]
    preset = {"d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "heads": 4, "ffn_dim": 128, "dropout": 0.0, "max_positions": 64}
    model = build_model(preset, vocab_size=32, seed=0)
    settings = {"seed": 1, "max_tokens": 256, "epochs": 50, "max_steps": None, "lr": 3e-3, "warmup_steps": 20,
                "label_smoothing": 0.0, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
                "log_every": 50, "checkpoint_every": 10**9}
    train_module.train(model, ids, ids, settings, tmp_path_factory.mktemp("ck") / "c.pt")
    return model, processor, texts


def test_greedy_copies_and_keeps_input_order(trained):
    model, processor, texts = trained
    sources = texts[:20]
    hyps, seconds = translate(model, processor, sources, beam=1)
    assert seconds > 0 and len(hyps) == 20 and all(len(h) == 1 for h in hyps)
    assert sum(h[0] == s for h, s in zip(hyps, sources)) >= 14


def test_beam_returns_k_best_lists(trained):
    model, processor, texts = trained
    hyps, _ = translate(model, processor, texts[:5], beam=4, n_best=3)
    assert all(len(h) == 3 for h in hyps)
    with pytest.raises(ValueError):
        translate(model, processor, texts[:1], beam=2, n_best=3)


def test_scores_are_log_probabilities_and_prefer_the_reference(trained):
    model, processor, texts = trained
    good = score(model, processor, texts[:10], texts[:10])
    bad = score(model, processor, texts[:10], list(reversed(texts[:10])))
    for (n, logp), s in zip(good, texts[:10]):
        assert n == len(processor.encode(s)) + 1 and logp <= 0
    assert sum(lp for _, lp in good) > sum(lp for _, lp in bad)


def test_score_matches_a_hand_computation(trained):
    model, processor, texts = trained
    (n, logp), = score(model, processor, [texts[0]], [texts[0]])
    src = torch.tensor([processor.encode(texts[0]) + [3]])
    tgt = torch.tensor([processor.encode(texts[0]) + [3]])
    with torch.no_grad():
        logits = to_hugging_face(model)(input_ids=src, labels=tgt).logits  # Hugging Face's forward
    expected = torch.log_softmax(logits, -1)[0].gather(-1, tgt[0].unsqueeze(-1)).sum().item()
    assert n == tgt.shape[1] and math.isclose(logp, expected, rel_tol=1e-4)


def test_decoding_signature_names_the_settings_and_the_engine():
    import ctranslate2
    import transformers

    assert decoding_signature(1, 1, 1.5, 10, "ctranslate2") == (
        f"decode:greedy|nbest:1|maxlen:1.5*src+10|lenpen:1.0|engine:ctranslate2-{ctranslate2.__version__}"
    )
    assert decoding_signature(5, 1, 1.5, 10, "memkd").startswith("decode:beam5")
    assert decoding_signature(5, 1, 1.5, 10, "memkd").endswith(f"|engine:memkd-transformers-{transformers.__version__}")
    assert "|maxlen:127|" in decoding_signature(1, 1, 0, 127, "memkd")  # a fixed limit
    with pytest.raises(ValueError, match="ctranslate2, memkd"):
        decoding_signature(1, 1, 1.5, 10, "marian")


def test_length_limit_is_fixed_for_memorization_splits_and_bounded_by_the_positions():
    from memkd.decode import length_limit

    settings = {"max_len_a": 1.5, "max_len_b": 10, "memorization_max_len": 256}
    assert length_limit(settings, "test", 128) == (1.5, 10)
    assert length_limit(settings, "dev", 512) == (1.5, 10)
    for split in ("study_train", "train", "probe"):
        assert length_limit(settings, split, 128) == (0, 127)
        assert length_limit(settings, split, 512) == (0, 256)


def test_a_hypothesis_at_the_length_limit_is_truncated_not_ended_by_a_forced_eos(trained):
    """The model's generation_config forces </s> at the limit (MarianConfig's forced_eos_token_id); decoding must
    not, or the two engines differ in the last token of every truncated output."""
    model, processor, texts = trained
    source = texts[0]
    limit = 3  # shorter than the copy the model was trained to produce
    (hypothesis,), _ = translate(model, processor, [source], beam=1, max_len_a=0, max_len_b=limit)
    full = processor.encode(translate(model, processor, [source], beam=1)[0][0][0])
    assert len(full) > limit and processor.encode(hypothesis[0]) == full[:limit]


def test_parse_decoding_names_the_beam_size_and_rejects_other_names():
    from memkd.decode import parse_decoding

    assert parse_decoding("greedy") == 1 and parse_decoding("beam5") == 5 and parse_decoding("beam12") == 12
    for bad in ("beam", "beam0", "sampling", "Beam5"):
        with pytest.raises(ValueError, match="greedy"):
            parse_decoding(bad)


def test_precision_auto_is_bf16_on_cuda_only_and_unknown_values_name_the_setting():
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "cuda") == resolve_precision("auto", "cuda:1") == "bf16"
    assert resolve_precision("fp32", "cuda") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="decoding.precision 'fp16': expected one of auto, fp32, bf16"):
        resolve_precision("fp16", "cuda")


def test_signatures_name_bf16_and_leave_fp32_as_it_was():
    fp32 = decoding_signature(1, 1, 1.5, 10, "memkd")
    assert decoding_signature(1, 1, 1.5, 10, "memkd", "fp32") == fp32 and "precision" not in fp32
    assert decoding_signature(1, 1, 1.5, 10, "memkd", "bf16") == f"{fp32}|precision:bf16"


def test_bf16_scoring_and_decoding_run_under_autocast_close_to_fp32(trained):
    """bf16 (the CUDA default) through autocast, here on the CPU: logits rounded, log-softmax and sums in fp32.
    Rounding logits to bf16's 8 bits moves a pair's score by up to a few tenths of a nat where the model is
    unsure of a token (one pair in 20 here), and by under 1% elsewhere."""
    import statistics

    model, processor, texts = trained
    fp32 = score(model, processor, texts[:20], texts[:20])
    bf16 = score(model, processor, texts[:20], texts[:20], precision="bf16")
    assert [n for n, _ in bf16] == [n for n, _ in fp32]
    assert any(a != b for (_, a), (_, b) in zip(fp32, bf16))  # bf16 did run
    for (_, a), (_, b) in zip(fp32, bf16):
        assert b == pytest.approx(a, rel=0.25, abs=0.05)
    assert statistics.median(abs(b - a) / abs(a) for (_, a), (_, b) in zip(fp32, bf16)) < 0.02
    hyps, _ = translate(model, processor, texts[:20], precision="bf16")
    assert sum(h[0] == s for h, s in zip(hyps, texts[:20])) >= 14
