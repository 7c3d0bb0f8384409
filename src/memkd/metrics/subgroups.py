"""Subgroup buckets per training example, and per-bucket summaries of the memorization metrics.

A bucket is a label per example (a value range, top/bottom fraction, a random sample, a flag);
subgroup_summary then reports each bucket's size, flag rates, means and corpus BLEU/chrF. Corpus BLEU and chrF of a
bucket come from sacreBLEU's per-sentence sufficient statistics (n-gram match and length counts), computed once per
example and summed over the bucket: the same number as sacreBLEU's corpus_score on the bucket, without re-reading
its sentences for every bucket of every grouping.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import sacrebleu


STATISTICS_CHUNK = 5_000  # sentences whose statistics sacreBLEU extracts at once (~30 KB each while it counts)


def bucket_labels(edges: list[float]) -> list[str]:
    """Labels for the len(edges) + 1 buckets cut at edges: ["<a", "a-b", ..., ">=z"]."""
    if not edges:
        raise ValueError("bucket edges must not be empty")
    if any(lo >= hi for lo, hi in zip(edges, edges[1:])):
        raise ValueError(f"bucket edges must be strictly increasing, got {edges}")
    inner = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:])]
    return [f"<{edges[0]:g}", *inner, f">={edges[-1]:g}"]


def quantile_edges(values, buckets: int = 5) -> list[float]:
    """Edges of `buckets` equal-count buckets of the finite values (quintiles by default), rounded to 3 significant
    digits so that labels stay readable; ties that would repeat an edge are merged (fewer buckets)."""
    array = np.asarray(values, dtype=float).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError("quantile edges need at least one finite value")
    if buckets < 2:
        raise ValueError(f"quantile edges need at least 2 buckets, got {buckets}")
    cuts = np.quantile(array, np.arange(1, buckets) / buckets)
    return sorted({float(f"{c:.3g}") for c in cuts})


def resolve_edges(setting, values) -> list[float]:
    """Bucket edges from a config setting: "quantiles" (quintiles of `values`) or the edges themselves."""
    if isinstance(setting, str):
        if setting != "quantiles":
            raise ValueError(f"bucket edges are a list of numbers or 'quantiles', got {setting!r}")
        return quantile_edges(values)
    return [float(edge) for edge in setting]


def value_buckets(values, edges: list[float]) -> list[str]:
    """Bucket label per value; a value at an edge goes to the upper bucket, NaN to "n/a"."""
    labels = bucket_labels(edges)
    array = np.asarray(values, dtype=float).ravel()
    # side="right" counts the edges <= value, so a value equal to an edge lands above it.
    positions = np.searchsorted(np.asarray(edges, dtype=float), array, side="right")
    return ["n/a" if math.isnan(v) else labels[p] for v, p in zip(array, positions)]


def repetition_buckets(counts) -> list[str]:
    """"1", "2-4" or "5+": how often a pair occurs among the training pairs (duplicates drive memorization)."""
    array = np.asarray(counts, dtype=int).ravel()
    if (array < 1).any():
        raise ValueError("a repetition count is at least 1")
    return ["1" if c == 1 else "2-4" if c < 5 else "5+" for c in array]


def top_bottom(values, fraction: float) -> list[str | None]:
    """"top" for the floor(fraction * n) highest values, "bottom" for as many lowest, else None.

    Ties go to the earlier position on both sides (stable sorts), so the split is deterministic.
    NaN values are ranked nowhere and n counts only the non-NaN values.
    """
    if not 0.0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    array = np.asarray(values, dtype=float).ravel()
    ranked = np.flatnonzero(~np.isnan(array))
    count = math.floor(fraction * ranked.size)
    labels: list[str | None] = [None] * array.size
    if count == 0:
        return labels
    finite = array[ranked]
    # Sorting the negated values (not reversing an ascending sort) keeps earlier positions first among ties.
    for position in ranked[np.argsort(-finite, kind="stable")[:count]]:
        labels[position] = "top"
    for position in ranked[np.argsort(finite, kind="stable")[:count]]:
        labels[position] = "bottom"
    return labels


def random_bucket(n: int, fraction: float, seed: int) -> list[bool]:
    """Exactly round(fraction * n) True values at positions drawn by np.random.default_rng(seed)."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    chosen = np.random.default_rng(seed).choice(n, size=round(fraction * n), replace=False)
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask.tolist()


