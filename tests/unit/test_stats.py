"""Bootstrap intervals and the relative change, on hand-made flags with hand-computed answers."""

import math

import numpy as np
import pytest

from memkd import stats
from memkd.stats import (
    bootstrap_mean_ci,
    bootstrap_rate_ci,
    bonett_price_ratio,
    mean_sd,
    paired_bootstrap_relative_change,
    rate,
    relative_change,
)


def test_rate_is_percent_of_true():
    assert rate([True, False, False, False]) == 25.0
    assert rate(np.array([True, True])) == 100.0
    assert rate([False]) == 0.0
    with pytest.raises(ValueError, match="empty"):
        rate([])


def test_relative_change_student_vs_baseline():
    assert relative_change(10.0, 8.0) == 25.0
    assert relative_change(6.0, 8.0) == -25.0
    assert math.isnan(relative_change(5.0, 0.0))


def test_rate_ci_contains_point_and_stays_in_0_100():
    flags = np.array([True] * 30 + [False] * 70)
    point, low, high = bootstrap_rate_ci(flags, n_resamples=500, seed=1)
    assert point == 30.0
    assert 0.0 <= low < point < high <= 100.0
    # The normal-approximation 95% half-width is about 9 points; the bootstrap should be near it.
    assert 4.0 < high - low < 30.0


def test_rate_ci_of_constant_flags_is_degenerate():
    assert bootstrap_rate_ci([True] * 5, n_resamples=50, seed=0) == (100.0, 100.0, 100.0)
    assert bootstrap_rate_ci([False] * 5, n_resamples=50, seed=0) == (0.0, 0.0, 0.0)


def test_rate_ci_is_fixed_by_the_seed():
    flags = np.random.default_rng(7).random(200) < 0.3
    first = bootstrap_rate_ci(flags, n_resamples=300, seed=3)
    assert bootstrap_rate_ci(flags, n_resamples=300, seed=3) == first
    assert bootstrap_rate_ci(flags, n_resamples=300, seed=4) != first


