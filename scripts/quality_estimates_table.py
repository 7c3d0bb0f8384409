"""Rule quality_estimates_table: per direction, seed and text (the corpus references, each model's greedy outputs of
the training sources) the mean quality estimate with its interval and the share of pairs in each QE bucket. The
estimates are parsed a chunk at a time into floats: no table is held as strings."""

from pathlib import Path

import numpy as np
import pandas as pd

from memkd.io import iter_chunks, write_tsv_atomic
from memkd.metrics.subgroups import bucket_labels, resolve_edges, value_buckets
from memkd.rulerun import run
from memkd.stats import bootstrap_mean_ci
from memkd.tables import ci_label

# The table prints 4 decimals: at scale the bootstrap resamples counts of the QE values rounded to this grid, which
# moves a limit by at most half of it (memkd.stats.bootstrap_mean_ci); small tables are resampled pair by pair.
QE_GRID = 1e-5


def qe_values(path: str) -> tuple[np.ndarray, str | None]:
    """A QE table's estimates as floats, and its method (the first row's)."""
    values, method = [], None
    for chunk in iter_chunks(path, ["qe", "qe_method"]):
        values.append(chunk["qe"].astype(float).to_numpy())
        if method is None and len(chunk):
            method = chunk["qe_method"].iloc[0]
    return np.concatenate(values), method


def main():
    stats = snakemake.params.statistics
    # "quantiles": quintiles of the study pairs' QE (the references), pooled like the subgroup table's
    references = [qe_values(p)[0] for p in snakemake.input if Path(p).parts[-2] == "reference"]
    edges = resolve_edges(snakemake.params.edges, pd.Series(np.concatenate(references)) if references else [])
    del references
    rows = []
    for path in snakemake.input:
        # results/quality/<corpus>/<direction>/seed<seed>/<texts>/study_train.tsv
        corpus, direction, seed, texts = Path(path).parts[-5:-1]
        qe, method = qe_values(path)
        mean, low, high = bootstrap_mean_ci(qe, stats["bootstrap_resamples"], stats["seed"], stats["confidence"],
                                             grid=QE_GRID)
        buckets = pd.Series(value_buckets(qe, edges)).value_counts()
        rows.append({
            "corpus": corpus, "direction": direction, "seed": int(seed.removeprefix("seed")), "texts": texts,
            "pairs": len(qe), "qe_mean": round(mean, 4), "qe_ci_low": round(low, 4), "qe_ci_high": round(high, 4),
            "qe_median": round(float(np.median(qe)), 4),
            **{f"pct_qe_{label}": round(100 * buckets.get(label, 0) / len(qe), 2) for label in bucket_labels(edges)},
            "qe_method": method, "interval": ci_label(stats),
        })
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(rows))


run(main, snakemake.log[0])