def _is_boolean(column: pd.Series) -> bool:
    """True for bool dtypes and for object columns holding only bools (a flag with missing values)."""
    if pd.api.types.is_bool_dtype(column):
        return True
    present = column.dropna()
    return len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present)


def _metrics() -> tuple[sacrebleu.metrics.BLEU, sacrebleu.metrics.CHRF]:
    """sacreBLEU's default corpus BLEU and chrF (the settings of their signatures)."""
    return sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()


def _chunk_statistics(chunk: tuple[list[str], list[str]]) -> tuple[list, list]:
    hypotheses, references = chunk
    return tuple(metric._extract_corpus_statistics(hypotheses, [references]) for metric in _metrics())


def sentence_statistics(hypotheses: list[str], references: list[str],
                        processes: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence, sacreBLEU's sufficient statistics of BLEU and of chrF ([N, 2 + 2 * 4] and [N, 3 * 6] int32
    arrays: lengths and n-gram match/total counts). Any subset's corpus scores follow from the sum of its rows
    (`corpus_scores_from_statistics`). This is sacreBLEU's own corpus_score path (`_extract_corpus_statistics`,
    then `_aggregate_and_compute` of the summed rows; sacrebleu is pinned in pyproject.toml). Chunks of
    STATISTICS_CHUNK sentences are counted by `processes` worker processes (the same rows, in order)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bleu, chrf = _metrics()
    widths = (2 + 2 * bleu.max_ngram_order, 3 * (chrf.char_order + chrf.word_order))
    # int32: a sentence's counts are small, and corpus_scores_from_statistics sums them as int64
    out = [np.zeros((len(hypotheses), width), dtype=np.int32) for width in widths]
    # in chunks: sacreBLEU caches every reference's n-grams before it counts, ~30 KB a sentence at once otherwise
    starts = range(0, len(hypotheses), STATISTICS_CHUNK)
    chunks = ((hypotheses[i:i + STATISTICS_CHUNK], references[i:i + STATISTICS_CHUNK]) for i in starts)
    if processes > 1 and len(starts) > 1:
        import gc
        import multiprocessing

        # forked workers share the caller's memory; frozen objects are not visited by their garbage collector,
        # which would otherwise touch (and so copy) every page of it
        gc.freeze()
        try:
            with multiprocessing.get_context("fork").Pool(min(processes, len(starts))) as pool:
                counted = pool.imap(_chunk_statistics, chunks)  # in order, a few chunks in flight
                for start, rows in zip(starts, counted):
                    _store(out, start, rows)
        finally:
            gc.unfreeze()
    else:
        for start, chunk in zip(starts, chunks):
            _store(out, start, _chunk_statistics(chunk))
    return out[0], out[1]


