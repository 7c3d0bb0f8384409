"""Seeds as a study dimension: a tiny study with `seeds: [1, 2, 3]` runs through the tables, figures and summary;
every table keeps its per-seed rows and adds rows pooled over seeds whose mean, sd and interval agree with them, and
the summary gives verdicts on the paper's claims from the pooled intervals only.

Kept cheap (one direction, 120 pairs, greedy only, two CM models) on top of tests/config/tiny.yaml."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from memkd.summary import PER_SEED, verdict

from .conftest import ROOT, run_snakemake, write_config
from .test_memorization import FIGURES

pytestmark = pytest.mark.integration

TINY = ROOT / "tests" / "config" / "tiny.yaml"
SEEDS = [1, 2, 3]
VARIANT_SEED = 1
VARIANTS = ["word_kd", "student_more_epochs", "student_pruned50", "adaptive_seqkd"]
VERDICTS = ("agrees in sign", "disagrees in sign", "inconclusive", "undefined", "no interval", "the paper gives no")


@pytest.fixture(scope="module")
def seeds_study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("seeds")
    extra = write_config(workdir / "seeds.yaml", {
        "seeds": SEEDS,
        "directions": ["en-es"],  # the es-en teacher is still trained: the QE reads both directions' teachers
        "study": {"max_subwords": 30, "max_pairs": 120},
        "preprocess": {"max_eval_pairs": 40},
        "decoding": {"evaluation": ["greedy"]},
        "counterfactual": {"models": 2},
        "predictor": {"folds": 2},
        # variants at seed 1 only, as in the default: a plain one, one with an equal-budget control, Adaptive-SeqKD
        "variant_seeds": [VARIANT_SEED],
        "variants": {
            "word_kd": {"data": "corpus", "distillation": {"method": "word_kd", "alpha": 0.5, "temperature": 1.0}},
            "student_more_epochs": {"data": "seqkd", "finetune": {"from": "student", "epochs": 2}},
            "student_pruned50": {"data": "seqkd", "prune": {"from": "student", "sparsity": 0.5, "epochs": 2},
                                 "control": "student_more_epochs"},
            "adaptive_seqkd": {"data": "adaptive_seqkd", "selection": "quality"},
        },
    })
    run_snakemake(workdir, "figures", configs=[TINY, extra])
    return workdir


def table(workdir, name):
    return pd.read_csv(workdir / "results" / "tables" / "bible" / f"{name}.tsv", sep="\t")


def split(frame):
    pooled = frame.seed.astype(str) == "pooled"
    return frame[~pooled].assign(seed=lambda f: f.seed.astype(int)), frame[pooled]


def check_pooled_rates(per_seed, pooled, keys, rates):
    """Each pooled row: mean and sd over its seeds' rows, and an interval around the rate pooled over seeds
    (`rates`: rate -> its numerator and denominator count columns; None where every seed has the same
    denominator, so that the pooled rate is the mean rate)."""
    assert len(pooled) * len(SEEDS) == len(per_seed) and (pooled.seeds == len(SEEDS)).all()
    for row in pooled.itertuples():
        seeds = per_seed[np.logical_and.reduce([per_seed[k] == getattr(row, k) for k in keys])]
        assert sorted(seeds.seed) == SEEDS, (row, seeds)
        assert row.interval.startswith("two-level percentile bootstrap (seeds, then pairs")
        for rate, counts in rates.items():
            values = seeds[f"{rate}_pct"].astype(float)
            mean, low, high = (getattr(row, f"{rate}_{part}") for part in ("pct", "ci_low", "ci_high"))
            if values.isna().all():  # no seed has a denominator (e.g. no ExMem candidates)
                assert math.isnan(mean) and math.isnan(low) and math.isnan(high)
                continue
            assert mean == pytest.approx(values.mean(), abs=1e-3)
            assert getattr(row, f"{rate}_pct_sd") == pytest.approx(values.std(ddof=1), abs=1e-3)
            pooled_rate = values.mean() if counts is None else 100 * seeds[counts[0]].sum() / seeds[counts[1]].sum()
            assert 0 <= low <= pooled_rate + 1e-3 and pooled_rate - 1e-3 <= high <= 100, (row, rate)


def test_tables_keep_the_seeds_and_pool_them(seeds_study):
    memorization = table(seeds_study, "memorization")
    per_seed, pooled = split(memorization)
    assert set(per_seed.seed) == set(SEEDS) and set(pooled.role) == {"teacher", "baseline", "student"}
    # the variants: seed 1 only, never pooled
    variants = per_seed[per_seed.role.isin(VARIANTS)]
    assert set(variants.role) == set(VARIANTS) and set(variants.seed) == {VARIANT_SEED}
    per_seed = per_seed[~per_seed.role.isin(VARIANTS)]
    check_pooled_rates(per_seed, pooled, ["direction", "role", "against"],
                       {"replication": ("replication", "pairs"), "exmem": ("exmem", "exmem_candidates")})
    hallucination = table(seeds_study, "hallucination")
    per_seed, pooled = split(hallucination)
    assert set(per_seed[per_seed.role.isin(VARIANTS)].seed) == {VARIANT_SEED} and not pooled.role.isin(VARIANTS).any()
    per_seed = per_seed[~per_seed.role.isin(VARIANTS)]
    for inputs, rates in (("study_train", {"osc_hal": ("osc_hal", "osc_hal_evaluated"), "nat_hal": None}),
                          ("probe", {"osc_hal": ("osc_hal", "osc_hal_evaluated")})):
        check_pooled_rates(per_seed[per_seed.inputs == inputs], pooled[pooled.inputs == inputs],
                           ["direction", "role", "inputs"], rates)


def test_relative_change_pools_the_seeds_as_mean_sd_and_a_two_level_interval(seeds_study):
    per_seed, pooled = split(table(seeds_study, "relative_change"))
    assert set(per_seed.seed) == set(SEEDS)
    assert sorted(pooled.metric) == sorted(set(per_seed.metric)) and (pooled.seeds == 3).all()
    for row in pooled.itertuples():
        seeds = per_seed[per_seed.metric == row.metric]
        assert sorted(seeds.seed) == SEEDS
        for column, sd in (("student_pct", "student_pct_sd"), ("baseline_pct", "baseline_pct_sd"),
                           ("relative_change_pct", "relative_change_sd")):
            values = seeds[column].astype(float).dropna()  # a seed whose change is undefined is left out
            if values.empty:
                assert math.isnan(getattr(row, column))
                continue
            assert getattr(row, column) == pytest.approx(values.mean(), abs=0.01)
            if len(values) > 1:
                assert getattr(row, sd) == pytest.approx(values.std(ddof=1), abs=0.01)
        if not math.isnan(row.pooled_change_pct):
            assert row.ci_low <= row.pooled_change_pct <= row.ci_high, row
        if row.metric in ("replication", "nat_hal"):  # every pair in every seed: pooled rate = mean rate
            student, baseline = seeds.student_pct.mean(), seeds.baseline_pct.mean()
            expected = 100 * (student - baseline) / baseline if baseline else float("nan")
            assert row.pooled_change_pct == pytest.approx(expected, abs=0.05, nan_ok=True)
        assert row.interval.startswith("two-level percentile bootstrap")


def markdown_rows(section: str) -> list[dict]:
    """The rows of every Markdown table in `section`, as dicts keyed by their header."""
    rows, header = [], None
    for line in section.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-"):
            rows.append(dict(zip(header, cells)))
    return rows


def test_the_summary_judges_only_from_pooled_intervals(seeds_study):
    text = (seeds_study / "results" / "summary" / "bible.md").read_text()
    variants = text.split("## Distillation variants")[1].split("\n## ")[0]
    adaptive = text.split("## Adaptive-SeqKD")[1].split("\n## ")[0]
    assert "Seeds: 1, 2, 3." in text and "anecdote" not in text.replace(variants, "").replace(adaptive, "")
    # the variants, trained at one seed, are anecdotes: no pooled row, no direction claimed
    assert "Trained at one seed (" in variants and all(v in variants for v in VARIANTS if v != "adaptive_seqkd")
    assert all(r["seed"] == str(VARIANT_SEED) for r in markdown_rows(variants))
    section = text.split("## Student vs baseline")[1].split("\n## ")[0]
    rows = markdown_rows(section)
    per_seed = [r for r in rows if "seed" in r]
    pooled = [r for r in rows if "seeds" in r]
    assert len(per_seed) == 3 * len(pooled) and pooled
    assert all(r["verdict"] == PER_SEED for r in per_seed)
    changes = split(table(seeds_study, "relative_change"))[1].set_index("metric")
    for r in pooled:
        row = changes.loc[r["metric"]]
        paper = None if pd.isna(row.paper_relative_change_pct) else float(row.paper_relative_change_pct)
        assert r["verdict"] == verdict(float(row.pooled_change_pct), float(row.ci_low), float(row.ci_high), paper)
        assert r["verdict"].startswith(VERDICTS)
    # no verdict anywhere else in the summary
    outside = text.replace(section, "")
    assert not re.search(r"agrees in sign|disagrees in sign|inconclusive:", outside)


def test_variants_compare_with_baseline_student_and_their_control(seeds_study):
    variants = table(seeds_study, "variants")
    assert set(variants.seed.astype(str)) == {str(VARIANT_SEED)}  # one seed: nothing pooled
    compared = variants.groupby("model").compared_with.agg(set).to_dict()
    assert compared == {"word_kd": {"baseline", "student"}, "student_more_epochs": {"baseline", "student"},
                        "student_pruned50": {"baseline", "student", "student_more_epochs"}}
    memorization = table(seeds_study, "memorization")
    rates = memorization[(memorization.against == "corpus") & (memorization.seed.astype(str) == "1")]
    rates = rates.set_index("role").replication_pct
    for row in variants[variants.metric == "replication"].itertuples():
        assert row.model_pct == pytest.approx(rates[row.model]) and row.reference_pct == pytest.approx(
            rates[row.compared_with])
    adaptive = table(seeds_study, "adaptive_seqkd")
    assert set(adaptive.seed.astype(str)) == {str(VARIANT_SEED)}


def test_figures_show_the_seeds(seeds_study):
    figures = seeds_study / "results" / "figures" / "bible"
    names = [*FIGURES, "model_comparison_variants", "adaptive_seqkd"]
    assert sorted(p.name for p in figures.iterdir()) == sorted(f"{n}.{e}" for n in names for e in ("png", "pdf"))
    assert all((figures / f"{n}.png").stat().st_size > 10_000 for n in names)
