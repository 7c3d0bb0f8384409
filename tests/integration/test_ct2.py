"""The tiny study decodes with CTranslate2 (the default engine): its translations are what memkd's reference decoder
gives, for a model of every preset the study trains (teacher, student, CM), greedy on the study sources with the
memorization length limit and beam 2 with 2-best lists on the test sources with the evaluation limit."""

import json

import pandas as pd
import pytest
import torch

from memkd.decode import Decoder, length_limit

from .conftest import ROOT

pytestmark = pytest.mark.integration


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
    for role in ("teacher", "student", "cm00"):
        memkd = Decoder(models / role, "memkd", device="cpu")
        ctranslate2 = Decoder(models / role, "ctranslate2", device="cpu")
        study = _sources(tiny_study, direction, "study_train")
        a, b = length_limit(settings, "study_train", memkd.max_positions)
        expected = memkd.translate(study, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        got = ctranslate2.translate(study, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        assert got == expected, f"{role}: {sum(g != e for g, e in zip(got, expected))}/{len(study)} differ"
        if role != "cm00":  # the workflow's own file (CM models translate nothing)
            written = (tiny_study / "results" / "translations" / "bible" / direction / "seed1" / role
                       / "study_train.greedy.txt").read_text().splitlines()
            assert written == [h[0] for h in expected]
            timing = json.loads((tiny_study / "results" / "translations" / "bible" / direction / "seed1" / role
                                 / "study_train.greedy.json").read_text())
            assert timing["decoding"] == ctranslate2.signature(1, 1, a, b) and "|engine:ctranslate2-" in timing["decoding"]
        test = _sources(tiny_study, direction, "test")
        a, b = length_limit(settings, "test", memkd.max_positions)
        expected = memkd.translate(test, beam=2, n_best=2, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        got = ctranslate2.translate(test, beam=2, n_best=2, max_tokens=settings["max_tokens"], max_len_a=a, max_len_b=b)[0]
        assert got == expected, f"{role} beam 2: {sum(g != e for g, e in zip(got, expected))}/{len(test)} differ"


def yaml_config() -> dict:
    """The decoding settings the tiny study ran with: config.yaml under tests/config/tiny.yaml."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["decoding"].update(yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text())["decoding"])
    return config
