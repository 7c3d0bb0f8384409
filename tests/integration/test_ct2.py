"""The tiny study decodes and scores with CTranslate2 (the default engine), from the folders rule convert_model
writes: its translations are what memkd's reference decoder gives, for a model of every preset the study trains
(teacher, student, CM), greedy on the study sources with the memorization length limit and beam 2 with 2-best lists
on the test sources with the evaluation limit; its teacher-forced scores are memkd's within 1e-4 per pair, for every
preset and the QE models.

"The same outputs" allows one thing: a float near-tie. The tiny models are barely trained, so two next pieces can
be 3e-6 apart in log-probability, and the two engines' fp32 kernels break such a tie differently on different CPUs
(one of 100 beam-2 outputs of a CM model on a 2-core EPYC without AVX512-BF16). Every output that differs must first
differ at a piece where memkd's model puts both engines' choices within NEAR_TIE of each other, and few may differ."""

import json

import pandas as pd
import pytest
import torch

from memkd.decode import Decoder, length_limit

from .conftest import ROOT

pytestmark = pytest.mark.integration

NEAR_TIE = 1e-4  # log-probability: two next pieces this close are a tie the engines may break either way
MAX_DIFFERING = 0.03  # share of outputs that may differ, each at a near-tie


def _first_divergence_gap(decoder, source: str, expected: list[str], got: list[str]) -> float:
    """Where the first differing hypotheses of two n-best lists part (in pieces), how far apart memkd's model puts
    the two next pieces' log-probabilities given their shared prefix."""
    from memkd.model import EOS_ID, PAD_ID

    rank = next(r for r in range(len(expected)) if expected[r] != got[r])
    a, b = (decoder.processor.encode(h[rank]) + [EOS_ID] for h in (expected, got))
    k = next(j for j in range(min(len(a), len(b))) if a[j] != b[j])
    src = torch.tensor([decoder.processor.encode(source)[: decoder.max_positions - 1] + [EOS_ID]])
    with torch.inference_mode():
        logits = decoder.model(input_ids=src, attention_mask=torch.ones_like(src),
                               decoder_input_ids=torch.tensor([[PAD_ID] + a[:k]])).logits[0, -1].log_softmax(-1)
    return abs(float(logits[a[k]] - logits[b[k]]))


def assert_same_outputs(decoder, sources, expected, got, what: str) -> None:
    """got == expected, except outputs that first differ at a float near-tie of the next piece (few of them)."""
    differing = [i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert len(differing) <= MAX_DIFFERING * len(sources), f"{what}: {len(differing)}/{len(sources)} differ"
    for i in differing:
        gap = _first_divergence_gap(decoder, sources[i], expected[i], got[i])
        assert gap < NEAR_TIE, f"{what}: source {i} differs where the next pieces are {gap:.2g} apart, not a tie"


def _sources(workdir, direction, split):
    frame = pd.read_csv(workdir / "results" / "data" / "bible" / direction / f"{split}.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    return frame["src"].tolist()


@pytest.mark.parametrize("direction", ["en-es", "es-en"])
def test_ctranslate2_gives_memkds_outputs_for_every_preset(tiny_study, direction):
    torch.set_num_threads(1)
    config = yaml_config()
    settings = config["decoding"]
    models = tiny_study / "results" / "models" / "bible" / direction / "seed1"
    # teacher preset, student preset (student), cm preset (the first CM model)
    converted = tiny_study / "results" / "ct2" / "models" / "bible" / direction / "seed1"
    for role in ("teacher", "student", "cm00"):
        memkd = Decoder(models / role, "memkd", device="cpu")
        # the workflow's conversion; a CM model is converted in its scoring job (score_references), so here in memory
        assert (converted / role).exists() != (role == "cm00")
        ct2_dir = None if role == "cm00" else converted / role
        ctranslate2 = Decoder(models / role, "ctranslate2", device="cpu", ct2_dir=ct2_dir)
        study = _sources(tiny_study, direction, "study_train")
        a, b = length_limit(settings, "study_train", memkd.max_positions)
        expected = memkd.translate(study, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        got = ctranslate2.translate(study, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        assert_same_outputs(memkd, study, expected, got, f"{role} greedy")
        if role != "cm00":  # the workflow's own file (CM models translate nothing)
            written = (tiny_study / "results" / "translations" / "bible" / direction / "seed1" / role
                       / "study_train.greedy.txt").read_text().splitlines()
            assert written == [h[0] for h in got]  # the workflow decodes with CTranslate2
            timing = json.loads((tiny_study / "results" / "translations" / "bible" / direction / "seed1" / role
                                 / "study_train.greedy.json").read_text())
            assert timing["decoding"] == ctranslate2.signature(1, 1, a, b) and "|engine:ctranslate2-" in timing["decoding"]
        test = _sources(tiny_study, direction, "test")
        a, b = length_limit(settings, "test", memkd.max_positions)
        expected = memkd.translate(test, beam=2, n_best=2, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        got = ctranslate2.translate(test, beam=2, n_best=2, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        assert_same_outputs(memkd, test, expected, got, f"{role} beam 2")


@pytest.mark.parametrize("direction", ["en-es", "es-en"])
def test_ctranslate2_scores_as_memkd_for_every_preset(tiny_study, direction):
    """score_references' and quality_estimate's files (CTranslate2) against memkd's torch scoring: the same token
    counts, log-probabilities (and QE cross-entropies) within 1e-4 per pair, for the teacher, student (baseline), CM
    and QE presets."""
    torch.set_num_threads(1)
    results = tiny_study / "results"
    max_tokens = yaml_config()["decoding"]["max_tokens"]
    pairs = pd.read_csv(results / "data" / "bible" / direction / "study_train.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    sources, targets = pairs["src"].tolist(), pairs["tgt"].tolist()
    for role in ("teacher", "baseline", "cm00"):  # the models score_references scores with
        expected = Decoder(results / "models" / "bible" / direction / "seed1" / role, "memkd", device="cpu").score(
            sources, targets, max_tokens=max_tokens)
        written = pd.read_csv(results / "scores" / "bible" / direction / "seed1" / role / "study_train.tsv", sep="\t")
        assert written["id"].astype(str).tolist() == pairs["id"].tolist()
        assert written["tokens"].tolist() == [n for n, _ in expected]
        worst = max(abs(w - e) for w, (_, e) in zip(written["log_prob"], expected))
        assert worst <= 1e-4, f"{role}: largest difference {worst:.2e}"
    # the QE models (their own preset): the forward cross-entropy of the references, per token
    qe_model = results / "qe" / "bible" / direction / "model"
    expected = Decoder(qe_model, "memkd", device="cpu").score(sources, targets, max_tokens=max_tokens)
    quality = pd.read_csv(results / "quality" / "bible" / direction / "seed1" / "reference" / "study_train.tsv",
                          sep="\t")
    worst = max(abs(q + lp / n) for q, (n, lp) in zip(quality["forward_xent"], expected))
    assert worst <= 1e-4 and (results / "ct2" / "qe" / "bible" / direction / "model" / "model.bin").exists()


def yaml_config() -> dict:
    """The decoding settings the tiny study ran with: config.yaml under tests/config/tiny.yaml."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["decoding"].update(yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text())["decoding"])
    return config
