"""The count-based bootstraps of memkd.stats against per-example reference implementations (kept only here):
resampling examples with replacement and drawing per-pattern counts from a multinomial must give the same
distribution of resampled sums, single-level and two-level (nested and crossed)."""

import numpy as np
import pytest
from scipy.stats import ks_2samp

from memkd.stats import (
    _bootstrap_means,
    _bootstrap_sums,
    _grid_counts,
    _patterns,
    _ratio_changes,
    _two_level_sums,
    bootstrap_count_rate_ci,
    bootstrap_mean_ci,
    bootstrap_rate_ci,
    hierarchical_rate_ci,
    hierarchical_ratio_change,
    hierarchical_relative_change,
    paired_bootstrap_ratio_change,
    paired_bootstrap_relative_change,
    paired_cells,
    resample_counts,
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


# --- the count-based bootstrap at 20k resamples each: distributions and quantiles -----------------------------------

LARGE = 20_000


def within_monte_carlo_error(a: np.ndarray, b: np.ndarray, quantiles=(0.025, 0.5, 0.975)):
    """Each quantile of `a` and `b` (R draws each) agrees within Monte-Carlo error: the distance between the
    pooled sample's quantiles at q -+ 4 standard errors of a difference of two sample quantiles (a distribution-free
    band from order statistics; it widens by itself where the distribution is sparse)."""
    pooled = np.concatenate([a, b])
    for q in quantiles:
        spread = 4.0 * np.sqrt(2.0 * q * (1.0 - q) / a.size)
        band = np.quantile(pooled, min(q + spread, 1.0)) - np.quantile(pooled, max(q - spread, 0.0))
        assert abs(np.quantile(a, q) - np.quantile(b, q)) <= band, f"quantile {q}"


def same_distribution_at_1pct(a: np.ndarray, b: np.ndarray):
    assert ks_2samp(a, b).pvalue > 0.01
    within_monte_carlo_error(a, b)


def test_count_rate_bootstrap_equals_per_example_bootstrap():
    flags = np.random.default_rng(11).random(500) < 0.1
    counted = 100.0 * np.random.default_rng(12).binomial(500, flags.mean(), LARGE) / 500
    # Same seed, same interval; another seed, other draws.
    assert bootstrap_count_rate_ci(50, 500, 200, seed=3) == bootstrap_count_rate_ci(50, 500, 200, seed=3)
    assert bootstrap_count_rate_ci(50, 500, 200, seed=3) != bootstrap_count_rate_ci(50, 500, 200, seed=4)
    per_example = 100.0 * per_example_sums(flags[:, None].astype(float), LARGE, seed=13)[:, 0] / 500
    same_distribution_at_1pct(counted, per_example)
    # The interval is the percentile interval of exactly these draws.
    point, low, high = bootstrap_count_rate_ci(int(flags.sum()), 500, LARGE, seed=12)
    assert (point, low, high) == (100.0 * flags.mean(), np.percentile(counted, 2.5), np.percentile(counted, 97.5))
    assert bootstrap_rate_ci(flags, LARGE, seed=12) == (point, low, high)


def test_count_rate_check_has_power():
    """The same check rejects a bootstrap of a rate that is off by one standard error (10% vs 11.3% of 500)."""
    counted = 100.0 * np.random.default_rng(12).binomial(500, 0.1, LARGE) / 500
    shifted = 100.0 * np.random.default_rng(13).binomial(500, 0.113, LARGE) / 500
    with pytest.raises(AssertionError):
        same_distribution_at_1pct(counted, shifted)


def test_paired_cells_resampled_as_counts_equal_the_per_example_bootstrap():
    rng = np.random.default_rng(14)
    baseline = rng.random(400) < 0.08
    student = np.where(rng.random(400) < 0.7, baseline, rng.random(400) < 0.1)  # correlated with the baseline
    cells = paired_cells(student, baseline)
    assert sum(cells) == 400 and cells[0] == int((student & baseline).sum())
    counted = resample_counts(cells, LARGE, seed=15)  # [R, 4]: both, student only, baseline only, neither
    rows = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=float)
    per_example = per_example_sums(np.column_stack([student, baseline]).astype(float), LARGE, seed=16)
    counted_sums = counted @ rows
    for column in range(2):
        same_distribution_at_1pct(counted_sums[:, column], per_example[:, column])
    change = lambda sums: _ratio_changes(sums[:, 0], np.ones(LARGE), sums[:, 1], np.ones(LARGE))[0]
    same_distribution_at_1pct(change(counted_sums), change(per_example))
    # Same seed, same draws.
    assert np.array_equal(resample_counts(cells, 100, 3), resample_counts(cells, 100, 3))


def test_exmem_count_bootstrap_equals_per_example_bootstrap_at_20k_resamples():
    matrix = exmem_like(np.random.default_rng(17), 300)
    counted, per_example = _bootstrap_sums(matrix, LARGE, 18), per_example_sums(matrix, LARGE, 19)
    for column in range(4):
        same_distribution_at_1pct(counted[:, column], per_example[:, column])
    same_distribution_at_1pct(_ratio_changes(*counted.T)[0], _ratio_changes(*per_example.T)[0])


