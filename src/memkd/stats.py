"""Percentile bootstrap intervals over training examples, and the paper's relative change S vs B.

Every interval resamples examples with replacement from np.random.default_rng(seed), so a seed
fixes the interval. Resample indices are drawn in chunks: a [rows, n] index matrix at a time keeps
memory bounded while staying vectorised.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# About 4M indices (32 MB of int64) per chunk: large enough to vectorise, small enough for any machine.
_CHUNK_ELEMENTS = 1 << 22


def rate(flags) -> float:
    """Percentage (0-100) of True values in a 1-D boolean array-like."""
    array = np.asarray(flags, dtype=bool).ravel()
    if array.size == 0:
        raise ValueError("cannot compute a rate of an empty array of flags")
    return 100.0 * float(array.mean())


def relative_change(student: float, baseline: float) -> float:
    """100 * (student - baseline) / baseline, the paper's S vs B; nan when the baseline is 0."""
    if baseline == 0:
        return float("nan")
    return 100.0 * (student - baseline) / baseline


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _resample_indices(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield [rows, n] matrices of indices drawn with replacement, n_resamples rows in all."""
    rng = np.random.default_rng(seed)
    # The chunk size depends only on n, so the draws (and the interval) depend only on the seed.
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // n)
    done = 0
    while done < n_resamples:
        rows = min(rows_per_chunk, n_resamples - done)
        yield rng.integers(0, n, size=(rows, n))
        done += rows


def _interval(statistics: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval; (nan, nan) when there is nothing to take percentiles of."""
    if statistics.size == 0:
        return float("nan"), float("nan")
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(statistics, [tail, 100.0 - tail])
    return float(low), float(high)


def _bootstrap_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Mean of each resample of values (1-D)."""
    return np.concatenate([values[idx].mean(axis=1) for idx in _resample_indices(values.size, n_resamples, seed)])


def bootstrap_rate_ci(flags, n_resamples: int, seed: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(rate %, low %, high %): percentile bootstrap of the rate of True over examples."""
    _check(n_resamples, confidence)
    point = rate(flags)  # also rejects an empty input
    array = np.asarray(flags, dtype=bool).ravel()
    low, high = _interval(100.0 * _bootstrap_means(array, n_resamples, seed), confidence)
    return point, low, high


def bootstrap_mean_ci(values, n_resamples: int, seed: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap of the mean of a float array (NaN propagates)."""
    _check(n_resamples, confidence)
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError("cannot compute a mean of an empty array of values")
    low, high = _interval(_bootstrap_means(array, n_resamples, seed), confidence)
    return float(array.mean()), low, high


def paired_bootstrap_relative_change(
    student_flags, baseline_flags, n_resamples: int, seed: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(relative change %, low, high) of the student's rate vs the baseline's.

    Paired: both models are scored on the same training examples, so each resample takes the same
    example indices from both arrays. Resamples with a baseline rate of 0 have no relative change
    and are dropped; if all are, the interval is (nan, nan).
    """
    _check(n_resamples, confidence)
    student = np.asarray(student_flags, dtype=bool).ravel()
    baseline = np.asarray(baseline_flags, dtype=bool).ravel()
    if student.size != baseline.size:
        raise ValueError(f"student and baseline flags differ in length: {student.size} vs {baseline.size}")
    point = relative_change(rate(student), rate(baseline))
    changes = []
    for idx in _resample_indices(student.size, n_resamples, seed):
        # Counts, not percentages: the ratio is the same and integer counts keep s == b exact.
        s = student[idx].sum(axis=1)
        b = baseline[idx].sum(axis=1)
        keep = b > 0
        changes.append(100.0 * (s[keep] - b[keep]) / b[keep])
    low, high = _interval(np.concatenate(changes), confidence)
    return point, low, high



def ratio(numerator, denominator) -> float:
    """100 * sum(numerator) / sum(denominator); nan when the denominator sums to 0."""
    den = float(np.asarray(denominator, dtype=float).sum())
    return float("nan") if den == 0 else 100.0 * float(np.asarray(numerator, dtype=float).sum()) / den


def paired_bootstrap_ratio_change(
    student_numerator, student_denominator, baseline_numerator, baseline_denominator,
    n_resamples: int, seed: int, confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Relative change % of a ratio of sums (e.g. ExMem = memorized / filtered exact matches, each model with its
    own denominator), student vs baseline, with a paired percentile interval over the same example indices.
    Resamples where either ratio is undefined or the baseline ratio is 0 are dropped."""
    _check(n_resamples, confidence)
    arrays = [np.asarray(a, dtype=float).ravel() for a in
              (student_numerator, student_denominator, baseline_numerator, baseline_denominator)]
    if len({a.size for a in arrays}) != 1:
        raise ValueError(f"per-example arrays differ in length: {[a.size for a in arrays]}")
    sn, sd, bn, bd = arrays
    point = relative_change(ratio(sn, sd), ratio(bn, bd))
    changes = []
    for idx in _resample_indices(sn.size, n_resamples, seed):
        s_den, b_den, b_num = sd[idx].sum(1), bd[idx].sum(1), bn[idx].sum(1)
        keep = (s_den > 0) & (b_den > 0) & (b_num > 0)
        s_rate = sn[idx].sum(1)[keep] / s_den[keep]
        b_rate = b_num[keep] / b_den[keep]
        changes.append(100.0 * (s_rate - b_rate) / b_rate)
    low, high = _interval(np.concatenate(changes), confidence)
    return point, low, high
