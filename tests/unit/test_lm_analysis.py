"""The LM track's tables and verdicts on hand-made memorization flags."""

import numpy as np
import pandas as pd
import pytest

from memkd.lm import analysis, summary

STATS = {"bootstrap_resamples": 200, "seed": 1, "confidence": 0.95}


def scores_of(seed, **flags):
    """Score tables per role from 0/1 lists (fine-tuning split) plus two never-memorized held-out rows."""
    out = {}
    for role, f in flags.items():
        n = len(f)
        out[(seed, role)] = pd.DataFrame({"id": [f"ft{i}" for i in range(n)] + ["ho0", "ho1"],
                                          "split": ["finetune"] * n + ["heldout"] * 2,
                                          "memorized": list(f) + [0, 0], "log_ppl": 1.0})
    return out


# T memorizes 0-5; B memorizes 0-2 (easy: 0-2); soft memorizes 0-1 (easy) and 3 (inherited); hard 0-2 and 3-5
T = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
B = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
SOFT = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
HARD = [1, 1, 1, 1, 1, 1, 0, 0, 0, 1]


def test_inheritance_sets_and_easy_share():
    table = analysis.inheritance_table(scores_of(1, teacher=T, baseline=B, soft=SOFT, hard=HARD), STATS)
    soft = table[table.student == "soft"].iloc[0]
    assert (soft.teacher_specific, soft.inherited, soft.easy, soft.student_easy) == (3, 1, 3, 2)
    assert soft.easy_share_pct == pytest.approx(100 * 2 / 3)
    hard = table[table.student == "hard"].iloc[0]
    assert (hard.inherited, hard.student_only, hard.student_easy) == (3, 1, 3)
    assert hard.low <= hard.easy_share_pct <= hard.high


def test_soft_vs_hard_ratio_and_student_vs_baseline_change():
    scores = scores_of(1, teacher=T, baseline=B, soft=SOFT, hard=HARD)
    ratio = analysis.soft_vs_hard_table(scores, STATS).iloc[0]
    assert (ratio.hard_inherited, ratio.soft_inherited) == (3, 1)
    assert ratio.ratio == pytest.approx(3.0)
    assert ratio.ratio_low <= 3.0 <= ratio.ratio_high
    change = analysis.relative_change_table(scores, STATS)
    soft = change[change.student == "soft"].iloc[0]
    assert soft.change_pct == pytest.approx(0.0)  # 3 vs 3 memorized
    assert change[change.student == "hard"].iloc[0].change_pct == pytest.approx(100 * (7 - 3) / 3)


def test_memorization_table_pools_seeds():
    scores = {**scores_of(1, teacher=T, baseline=B), **scores_of(2, teacher=T, baseline=[0] * 10)}
    table = analysis.memorization_table(scores, STATS)
    pooled = table[(table.seed == analysis.POOLED) & (table.role == "baseline") & (table.split == "finetune")]
    assert pooled.rate_pct.iloc[0] == pytest.approx(15.0)
    assert set(table.split) == {"finetune", "heldout"}


def test_removal_counts_before_and_after():
    scores = scores_of(1, teacher=T, baseline=B, soft=SOFT, hard=HARD, soft_removed=[0] * 9 + [1])
    flagged = {1: {"soft": np.array([True] * 3 + [False] * 7), "hard": np.zeros(10, bool)}}
    row = analysis.removal_table(scores, flagged, STATS).iloc[0]
    assert (row.student, row.memorized_before, row.memorized_after, row.flagged) == ("soft", 3, 1, 3)
    assert row.change_pct == pytest.approx(100 * (1 - 3) / 3)


def test_zlib_entropy_is_lower_for_repetitive_text():
    assert analysis.zlib_entropy("the the the the the the the the") < analysis.zlib_entropy("In the beginning, God")


def test_predictor_separates_a_feature_driven_label():
    rng = np.random.default_rng(0)
    features = pd.DataFrame({name: rng.normal(size=200) for name in analysis.FEATURES})
    labels = features["kl_teacher_baseline"].to_numpy() > 0.8
    row, roc, oof = analysis.predictor(features, labels, folds=5, threshold=0.5, seed=1, stats=STATS)
    assert row["auc"] > 0.95 and row["auc_low"] > 0.9
    assert row["flagged"] == int((oof >= 0.5).sum()) > 0
    none, _, nan = analysis.predictor(features, np.zeros(200, bool), 5, 0.5, 1, STATS)
    assert np.isnan(none["auc"]) and "too few" in none["reason"] and np.isnan(nan).all()


@pytest.mark.parametrize("low, high, expected", [(-90, -60, "reproduced"), (-40, 10, "contradicted"),
                                                 (-70, -20, "inconclusive"), (float("nan"), 0, "inconclusive")])
def test_rate_verdicts(low, high, expected):
    assert summary.verdict_rate(low, high) == expected


def test_other_verdicts():
    assert summary.verdict_easy(60, 99) == "reproduced" and summary.verdict_easy(10, 40) == "contradicted"
    assert summary.verdict_ratio(1.2, 4) == "reproduced" and summary.verdict_ratio(0.1, 0.9) == "contradicted"
    assert summary.verdict_ratio(0.5, 3) == "inconclusive"
    assert summary.verdict_predictor(0.95, 0.99, -100, -80) == "reproduced"
    assert summary.verdict_predictor(0.6, 0.8, -100, -80) == "contradicted"
    assert summary.verdict_predictor(0.95, 0.99, -40, 0) == "contradicted"
    assert summary.verdict_predictor(0.8, 0.95, -100, -80) == "inconclusive"
