"""Bootstrap intervals and the relative change, on hand-made flags with hand-computed answers."""

import math

import numpy as np
import pytest

from memkd import stats
from memkd.stats import (
    bootstrap_mean_ci,
    bootstrap_rate_ci,
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


def test_paired_identical_arrays_give_zero_change_and_zero_interval():
    flags = [True, False, True, False, False]
    assert paired_bootstrap_relative_change(flags, flags, n_resamples=200, seed=0) == (0.0, 0.0, 0.0)


def test_paired_point_is_relative_change_of_rates():
    student = [True, True, True, True, True, False, False, False, False, False]  # 50%
    baseline = [True, True, True, True, False, False, False, False, False, False]  # 40%
    point, low, high = paired_bootstrap_relative_change(student, baseline, n_resamples=300, seed=0)
    assert point == pytest.approx(25.0)
    # Student flags are a superset of the baseline's, so no resample can show a drop.
    assert 0.0 <= low <= point <= high


def test_paired_drops_resamples_with_zero_baseline():
    # The baseline flags one example of two: about a quarter of resamples miss it and are dropped.
    point, low, high = paired_bootstrap_relative_change([True, True], [True, False], n_resamples=200, seed=0)
    assert point == 100.0
    assert (low, high) == (0.0, 100.0)  # 2 vs 1 -> 100%, 2 vs 2 -> 0%: never nan or inf
    assert all(math.isnan(v) for v in paired_bootstrap_relative_change([True], [False], n_resamples=20, seed=0))


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
    # Small chunks still give a valid, seed-fixed interval.
    flags = [True, False, False, True, False]
    assert bootstrap_rate_ci(flags, 7, seed=2) == bootstrap_rate_ci(flags, 7, seed=2)
    assert bootstrap_rate_ci(flags, 7, seed=2)[0] == 40.0


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

    num, den = [1, 0, 1, 0], [1, 1, 1, 1]
    assert paired_bootstrap_ratio_change(num, den, num, den, 100, seed=0) == (0.0, 0.0, 0.0)
    point, low, high = paired_bootstrap_ratio_change(num, den, [0, 0, 0, 0], den, 100, seed=0)
    assert math.isnan(point) and math.isnan(low) and math.isnan(high)