def table_statistics(hypotheses_path, hypothesis_column: str, references_path, reference_column: str,
                     processes: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """sentence_statistics of a column of one workflow table against a column of another, both read CHUNK_ROWS rows
    at a time and checked id by id (the same pairs in the same order): the texts of millions of pairs are never in
    memory at once, only their statistics (~100 bytes a pair)."""
    from itertools import zip_longest

    from memkd.errors import InputError
    from memkd.io import iter_chunks

    parts = [sentence_statistics([], [])]
    chunks = zip_longest(iter_chunks(hypotheses_path, ["id", hypothesis_column]),
                         iter_chunks(references_path, ["id", reference_column]))
    rows = 0
    for hypotheses, references in chunks:
        if (hypotheses is None or references is None
                or not np.array_equal(hypotheses["id"].to_numpy(), references["id"].to_numpy())):
            raise InputError(f"{hypotheses_path}: its rows from row {rows + 1} on do not follow the pairs of "
                             f"{references_path} id by id")
        parts.append(sentence_statistics(hypotheses[hypothesis_column].astype(str).tolist(),
                                         references[reference_column].astype(str).tolist(), processes))
        rows += len(hypotheses)
    return np.concatenate([bleu for bleu, _ in parts]), np.concatenate([chrf for _, chrf in parts])


def _store(out: list[np.ndarray], start: int, rows: tuple[list, list]) -> None:
    for array, metric_rows in zip(out, rows):
        array[start:start + len(metric_rows)] = metric_rows


def corpus_scores_from_statistics(bleu_statistics: np.ndarray, chrf_statistics: np.ndarray) -> tuple[float, float]:
    """Corpus BLEU and chrF of the sentences whose `sentence_statistics` rows are given."""
    scores = []
    for metric, rows in zip(_metrics(), (bleu_statistics, chrf_statistics)):
        # Python ints, as sacreBLEU's own sum gives them, so the arithmetic is exactly corpus_score's.
        summed = [int(value) for value in np.asarray(rows, dtype=np.int64).sum(axis=0)]
        scores.append(float(metric._compute_score_from_stats(summed).score))
    return scores[0], scores[1]


def subgroup_summary(
    frame: pd.DataFrame,
    group_column: str,
    flag_columns: list[str],
    mean_columns: list[str],
    hypothesis_column: str | None = None,
    reference_column: str | None = None,
    statistics: tuple[np.ndarray, np.ndarray] | None = None,
    order: list[str] | None = None,
) -> pd.DataFrame:
    """One row per bucket of group_column: size, <flag>_rate (%), <mean>_mean, and bleu/chrf.

    Rows with a null group value are in no bucket. A boolean group column (a flag such as
    `duplicate`) gives only its True bucket, labelled "yes". Buckets follow `order` (e.g. `bucket_labels(edges)`:
    low to high, as str() would not sort "<0.2" or "-1.3--0.5"); buckets not in it follow, sorted by str(value).
    BLEU/chrF come from `statistics` (`sentence_statistics` of the frame's rows, in order: pass them when
    summarising one frame by several groupings; the frame then needs no text columns) or else from the two text
    columns.
    """
    with_text = statistics is not None or (hypothesis_column is not None and reference_column is not None)
    if with_text and statistics is None:
        statistics = sentence_statistics(frame[hypothesis_column].astype(str).tolist(),
                                         frame[reference_column].astype(str).tolist())
    if with_text and any(len(rows) != len(frame) for rows in statistics):
        raise ValueError(f"sentence statistics cover {[len(rows) for rows in statistics]} rows, the frame {len(frame)}")
    columns = ["subgroup", "bucket", "size"]
    columns += [f"{name}_rate" for name in flag_columns] + [f"{name}_mean" for name in mean_columns]
    columns += ["bleu", "chrf"] if with_text else []

    group = frame[group_column]
    present = group.notna()
    boolean = _is_boolean(group)
    if boolean:
        buckets = [(True, "yes")]
    else:
        rank = {label: k for k, label in enumerate(order or [])}
        values = sorted(group[present].unique(), key=lambda value: (rank.get(value, len(rank)), str(value)))
        buckets = [(value, value) for value in values]

    rows = []
    summarised = [*flag_columns, *mean_columns]  # a bucket copies only these columns, not the texts
    for value, label in buckets:
        selected = (present & (group == value)).to_numpy()
        members = frame.loc[selected, summarised]
        if not selected.any():  # a boolean column with no True rows has no bucket
            continue
        row = {"subgroup": group_column, "bucket": label, "size": len(members)}
        for name in flag_columns:
            row[f"{name}_rate"] = 100.0 * float(members[name].astype(bool).mean())
        for name in mean_columns:
            # pandas' skipna mean gives nan (not a warning) when the whole bucket is NaN.
            row[f"{name}_mean"] = float(members[name].astype(float).mean(skipna=True))
        if with_text:
            bleu, chrf = corpus_scores_from_statistics(statistics[0][selected], statistics[1][selected])
            row["bleu"], row["chrf"] = round(bleu, 2), round(chrf, 2)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
