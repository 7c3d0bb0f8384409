"""A user's own corpus (kind: tsv) with planted duplicates, through the real workflow: a corpus too small for the
default splits stops right after preprocessing with a message naming the split and the setting; with wider splits
it runs to the end, and the copies of a pair are IN or OUT together in the CM design, so that replication and
counterfactual memorization rise with the number of copies (issue: duplicates held out as a unit)."""

import time

import pandas as pd
import pytest

from .conftest import ROOT, run_snakemake, write_config
from .planted import planted_corpus, write_user_tsv

pytestmark = pytest.mark.integration

HELD_OUT_PERMILLE = 200  # dev 0 + test 100 + probe 100 in the planted run below


@pytest.fixture(scope="module")
def user_tsv(tmp_path_factory):
    """300 real Bible verse pairs plus 6 random-syllable pairs each once, 5 and 20 times: 456 lines."""
    bible = tmp_path_factory.mktemp("bible")
    run_snakemake(bible, "results/corpus/bible/aligned.tsv")  # the Debian packages, aligned (seconds)
    aligned = pd.read_csv(bible / "results/corpus/bible/aligned.tsv", sep="\t", dtype=str, keep_default_na=False)
    corpus, planted = planted_corpus(aligned, ordinary=300, per_repeat=6, salt="split-v1",
                                     held_out_permille=HELD_OUT_PERMILLE)
    path = tmp_path_factory.mktemp("user") / "pairs.tsv"
    write_user_tsv(corpus, path)
    assert len(corpus) == 456
    return path


def user_config(path, tsv, **extra):
    return write_config(path, {
        "corpus": "my_pairs",
        "corpora": {"my_pairs": {"kind": "tsv", "languages": ["en", "es"], "path": str(tsv), "on_undecodable": "error"}},
        "study": {"max_subwords": None, "max_pairs": None},
        # the study trains on every training pair: no held-out pairs are left for QE models of their own
        "quality_estimation": {"models": "teachers"},
        **extra,
    })


def test_a_corpus_too_small_for_the_default_splits_stops_before_training(user_tsv, tmp_path):
    config = user_config(tmp_path / "user.yaml", user_tsv)
    workdir = tmp_path / "work"
    workdir.mkdir()
    started = time.perf_counter()
    done = run_snakemake(workdir, configs=[ROOT / "configs" / "no_variants.yaml", config], check=False)
    print(f"stopped after {time.perf_counter() - started:.1f} s")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "split 'probe' holds 6 pairs, fewer than the 10 the study needs (preprocess.min_split_pairs.probe)" in output
    assert "raise preprocess.split_permille.probe to about 44" in output
    assert not (workdir / "results" / "models").exists()  # nothing trained
    assert not (workdir / "results" / "data" / "my_pairs" / "train.tsv").exists()  # no split written half-way


# Small models that memorize random syllables within a few hundred steps (tests/config/tiny.yaml's 1-layer d32
# students learn nothing in that time: CM 0.005 for the 20-copy pairs).
PLANTED = {
    "directions": ["en-es"],
    "preprocess": {"split_permille": {"dev": 0, "test": 100, "probe": 100}},
    "tokenizer": {"vocab_size": 1000},
    "decoding": {"evaluation": ["greedy"]},
    "models": {
        role: {"d_model": 64, "encoder_layers": layers, "decoder_layers": layers, "heads": 4, "ffn_dim": 256,
               "dropout": 0.1, "max_positions": 64}
        for role, layers in (("teacher", 2), ("student", 1), ("cm", 1))
    },
    "training": {role: {"epochs": 40, "lr": 2.0e-3, "warmup_steps": 50, "max_tokens": 600}
                 for role in ("teacher", "student", "cm")},
}


@pytest.fixture(scope="module")
def planted_study(user_tsv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    config = user_config(folder / "user.yaml", user_tsv, **PLANTED)
    workdir = folder / "work"
    workdir.mkdir()
    run_snakemake(workdir, configs=[ROOT / "tests" / "config" / "tiny.yaml", config])
    return workdir


def kind_of(ids: pd.Series) -> pd.Series:
    return ids.str.extract(r"^(planted\d+x|verse)")[0]


def test_copies_of_a_pair_are_in_or_out_together_and_halves_are_balanced(planted_study):
    design = pd.read_csv(planted_study / "results/cm/my_pairs/en-es/seed1/design.tsv", sep="\t")
    models = [c for c in design.columns if c.startswith("cm")]
    assert len(models) == 4
    assert (design[models].sum(axis=1) == 2).all()
    assert design[models].sum().max() - design[models].sum().min() <= 1  # floor(N/2) or ceil(N/2) pairs each
    pairs = pd.read_csv(planted_study / "results/data/my_pairs/en-es/study_train.tsv", sep="\t")
    design["pair"] = pairs["src"] + "\t" + pairs["tgt"]
    assert (design.groupby("pair")[models].nunique() == 1).all().all()
    planted = design[kind_of(design.id).str.startswith("planted")]
    assert sorted(planted.groupby("pair").size().unique()) == [1, 5, 20]


def test_replication_and_cm_rise_with_the_number_of_copies(planted_study):
    cm = pd.read_csv(planted_study / "results/tables/my_pairs/counterfactual.tsv", sep="\t")
    cm["kind"] = kind_of(cm.id)
    by_kind = cm.groupby("kind")[["p_in", "p_out", "cm", "repetitions"]].mean()
    print(by_kind.round(3).to_string())
    assert list(by_kind.loc[["planted1x", "planted5x", "planted20x"], "repetitions"]) == [1, 5, 20]
    assert by_kind.loc["planted20x", "cm"] > by_kind.loc["planted1x", "cm"] + 0.3
    assert by_kind.loc["planted5x", "cm"] > by_kind.loc["planted1x", "cm"] + 0.1
    # OUT models never saw a copy: random syllables stay improbable for them
    assert by_kind.loc["planted20x", "p_out"] < 0.05
    for role in ("teacher", "baseline"):
        examples = pd.read_csv(planted_study / f"results/memorization/my_pairs/en-es/seed1/{role}/examples.tsv",
                               sep="\t")
        replicated = examples.groupby(kind_of(examples.id))["exact_match"].mean()
        print(role, replicated.round(3).to_dict())
        assert replicated["planted20x"] > replicated["planted1x"] + 0.5, role
        assert replicated["planted5x"] >= replicated["planted1x"], role
    subgroups = pd.read_csv(planted_study / "results/tables/my_pairs/subgroups.tsv", sep="\t")
    buckets = subgroups[(subgroups.subgroup == "repetitions") & (subgroups.role == "baseline")].set_index("bucket")
    assert buckets.loc["5+", "cm_mean"] > buckets.loc["1", "cm_mean"] + 0.3
    assert buckets.loc["5+", "size"] >= 6 * 5 + 6 * 20  # the planted copies (a Bible verse may repeat too)