def test_bincount_and_unique_tallies_agree():
    """0/1 columns are tallied with np.bincount up to 16 columns and with np.unique beyond: same patterns, same
    counts, same order (ascending bit codes), so the draws do not depend on the path."""
    rng = np.random.default_rng(20)
    narrow = (rng.random((1000, 4)) < 0.3).astype(float)
    rows, counts = _patterns(narrow)
    codes = narrow.astype(np.int64) @ (1 << np.arange(4))
    unique_codes, unique_counts = np.unique(codes, return_counts=True)
    assert np.array_equal(rows.astype(np.int64) @ (1 << np.arange(4)), unique_codes)
    assert np.array_equal(counts, unique_counts)
    wide = (rng.random((1000, 20)) < 0.5).astype(float)
    rows, counts = _patterns(wide)
    assert counts.sum() == 1000 and len(np.unique(rows, axis=0)) == len(rows)


def test_count_inputs_are_checked():
    with pytest.raises(ValueError, match="outside"):
        bootstrap_count_rate_ci(5, 4, 10, 1)
    with pytest.raises(ValueError, match="0 examples"):
        bootstrap_count_rate_ci(0, 0, 10, 1)
    with pytest.raises(ValueError, match="positive total"):
        resample_counts([0, 0], 10, 1)
    with pytest.raises(ValueError, match="differ in length"):
        paired_cells([1, 0], [1])


# --- the mean of float values: counts of distinct values on a grid ------------------------------------------------

def skewed_scores(seed: int, n: int) -> np.ndarray:
    """QE-like scores in [0, 1], skewed, with 3 decimals (at most 1001 distinct values)."""
    return np.round(np.random.default_rng(seed).beta(0.5, 4.0, size=n), 3)


def test_gridded_mean_bootstrap_equals_per_example_bootstrap_in_distribution():
    values = skewed_scores(9, 20_000)
    assert np.unique(values).size * 16 <= values.size  # so the count path is the one taken
    counted = _bootstrap_means(values, DRAWS, 1, grid=1e-5)
    per_example = _bootstrap_means(values, DRAWS, 2)
    assert ks_2samp(counted, per_example).pvalue > 1e-3
    assert np.percentile(counted, [2.5, 97.5]) == pytest.approx(np.percentile(per_example, [2.5, 97.5]), abs=2e-4)


def test_the_mean_distribution_check_has_power():
    """The check above rejects the bootstrap of 14,000 of the 20,000 values (a wider spread of means)."""
    values = skewed_scores(9, 20_000)
    assert ks_2samp(_bootstrap_means(values, DRAWS, 1, grid=1e-5),
                    _bootstrap_means(values[:14_000], DRAWS, 2)).pvalue < 1e-3


def test_grid_counts_round_each_value_by_at_most_half_the_grid():
    values = np.random.default_rng(10).normal(0.3, 0.2, 5_000)
    distinct, counts = _grid_counts(values, 0.01)
    assert counts.sum() == values.size and np.all(np.diff(distinct) > 0)
    rounded = np.repeat(distinct, counts)
    assert np.abs(np.sort(values) - rounded).max() <= 0.005 + 1e-12


def test_small_or_continuous_values_take_the_per_example_path_whatever_the_grid():
    """The default study's 200 QE values give the same interval with the grid as without (tables unchanged)."""
    for values in (skewed_scores(11, 200), np.random.default_rng(12).random(5_000)):
        assert bootstrap_mean_ci(values, 500, 3, grid=1e-5) == bootstrap_mean_ci(values, 500, 3)


def test_gridded_mean_bootstrap_keeps_the_exact_mean_and_propagates_nan():
    values = skewed_scores(13, 10_000)
    mean, low, high = bootstrap_mean_ci(values, 1000, 4, grid=1e-5)
    assert mean == values.mean() and low < mean < high
    with_nan = np.append(values, np.nan)
    # NaN takes the per-example path, as without the grid.
    result = bootstrap_mean_ci(with_nan, 50, 4, grid=1e-5)
    assert np.isnan(result[0]) and np.array_equal(result, bootstrap_mean_ci(with_nan, 50, 4), equal_nan=True)


def _patterns_of_the_stack(matrix):
    """_patterns as it was before it took a list (caf6dcf): the reference its draws must keep."""
    width = matrix.shape[1]
    if width <= 62 and np.isin(matrix, (0.0, 1.0)).all():
        bits = np.int64(1) << np.arange(width, dtype=np.int64)
        codes = matrix.astype(np.int64) @ bits
        if width <= 16:
            tally = np.bincount(codes, minlength=1 << width)
            present = np.flatnonzero(tally)
            return ((present[:, None] & bits) != 0).astype(float), tally[present]
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        return matrix[first], counts
    return np.unique(matrix, axis=0, return_counts=True)


@pytest.mark.parametrize("widths", [(4,), (4, 4, 4), (6, 6, 6), (3, 2)])
@pytest.mark.parametrize("binary", [True, False])
def test_patterns_of_matrices_side_by_side_are_those_of_their_stack(widths, binary):
    """_patterns of a list of matrices (the seeds' rows side by side, never stacked) gives what it gave for their
    np.hstack, rows in the same order with the same counts: the bit-code path (bincount up to 16 columns, np.unique
    of the codes past that) and the general path alike, so every bootstrap draws exactly as before."""
    from memkd.stats import _patterns

    rng = np.random.default_rng(sum(widths))
    parts = [rng.integers(0, 2, size=(500, w)).astype(float) for w in widths]
    if not binary:
        parts[-1][::7, 0] = 0.5
    rows, counts = _patterns(parts)
    expected_rows, expected_counts = _patterns_of_the_stack(np.hstack(parts))
    assert np.array_equal(rows, expected_rows) and np.array_equal(counts, expected_counts)
    assert counts.sum() == 500 and len(rows) == len(np.unique(np.hstack(parts), axis=0))
    single_rows, single_counts = _patterns(np.hstack(parts))
    assert np.array_equal(single_rows, rows) and np.array_equal(single_counts, counts)
