"""Timing of the count-based bootstraps of memkd.stats at N = 1k, 100k and 10M examples (printout only, nothing
asserted): the tally of outcome counts is one O(N) pass; the resampling that follows does not depend on N. The
per-example bootstrap (O(resamples x N)) is timed beside it where it fits in memory and time. The last table times
the bootstrap of a mean of QE-like float scores (6 decimals, as the per-pair tables write them) with the grid the QE
table uses (counts of distinct values on a 1e-5 grid) against drawing indices; --sizes 1000000 times a size where
both paths fit.

    .venv/bin/python bench/bootstrap_scale.py [--resamples 1000] [--sizes 1000 100000 10000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from memkd.stats import (
    _COUNT_PATH_SHARE,
    _bootstrap_means,
    _bootstrap_sums,
    _grid_counts,
    _patterns,
    bootstrap_count_rate_ci,
    paired_bootstrap_ratio_change,
    paired_cells,
    resample_counts,
)

# The per-example reference draws resamples x N indices: skip it beyond this many (about 1.6 GB of int64 at most
# per chunk would be needed otherwise, and minutes of time).
PER_EXAMPLE_LIMIT = 2 * 10**8


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def per_example_rate_bootstrap(flags: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Reference: resample the examples with replacement, in chunks of rows."""
    rng, n, out = np.random.default_rng(seed), flags.size, []
    rows = max(1, (1 << 22) // n)
    for start in range(0, resamples, rows):
        out.append(flags[rng.integers(0, n, size=(min(rows, resamples - start), n))].mean(axis=1))
    return np.concatenate(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 10_000_000])
    args = parser.parse_args()
    r = args.resamples
    # Warm-up on tiny inputs, so that first-call costs do not land in the first row.
    _bootstrap_sums(np.eye(4), 10, 0), bootstrap_count_rate_ci(1, 2, 10, 0), resample_counts([1, 1], 10, 0)
    print(f"{'N':>10}  {'tally s':>8}  {'rate s':>8}  {'cells s':>8}  {'exmem s':>8}  {'per-example rate s':>18}")
    for n in args.sizes:
        rng = np.random.default_rng(0)
        sd, bd = rng.random(n) < 0.3, rng.random(n) < 0.25
        sn, bn = sd & (rng.random(n) < 0.5), bd & (rng.random(n) < 0.4)
        matrix = np.column_stack([sn, sd, bn, bd]).astype(float)
        # O(N): count the outcomes once (what a table does when it reads the flags).
        tally_s, (rows, counts) = timed(_patterns, matrix)
        flagged, cells = int(sn.sum()), paired_cells(sn, bn)
        # O(resamples): everything after the counts.
        rate_s, _ = timed(bootstrap_count_rate_ci, flagged, n, r, 1)
        cells_s, _ = timed(resample_counts, cells, r, 1)
        exmem_s, _ = timed(lambda: resample_counts(counts, r, 1) @ rows)
        if r * n <= PER_EXAMPLE_LIMIT:
            per_example = f"{timed(per_example_rate_bootstrap, sn, r, 1)[0]:18.4f}"
        else:
            per_example = f"{'skipped (R x N)':>18}"
        print(f"{n:>10}  {tally_s:8.4f}  {rate_s:8.4f}  {cells_s:8.4f}  {exmem_s:8.4f}  {per_example}")
    # End to end from the flags (tally + resampling), as the tables call it.
    n = args.sizes[-1]
    full_s, _ = timed(paired_bootstrap_ratio_change, sn, sd, bn, bd, r, 1)
    sums_s, _ = timed(_bootstrap_sums, matrix, r, 1)
    print(f"end to end at N={n}: paired_bootstrap_ratio_change {full_s:.3f} s, _bootstrap_sums {sums_s:.3f} s "
          f"({r} resamples; the O(N) part is building and tallying the 0/1 columns)")

    mean_bootstraps(args.sizes, r)


def mean_bootstraps(sizes: list[int], r: int, grid: float = 1e-5):
    """The QE table's mean: `bootstrap_mean_ci`'s grid path (counts of distinct values on the grid, when there are
    few enough of them) against the per-example path. That both give one distribution is tests/unit's check."""
    print(f"\n{'N':>10}  {'distinct on grid':>16}  {'path with grid':>14}  {'with grid s':>11}  {'per-example s':>13}")
    for n in sizes:
        scores = np.round(np.random.default_rng(1).beta(0.5, 4.0, size=n), 6)
        distinct = _grid_counts(scores, grid)[0].size
        path = "grid" if distinct * _COUNT_PATH_SHARE <= n else "per-example"
        grid_s, _ = timed(_bootstrap_means, scores, r, 1, grid)
        per_example = (f"{timed(_bootstrap_means, scores, r, 1)[0]:13.3f}" if r * n <= PER_EXAMPLE_LIMIT
                       else f"{'skipped (R x N)':>13}")
        print(f"{n:>10}  {distinct:>16}  {path:>14}  {grid_s:11.3f}  {per_example}")


if __name__ == "__main__":
    main()
