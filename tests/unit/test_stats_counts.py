"""The count-based bootstraps of memkd.stats against per-example reference implementations (kept only here):
resampling examples with replacement and drawing per-pattern counts from a multinomial must give the same
distribution of resampled sums, single-level and two-level (nested and crossed)."""

import numpy as np
import pytest
from scipy.stats import ks_2samp

from memkd.stats import (
    _bootstrap_sums,
    _patterns,
    _ratio_changes,
    _two_level_sums,
    bootstrap_rate_ci,
    hierarchical_rate_ci,
    hierarchical_ratio_change,
    hierarchical_relative_change,
    paired_bootstrap_ratio_change,
    paired_bootstrap_relative_change,
)

DRAWS = 4000


def per_example_sums(matrix: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Reference: resample the rows with replacement, sum the columns."""
    rng = np.random.default_rng(seed)
    return np.stack([matrix[rng.integers(0, len(matrix), len(matrix))].sum(axis=0) for _ in range(n_resamples)])


def per_example_two_level_sums(matrices, n_resamples: int, seed: int, same_pairs: bool) -> np.ndarray:
    """Reference two-level bootstrap: draw seeds with replacement; resample each drawn seed's rows (nested) or one
    set of row indices for all drawn seeds (crossed); pool the column sums."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_resamples):
        drawn = rng.integers(0, len(matrices), len(matrices))
        shared = rng.integers(0, len(matrices[0]), len(matrices[0]))
        out.append(sum(matrices[j][shared if same_pairs else rng.integers(0, len(matrices[j]), len(matrices[j]))]
                       .sum(axis=0) for j in drawn))
    return np.stack(out)


def exmem_like(rng, n: int) -> np.ndarray:
    """[n, 4] columns (student numerator, student denominator, baseline numerator, baseline denominator)."""
    sd, bd = rng.random(n) < 0.3, rng.random(n) < 0.25
    sn, bn = sd & (rng.random(n) < 0.5), bd & (rng.random(n) < 0.4)
    return np.column_stack([sn, sd, bn, bd]).astype(float)


def assert_same_distribution(a: np.ndarray, b: np.ndarray):
    """Column by column, and for the relative change, a two-sample KS test must not reject at 0.1%."""
    for column in range(a.shape[1]):
        assert ks_2samp(a[:, column], b[:, column]).pvalue > 1e-3, f"column {column}"
    if a.shape[1] == 4:
        change_a, change_b = _ratio_changes(*a.T)[0], _ratio_changes(*b.T)[0]
        assert ks_2samp(change_a, change_b).pvalue > 1e-3
        assert np.percentile(change_a, [2.5, 50, 97.5]) == pytest.approx(
            np.percentile(change_b, [2.5, 50, 97.5]), abs=8.0)


def test_patterns_count_the_distinct_rows():
    matrix = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=float)
    rows, counts = _patterns(matrix)
    assert sorted(zip(map(tuple, rows), counts)) == [((0, 0, 0), 1), ((0, 1, 1), 1), ((1, 1, 0), 2)]
    # Values other than 0/1 take the general path and give the same kind of answer.
    rows, counts = _patterns(np.array([[0.5, 2.0], [0.5, 2.0], [1.0, 0.0]]))
    assert sorted(zip(map(tuple, rows), counts)) == [((0.5, 2.0), 2), ((1.0, 0.0), 1)]


def test_count_bootstrap_equals_per_example_bootstrap_in_distribution():
    matrix = exmem_like(np.random.default_rng(0), 200)
    assert_same_distribution(_bootstrap_sums(matrix, DRAWS, seed=1), per_example_sums(matrix, DRAWS, seed=2))


def test_the_distribution_check_has_power():
    """The check above must reject a wrong bootstrap: one over 170 of the 200 examples."""
    matrix = exmem_like(np.random.default_rng(0), 200)
    with pytest.raises(AssertionError):
        assert_same_distribution(_bootstrap_sums(matrix, DRAWS, seed=1),
                                 per_example_sums(matrix[:170], DRAWS, seed=2) * 200 / 170)


@pytest.mark.parametrize("same_pairs", [False, True])
def test_two_level_count_bootstrap_equals_per_example_two_level_bootstrap(same_pairs):
    rng = np.random.default_rng(3)
    matrices = [exmem_like(rng, 150) for _ in range(3)]
    assert_same_distribution(_two_level_sums(matrices, DRAWS, 4, same_pairs),
                             per_example_two_level_sums(matrices, DRAWS, 5, same_pairs))


@pytest.mark.parametrize("same_pairs", [False, True])
def test_two_level_bootstrap_with_one_seed_is_the_single_level_bootstrap(same_pairs):
    matrix = exmem_like(np.random.default_rng(6), 200)
    assert_same_distribution(_two_level_sums([matrix], DRAWS, 7, same_pairs), _bootstrap_sums(matrix, DRAWS, 8))


def test_hierarchical_functions_with_one_seed_return_the_single_level_interval():
    matrix = exmem_like(np.random.default_rng(9), 200)
    sn, sd, bn, bd = matrix.T
    assert hierarchical_ratio_change([sn], [sd], [bn], [bd], 500, 3) == paired_bootstrap_ratio_change(
        sn, sd, bn, bd, 500, 3)
    student, baseline = sd.astype(bool), bd.astype(bool)
    assert hierarchical_relative_change([student], [baseline], 500, 3) == paired_bootstrap_relative_change(
        student, baseline, 500, 3)


def test_hierarchical_rate_with_one_seed_is_the_rate_bootstrap_in_distribution():
    flags = np.random.default_rng(10).random(200) < 0.2
    ones = np.ones(200)
    pooled = [hierarchical_rate_ci([flags], [ones], 300, seed=k)[1:] for k in range(60)]
    single = [bootstrap_rate_ci(flags, 300, seed=1000 + k)[1:] for k in range(60)]
    # Each limit is itself random (300 resamples): compare the two sets of limits, not single numbers.
    for limit in (0, 1):
        assert ks_2samp([p[limit] for p in pooled], [s[limit] for s in single]).pvalue > 1e-3
    assert hierarchical_rate_ci([flags], [ones], 300, seed=1)[0] == bootstrap_rate_ci(flags, 300, seed=1)[0]
