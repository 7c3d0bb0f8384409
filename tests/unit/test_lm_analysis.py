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


def test_resampled_aucs_are_roc_auc_score_with_ties():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(3)
    probabilities = rng.integers(0, 5, 60) / 4  # many ties
    labels = rng.random(60) < 0.3
    rows = rng.integers(0, 60, size=(20, 60))
    rows[0] = np.flatnonzero(~labels)[0]  # one class only: no AUC
    aucs = analysis._resampled_aucs(probabilities, labels, rows)
    assert np.isnan(aucs[0])
    assert aucs[1:] == pytest.approx([roc_auc_score(labels[r], probabilities[r]) for r in rows[1:]], abs=1e-12)


def seed_predictions(rng, n, separation):
    """Out-of-fold probabilities that separate the memorized examples by `separation` (0: chance)."""
    labels = rng.random(n) < 0.3
    return 1 / (1 + np.exp(-(rng.normal(size=n) + separation * labels))), labels


def test_the_pooled_auc_interval_covers_the_spread_between_seeds():
    rng = np.random.default_rng(0)
    stats = {"bootstrap_resamples": 400, "seed": 1, "confidence": 0.95}
    seeds = [seed_predictions(rng, 300, s) for s in (4.0, 0.5, 2.0)]  # the seeds disagree: AUC ~1, ~0.6, ~0.9
    per_seed = [analysis.pooled_auc_interval([p], [y], stats, True) for p, y in seeds]  # one seed: over examples
    # with one seed, the per-example bootstrap of auc_interval (the lm_predictor rows), draw for draw
    assert analysis.pooled_auc_interval(*([x] for x in seeds[0]), {**stats, "bootstrap_resamples": 100}, True) \
        == pytest.approx(analysis.auc_interval(*seeds[0], {**stats, "bootstrap_resamples": 100}), abs=1e-12)
    point, low, high = analysis.pooled_auc_interval([p for p, _ in seeds], [y for _, y in seeds], stats,
                                                    same_examples=False)
    assert point == pytest.approx(np.mean([a for a, _, _ in per_seed]), abs=1e-12)
    assert low < point < high
    # the mean of the per-seed limits (the old pooled row) ignores the seeds' disagreement: far narrower
    assert high - low > 2 * np.mean([h - lo for _, lo, h in per_seed])
    assert low < min(a for a, _, _ in per_seed) + 0.1 and high > max(a for a, _, _ in per_seed) - 0.1
    # three copies of one seed: no spread between seeds, the interval of that seed's examples
    p, y = seeds[2]
    _, copy_low, copy_high = analysis.pooled_auc_interval([p] * 3, [y] * 3, stats, same_examples=True)
    _, one_low, one_high = per_seed[2]
    assert copy_low == pytest.approx(one_low, abs=0.02) and copy_high == pytest.approx(one_high, abs=0.02)


def test_the_predictor_table_pools_seeds_with_the_two_level_interval():
    rng = np.random.default_rng(5)
    stats = {"bootstrap_resamples": 300, "seed": 2, "confidence": 0.95}
    n, ids = 200, [f"ft{i}" for i in range(200)]
    rows, flagged, scores = [], {}, {}
    for seed, separation in ((1, 3.0), (2, 1.0), (3, None)):  # seed 3: nothing memorized, no AUC
        frame = pd.DataFrame({"id": ids})
        for student in analysis.STUDENTS:
            if separation is None:
                probabilities, labels = np.full(n, np.nan), np.zeros(n, bool)
                auc, low, high = np.nan, np.nan, np.nan
            else:
                probabilities, labels = seed_predictions(rng, n, separation)
                auc, low, high = analysis.pooled_auc_interval([probabilities], [labels], stats, True)
            rows.append({"seed": seed, "student": student, "positives": int(labels.sum()), "auc": auc,
                         "auc_low": low, "auc_high": high})
            frame[f"{student}_probability"] = probabilities
            frame[f"{student}_flagged"] = (probabilities >= 0.5).astype(int)
            scores[(seed, student)] = pd.DataFrame({"id": ids[::-1] + ["h0"], "split": ["finetune"] * n + ["heldout"],
                                                    "memorized": list(labels.astype(int)[::-1]) + [0]})
        flagged[seed] = frame
    per_seed = pd.DataFrame(rows)
    table = analysis.predictor_table(per_seed, flagged, scores, stats)
    pooled = table[table.seed.astype(str) == analysis.POOLED].set_index("student")
    assert list(pooled.index) == ["soft", "hard"] and (pooled.seeds == 2).all() and (pooled.seeds_without_auc == 1).all()
    for student in analysis.STUDENTS:
        mine = per_seed[(per_seed.student == student) & per_seed.auc.notna()]
        assert pooled.loc[student, "auc"] == pytest.approx(mine.auc.mean(), abs=1e-9)
        expected = analysis.pooled_auc_interval(
            [flagged[s][f"{student}_probability"].to_numpy() for s in (1, 2)],
            [analysis.finetune_labels(scores[(s, student)], flagged[s]["id"]) for s in (1, 2)], stats, True)
        assert (pooled.loc[student, "auc_low"], pooled.loc[student, "auc_high"]) == expected[1:]
        assert pooled.loc[student, "auc_low"] != pytest.approx(mine.auc_low.mean(), abs=1e-3)  # not the mean limit
    assert pooled.interval.iloc[0].startswith("two-level percentile bootstrap (seeds, then examples)")
    one = analysis.predictor_table(per_seed[per_seed.seed == 1], {1: flagged[1]}, scores, stats)
    assert (one.seed != analysis.POOLED).all() and len(one) == 2