def test_rate_ci_wider_confidence_gives_wider_interval():
    flags = np.random.default_rng(7).random(200) < 0.3
    _, low90, high90 = bootstrap_rate_ci(flags, n_resamples=400, seed=3, confidence=0.90)
    _, low99, high99 = bootstrap_rate_ci(flags, n_resamples=400, seed=3, confidence=0.99)
    assert low99 <= low90 and high90 <= high99
    with pytest.raises(ValueError):
        bootstrap_rate_ci(flags, n_resamples=10, seed=3, confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_rate_ci(flags, n_resamples=0, seed=3)


def test_bonett_price_matches_the_published_example():
    # contingencytables (Fagerland, Lydersen & Laake), chapter 8 tests: the paired table [[59, 6], [16, 80]]
    # gives ratio 0.8667 with 95% CI 0.7579 to 0.9910.
    low, high = bonett_price_ratio(59, 6, 16)
    assert (round(low, 4), round(high, 4)) == (0.7579, 0.9910)
    assert bonett_price_ratio(0, 0, 0) == (0.0, math.inf)
    assert bonett_price_ratio(0, 3, 0)[1] == math.inf  # baseline flags nothing: no upper bound
    assert bonett_price_ratio(0, 0, 3)[0] == 0.0  # student flags nothing: change down to -100%


def test_paired_change_is_the_bonett_price_interval_in_percent():
    # 59 pairs flagged by both, 6 by the student only, 16 by the baseline only, 80 by neither.
    student = np.array([True] * 65 + [False] * 96)
    baseline = np.array([True] * 59 + [False] * 6 + [True] * 16 + [False] * 80)
    point, low, high = paired_bootstrap_relative_change(student, baseline, n_resamples=100, seed=0)
    assert point == pytest.approx(100 * (65 / 75 - 1))
    assert (round(low, 2), round(high, 2)) == (-24.21, -0.9)


def test_paired_identical_arrays_give_zero_change_with_an_honest_interval():
    # Two models agreeing on 2 flagged pairs of 5 say little about the population: the interval is not (0, 0).
    flags = [True, False, True, False, False]
    point, low, high = paired_bootstrap_relative_change(flags, flags, n_resamples=200, seed=0)
    assert point == 0.0
    assert -100 < low < -20 and 20 < high < math.inf
    # Many agreeing pairs: a narrow interval around 0.
    many = np.arange(2000) % 2 == 0
    point, low, high = paired_bootstrap_relative_change(many, many, n_resamples=200, seed=0)
    assert point == 0.0 and -10 < low < 0 < high < 10


def test_paired_point_is_relative_change_of_rates():
    student = [True, True, True, True, True, False, False, False, False, False]  # 50%
    baseline = [True, True, True, True, False, False, False, False, False, False]  # 40%
    point, low, high = paired_bootstrap_relative_change(student, baseline, n_resamples=300, seed=0)
    assert point == pytest.approx(25.0)
    assert low < point < high


def test_paired_zero_baseline_gives_an_infinite_upper_limit_not_a_dropped_tail():
    # The example: student 6/200, baseline 2/200. Nothing is dropped; the upper limit is finite but large.
    student = np.zeros(200, bool)
    student[:6] = True
    baseline = np.zeros(200, bool)
    baseline[[0, 100]] = True
    point, low, high = paired_bootstrap_relative_change(student, baseline, n_resamples=200, seed=0)
    assert point == 200.0
    assert low < 0 < point < 1000 < high < math.inf
    # Baseline 0: the change is undefined, the interval still says what the data allow.
    point, low, high = paired_bootstrap_relative_change([True, True, False], [False, False, False], 20, seed=0)
    assert math.isnan(point) and -100 < low and high == math.inf
    point, low, high = paired_bootstrap_relative_change([False] * 4, [False] * 4, 20, seed=0)
    assert math.isnan(point) and (low, high) == (-100.0, math.inf)


def test_paired_checks_its_settings():
    with pytest.raises(ValueError, match="n_resamples"):
        paired_bootstrap_relative_change([True], [True], n_resamples=0, seed=0)
    with pytest.raises(ValueError, match="empty"):
        paired_bootstrap_relative_change([], [], n_resamples=10, seed=0)


def test_paired_mismatched_lengths_name_both():
    with pytest.raises(ValueError, match=r"3 vs 2"):
        paired_bootstrap_relative_change([True, False, True], [True, False], n_resamples=10, seed=0)


def test_mean_ci():
    point, low, high = bootstrap_mean_ci([1.0, 2.0, 3.0, 4.0], n_resamples=500, seed=0)
    assert point == 2.5
    assert 1.0 <= low < point < high <= 4.0
    assert bootstrap_mean_ci([0.5, 0.5], n_resamples=20, seed=0) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_mean_ci([], n_resamples=10, seed=0)


def test_resample_indices_come_in_chunks_that_add_up(monkeypatch):
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 8)  # 8 // 3 = 2 resamples of 3 examples per chunk
    chunks = list(stats._resample_indices(3, 5, seed=0))
    assert [chunk.shape for chunk in chunks] == [(2, 3), (2, 3), (1, 3)]
    assert all(((chunk >= 0) & (chunk < 3)).all() for chunk in chunks)
    # Small chunks still give a valid, seed-fixed interval of a mean.
    values = [1.0, 0.0, 0.0, 1.0, 0.0]
    assert bootstrap_mean_ci(values, 7, seed=2) == bootstrap_mean_ci(values, 7, seed=2)
    assert bootstrap_mean_ci(values, 7, seed=2)[0] == 0.4


def test_ratio_change_uses_each_models_own_denominator():
    from memkd.stats import paired_bootstrap_ratio_change, ratio

    # student: 2 memorized of 4 candidates (50%); baseline: 1 of 4 (25%): +100%
    s_num, s_den = [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]
    b_num, b_den = [1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 1, 1]
    assert ratio(s_num, s_den) == 50.0 and ratio(b_num, b_den) == 25.0
    point, low, high = paired_bootstrap_ratio_change(s_num, s_den, b_num, b_den, 200, seed=3)
    assert point == 100.0
    assert low <= high


