"""The LM track end to end on a toy config (`snakemake lm`): real Bible text, tiny GPT-2s. Checks the files and
their consistency (scores cover every example, the hard student's rows are the teacher's continuations, the removal
run trained without the flagged examples), not the paper's findings."""

import json

import pandas as pd
import pytest

from memkd.io import read_table, read_tsv
from memkd.lm import data

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration
LM_TINY = ROOT / "tests" / "config" / "lm_tiny.yaml"


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lm")
    run_snakemake(workdir, "lm", configs=[LM_TINY])
    return workdir


def test_lm_track_tables_figures_and_summary(lm_run):
    lm = lm_run / "results" / "lm"
    for name in ("memorization", "relative_change", "inheritance", "soft_vs_hard", "predictor", "roc", "removal"):
        assert (lm / "tables" / f"{name}.tsv").stat().st_size > 0, name
    for name in ("rates", "inheritance", "predictor_roc", "removal"):
        assert (lm / "figures" / f"{name}.png").stat().st_size > 10_000, name
    text = (lm / "summary.md").read_text()
    for finding in ("student vs baseline rate", "memorization inside T and B", "teacher-specific inheritance",
                    "predictor and removal"):
        line = next(line for line in text.splitlines() if finding in line)
        assert any(v in line for v in ("reproduced", "contradicted", "inconclusive")), line


def test_scores_cover_every_example_and_the_teacher_memorizes(lm_run):
    lm = lm_run / "results" / "lm"
    finetune, heldout = read_tsv(lm / "data" / "finetune.tsv"), read_tsv(lm / "data" / "heldout.tsv")
    stats = json.loads((lm / "data" / "stats.json").read_text())
    assert stats["finetune_rows"] == finetune["copies"].astype(int).sum() > len(finetune)  # planted copies kept
    for role in ("teacher", "baseline", "soft", "hard", "soft_removed", "hard_removed"):
        scores = read_table(lm / "scores" / "seed1" / f"{role}.tsv")
        assert scores.loc[scores.split == "finetune", "id"].tolist() == finetune["id"].tolist(), role
        assert scores.loc[scores.split == "heldout", "id"].tolist() == heldout["id"].tolist(), role
    teacher = read_table(lm / "scores" / "seed1" / "teacher.tsv")
    rates = teacher.groupby("split")["memorized"].mean()
    # the toy config is sized so that the teacher memorizes fine-tuning examples and no held-out one
    assert rates["finetune"] > 0.05 and rates["heldout"] < rates["finetune"]


def test_hard_rows_are_the_teachers_continuations(lm_run):
    lm = lm_run / "results" / "lm"
    examples = read_tsv(lm / "data" / "finetune.tsv")
    hard = read_tsv(lm / "models" / "seed1" / "hard" / "hard_rows.tsv")
    teacher = read_table(lm / "scores" / "seed1" / "teacher.tsv").query("split == 'finetune'")
    original, generated = data.id_matrix(examples), data.id_matrix(hard)
    assert (generated[:, :8] == original[:, :8]).all()  # same prefixes (P = 8)
    # where the teacher reproduces the suffix, its continuation is the example itself, and only there
    same = (generated == original).all(axis=1)
    assert same.tolist() == teacher["memorized"].astype(bool).tolist()


def test_removal_trained_without_the_flagged_examples(lm_run):
    lm = lm_run / "results" / "lm"
    examples = read_tsv(lm / "data" / "finetune.tsv")
    flagged = read_table(lm / "predictor" / "seed1" / "flagged.tsv")
    copies = examples["copies"].astype(int).to_numpy()
    for student in ("soft", "hard"):
        info = json.loads((lm / "models" / "seed1" / f"{student}_removed" / "training.json").read_text())
        kept = ~flagged[f"{student}_flagged"].astype(bool).to_numpy()
        assert info["rows"] == copies[kept].sum(), student
    removal = read_table(lm / "tables" / "removal.tsv")
    assert set(removal.student) == {"soft", "hard"}


def test_lm_is_not_part_of_the_default_target(lm_run):
    done = run_snakemake(lm_run, "-n", configs=[LM_TINY])
    assert "lm_train" not in done.stdout