def test_ratio_change_of_identical_models_is_zero_and_undefined_without_baseline():
    from memkd.stats import paired_bootstrap_ratio_change

    # Own denominators (ExMem-like): bootstrap; identical models give 0 in every resample.
    num, den = [1, 0, 1, 0, 0], [1, 1, 1, 1, 0]
    other_den = [1, 1, 1, 1, 1]
    assert paired_bootstrap_ratio_change(num, den, num, other_den, 100, seed=0)[0] == pytest.approx(25.0)
    assert paired_bootstrap_ratio_change(num, den, num, den, 100, seed=0)[0] == 0.0
    # Baseline numerator 0 everywhere: undefined point, infinite upper limit.
    point, low, high = paired_bootstrap_ratio_change(num, den, [0, 0, 0, 0, 0], other_den, 100, seed=0)
    assert math.isnan(point) and high == math.inf


def test_ratio_change_with_a_shared_denominator_is_the_paired_rate_change():
    # Replication: every pair is in both denominators; the answer is the Bonett-Price interval on those pairs.
    rng = np.random.default_rng(4)
    student, baseline = rng.random(300) < 0.3, rng.random(300) < 0.2
    ones = np.ones(300)
    expected = paired_bootstrap_relative_change(student, baseline, 100, seed=0)
    assert stats.paired_bootstrap_ratio_change(student, ones, baseline, ones, 100, seed=0) == expected
    # A shared 0/1 denominator (e.g. the evaluated sources): the same on the pairs it keeps.
    keep = rng.random(300) < 0.5
    assert stats.paired_bootstrap_ratio_change(student & keep, keep, baseline & keep, keep, 100, seed=0) == (
        paired_bootstrap_relative_change(student[keep], baseline[keep], 100, seed=0))
    assert stats.change_interval_method(ones, ones).startswith("Bonett-Price")
    assert stats.change_interval_method(keep, ~keep).startswith("paired percentile bootstrap")


def test_ratio_change_bootstrap_keeps_every_resample():
    # 2 of 30 baseline candidates memorized: many resamples have baseline 0 and must push the upper limit to inf,
    # not vanish from the upper tail.
    n = 200
    sd, bd = np.zeros(n), np.zeros(n)
    sd[:30], bd[10:40] = 1, 1
    sn, bn = np.zeros(n), np.zeros(n)
    sn[:6], bn[[10, 20]] = 1, 1
    point, low, high = stats.paired_bootstrap_ratio_change(sn, sd, bn, bd, 1000, seed=1)
    assert point == pytest.approx(200.0)
    assert high == math.inf and -100 <= low < point
    assert stats.paired_bootstrap_ratio_change(sn, sd, bn, bd, 1000, seed=1) == (point, low, high)


def test_ratio_change_with_weights_takes_the_general_bootstrap():
    # Non-0/1 values are resampled as distinct rows: still seed-fixed and centred on the point.
    rng = np.random.default_rng(5)
    sn, bn = rng.random(100), rng.random(100) * 0.8
    ones = np.ones(100)
    point, low, high = stats.paired_bootstrap_ratio_change(sn, ones, bn, ones, 500, seed=2)
    assert point == pytest.approx(100 * (sn.sum() / bn.sum() - 1))
    assert low < point < high
    assert stats.paired_bootstrap_ratio_change(sn, ones, bn, ones, 500, seed=2) == (point, low, high)


def test_ratio_change_names_mismatched_lengths():
    with pytest.raises(ValueError, match="4 vs 4 vs 3 vs 4"):
        stats.paired_bootstrap_ratio_change([1, 0, 1, 0], [1] * 4, [1, 0, 1], [1] * 4, 10, seed=0)


def test_quantile_is_exact_with_infinite_values():
    values = np.array([1.0, 2.0, np.inf, np.inf])
    assert stats._quantile(values, 1.0) == math.inf  # numpy's percentile gives nan here
    assert stats._quantile(values, 0.9) == math.inf
    assert stats._quantile(values, 0.5) == math.inf
    assert stats._quantile(values, 0.0) == 1.0
    assert stats._quantile(np.array([1.0, 2.0, 3.0]), 0.25) == pytest.approx(np.percentile([1, 2, 3], 25))


def test_mean_sd_over_seeds():
    assert mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)
    mean, sd = mean_sd([4.0])
    assert mean == 4.0 and math.isnan(sd)
    with pytest.raises(ValueError, match="empty"):
        mean_sd([])


def test_hierarchical_pools_counts_over_seeds():
    # Seed 1: 10 vs 5 flagged of 100; seed 2: 20 vs 20 of 100: pooled 30 vs 25 -> +20%.
    student = [np.arange(100) < 10, np.arange(100) < 20]
    baseline = [np.arange(100) < 5, np.arange(100) < 20]
    point, low, high = stats.hierarchical_relative_change(student, baseline, 500, seed=1)
    assert point == pytest.approx(20.0)
    assert low < point < high
    assert stats.hierarchical_relative_change(student, baseline, 500, seed=1) == (point, low, high)
    matrices = [np.column_stack([s, np.ones(100), b, np.ones(100)]) for s, b in zip(student, baseline)]
    assert (stats._two_level_sums(matrices, 50, 1, False) != stats._two_level_sums(matrices, 50, 2, False)).any()
    # Seeds that disagree widen the interval against seeds that agree at the same pooled counts.
    agree = [np.arange(100) < 15, np.arange(100) < 15], [np.arange(100) < 12, np.arange(100) < 13]
    _, agree_low, agree_high = stats.hierarchical_relative_change(*agree, 2000, seed=1)
    assert high - low > agree_high - agree_low
    with pytest.raises(ValueError, match="2 vs 1"):
        stats.hierarchical_relative_change(student, baseline[:1], 10, seed=0)


def test_hierarchical_ratio_point_is_the_pooled_ratio():
    sn = [np.array([1, 0, 0, 0]), np.array([1, 1, 0, 0])]
    sd = [np.array([1, 1, 0, 0]), np.array([1, 1, 1, 0])]
    bn = [np.array([1, 0, 0, 0]), np.array([1, 0, 0, 0])]
    bd = [np.array([1, 1, 1, 1]), np.array([1, 1, 1, 0])]
    point, low, high = stats.hierarchical_ratio_change(sn, sd, bn, bd, 300, seed=0)
    assert point == pytest.approx(100 * ((3 / 5) / (2 / 7) - 1))
    assert low <= point <= high
    with pytest.raises(ValueError, match="seed 1"):
        stats.hierarchical_ratio_change(sn, sd, bn, [bd[0], bd[1][:3]], 10, seed=0)
    shorter = [[a[0], a[1][:3]] for a in (sn, sd, bn, bd)]
    assert stats.hierarchical_ratio_change(*shorter, 10, seed=0)[0] == pytest.approx(100 * ((3 / 5) / (2 / 7) - 1))
    with pytest.raises(ValueError, match="same_pairs needs one number of pairs"):
        stats.hierarchical_ratio_change(*shorter, 10, seed=0, same_pairs=True)


def test_hierarchical_rate_pools_over_seeds_and_handles_empty_denominators():
    num = [np.array([1, 0, 0, 0]), np.array([1, 1, 0, 0])]
    den = [np.array([1, 1, 0, 0]), np.array([1, 1, 1, 0])]
    rate_, low, high = stats.hierarchical_rate_ci(num, den, 500, seed=0)
    assert rate_ == pytest.approx(60.0)
    assert 0.0 <= low <= rate_ <= high <= 100.0
    assert stats.hierarchical_rate_ci(num, den, 500, seed=0) == (rate_, low, high)
    assert all(math.isnan(v) for v in stats.hierarchical_rate_ci(num, [np.zeros(4), np.zeros(4)], 50, seed=0))
    # One seed with a single candidate: most resamples lack it and count as 0% / 100%.
    assert stats.hierarchical_rate_ci([np.array([1, 0, 0])], [np.array([1, 0, 0])], 200, seed=0) == (
        100.0, 0.0, 100.0)
