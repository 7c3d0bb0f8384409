"""Helpers shared by the table scripts: per-example flag columns as written by the memorization rules, the paired
comparison of two models' memorization on the same pairs, and rows pooled over seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.stats import (
    change_interval_method,
    hierarchical_rate_ci,
    hierarchical_ratio_change,
    mean_sd,
    paired_bootstrap_ratio_change,
)


def by_direction(summaries: list[dict]) -> dict[str, list[int]]:
    """The positions of the models' summaries per direction, directions in order of first appearance: the table
    jobs read one direction's flags at a time (its models share pairs; no row compares two directions)."""
    groups: dict[str, list[int]] = {}
    for position, summary in enumerate(summaries):
        groups.setdefault(summary["direction"], []).append(position)
    return groups


def flags(column) -> np.ndarray:
    """'1' -> True, '0' -> False; an empty cell (not applicable) -> False. Pair with `defined`. `column`: a column of
    a table as read, or a FlagColumn."""
    if isinstance(column, FlagColumn):
        return column.flags()
    return (_as_text(column) == "1").to_numpy()


def defined(column) -> np.ndarray:
    """Where a flag applies (the cell is not empty)."""
    if isinstance(column, FlagColumn):
        return column.defined()
    return (_as_text(column) != "").to_numpy()


def _as_text(column: pd.Series) -> pd.Series:
    # a categorical compares by its labels as it is; astype(str) would build a string per row
    return column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype(str)


# the columns of an examples table (rule memorization_examples) that the tables over its flags never read: its texts,
# and the outputs' quality estimates (a float per pair; the subgroup table reads them with read_aligned)
EXAMPLE_TEXTS = ("output", "exmem_prefix_tokens")
NOT_FLAGS = (*EXAMPLE_TEXTS, "output_qe")


class _Bits:
    """0/1 values packed 8 to a byte as they arrive, chunk by chunk (chunks need not be multiples of 8)."""

    def __init__(self):
        self.packed: list[np.ndarray] = []
        self.tail = np.zeros(0, dtype=bool)
        self.size = 0

    def add(self, values: np.ndarray) -> None:
        values = np.concatenate([self.tail, values])
        whole = values.size - values.size % 8
        self.packed.append(np.packbits(values[:whole]))
        self.tail = values[whole:]
        self.size += values.size - self.tail.size

    def finish(self) -> tuple[np.ndarray, int]:
        return np.concatenate([*self.packed, np.packbits(self.tail)]), self.size + self.tail.size


class FlagColumn:
    """A flag column of an examples table in bits: where it is '1', and where it is not empty (None: everywhere).
    A byte a pair per flag (pandas' categorical) was most of what a table job held at paper scale; this is 1-2 bits."""

    __slots__ = ("ones", "present", "size")

    def __init__(self, ones: _Bits, present: _Bits):
        self.ones, self.size = ones.finish()
        packed, _ = present.finish()
        self.present = None if self.size == 0 or np.unpackbits(packed, count=self.size).all() else packed

    def flags(self) -> np.ndarray:
        return np.unpackbits(self.ones, count=self.size).view(bool)

    def defined(self) -> np.ndarray:
        if self.present is None:
            return np.ones(self.size, dtype=bool)
        return np.unpackbits(self.present, count=self.size).view(bool)


class FlagTable:
    """What read_example_flags returns: `table["id"]` (64-bit id hashes), `table[flag]` (a FlagColumn, read with
    `flags` and `defined`), `len(table)` and `table.columns`."""

    def __init__(self, ids: np.ndarray | None, columns: dict[str, FlagColumn], rows: int):
        self.ids, self.flag_columns, self.rows = ids, columns, rows

    @property
    def columns(self) -> list[str]:
        return (["id"] if self.ids is not None else []) + list(self.flag_columns)

    def __getitem__(self, name: str):
        if name == "id" and self.ids is not None:
            return self.ids
        return self.flag_columns[name]

    def __len__(self) -> int:
        return self.rows


def read_example_flags(path: str, known_ids: list | None = None) -> FlagTable:
    """An examples table's flags, read a chunk at a time: `id` as id_hashes (8 bytes a row, where the string took
    ~60; compared, never written) and every flag column in bits (FlagColumn). What a table job holds of each model
    when it reads the flags of millions of pairs for many models at once. With `known_ids` (a list the caller keeps
    over its reads) a table whose ids equal ids read before shares their array instead of a copy: every model of a
    direction covers the same study pairs, so a job holds their ids once, not once per model."""
    from memkd.digests import id_hashes
    from memkd.io import iter_chunks, table_columns

    columns = [c for c in table_columns(path) if c not in NOT_FLAGS]
    bits = {c: (_Bits(), _Bits()) for c in columns if c != "id"}
    ids: list[np.ndarray] = []
    rows = 0
    for chunk in iter_chunks(path, columns):
        rows += len(chunk)
        for c in columns:
            if c == "id":
                ids.append(id_hashes(chunk[c]))
            else:
                text = chunk[c].astype(str)
                bits[c][0].add((text == "1").to_numpy())
                bits[c][1].add((text != "").to_numpy())
    id_array = np.concatenate(ids) if "id" in columns else None
    if known_ids is not None and id_array is not None:
        id_array = next((known for known in known_ids if np.array_equal(known, id_array)), id_array)
        if not any(known is id_array for known in known_ids):
            known_ids.append(id_array)
    return FlagTable(id_array, {c: FlagColumn(*pair) for c, pair in bits.items()}, rows)


def same_ids(first: pd.DataFrame, second: pd.DataFrame) -> bool:
    """Whether two tables cover the same pairs in the same order (compared as arrays: a list of millions of ids
    would take ~36 bytes a pair)."""
    return np.array_equal(np.asarray(first["id"]), np.asarray(second["id"]))


def aligned(path: str, table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """`table` unchanged if its `id` column follows `ids` exactly; else stop naming the file."""
    if table["id"].tolist() != ids:
        raise InputError(f"{path}: its {len(table)} rows do not follow the study pairs ({len(ids)}) id by id")
    return table


def read_aligned(path: str, converters: dict, keys: np.ndarray) -> dict[str, np.ndarray]:
    """Columns of a table whose rows must follow the study pairs id by id (`keys`: memkd.digests.text_keys of the
    pairs' ids), read CHUNK_ROWS rows at a time and each converted chunk by chunk (`converters`: column -> function of
    the chunk's column, e.g. `lambda column: column.astype(float)`), so that no column of millions of rows is ever
    held as Python strings; the stop names the file when its ids do not follow the pairs'."""
    from memkd.digests import text_keys
    from memkd.io import iter_chunks

    parts: dict[str, list] = {name: [] for name in converters}
    rows, follows = 0, True
    for chunk in iter_chunks(path, ["id", *converters]):
        if follows:
            follows = rows + len(chunk) <= len(keys) and np.array_equal(text_keys(chunk["id"]),
                                                                        keys[rows:rows + len(chunk)])
        if follows:
            for name, convert in converters.items():
                parts[name].append(np.asarray(convert(chunk[name])))
        rows += len(chunk)  # past a mismatch, only counted for the message
    if not follows or rows != len(keys):
        raise InputError(f"{path}: its {rows} rows do not follow the study pairs ({len(keys)}) id by id")
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def geometric_mean_probability(scores) -> pd.Series | np.ndarray:
    """Per pair, exp(mean token log-probability) from a score_references table's `tokens` and `log_prob` (a frame, or
    read_aligned's arrays: the teacher confidence of the subgroup table and of the Adaptive-SeqKD selection)."""
    return np.exp(scores["log_prob"].astype(float) / scores["tokens"].astype(float))


def ci_label(stats: dict) -> str:
    """How an interval was computed, for the `interval` column of a table."""
    return (f"percentile bootstrap over pairs, {stats['bootstrap_resamples']} resamples, {stats['confidence']:.0%}, "
            f"seed {stats['seed']}")


def change_label(method: str, stats: dict) -> str:
    """The `interval` column of a relative change: Bonett-Price for two rates over the same pairs (closed form),
    else the paired percentile bootstrap with its settings (memkd.stats.change_interval_method)."""
    if method.startswith("Bonett-Price"):
        return f"{method}, {stats['confidence']:.0%}"
    return f"paired {ci_label(stats)}"


def change_metrics(qe_method: str) -> dict:
    """Metric -> (definition, function of an examples table giving per-pair numerator and denominator flags)."""
    return {
        "replication": ("exact matches / pairs", lambda e: (flags(e["exact_match"]), np.ones(len(e)))),
        "replication_vs_teacher": ("matches of the teacher's output / pairs",
                                   lambda e: (flags(e["exact_match_teacher"]), np.ones(len(e)))),
        "exmem": ("extractively memorized / filtered exact matches",
                  lambda e: (flags(e["exmem"]), flags(e["exmem_candidate"]))),
        "osc_hal_train": ("oscillatory outputs / evaluated training sources",
                          lambda e: (flags(e["osc_hal"]), defined(e["osc_hal"]))),
        "nat_hal": (f"natural hallucinations / distinct non-empty (source, output) pairs (QE {qe_method})",
                    lambda e: (flags(e["nat_hal"]) & flags(e["nat_hal_unit"]), flags(e["nat_hal_unit"]))),
    }


def paired_changes(model: pd.DataFrame, reference: pd.DataFrame, stats: dict, qe_method: str) -> list[dict]:
    """Per memorization metric: both models' rates (%) on the same pairs and the relative change of `model` over
    `reference` (%) with its interval and how that was computed (`interval`)."""
    if not same_ids(model, reference):
        raise InputError("the two models' examples cover different pairs")
    rows = []
    for name, (definition, parts) in change_metrics(qe_method).items():
        (mn, md), (rn, rd) = parts(model), parts(reference)
        change, low, high = paired_bootstrap_ratio_change(
            mn, md, rn, rd, stats["bootstrap_resamples"], stats["seed"], stats["confidence"]
        )
        pct = lambda n, d: round(100 * n.sum() / d.sum(), 4) if d.sum() else None
        rows.append({
            "metric": name, "definition": definition, "model_pct": pct(mn, md), "reference_pct": pct(rn, rd),
            "relative_change_pct": round(change, 2), "ci_low": round(low, 2), "ci_high": round(high, 2),
            "interval": change_label(change_interval_method(md, rd), stats),
        })
    return rows


# Rows pooled over seeds: the seed column says "pooled"; every per-seed value becomes its mean over seeds (the
# paper's form, mean +- sd, with `<column>_sd` beside the rates) and the interval comes from a two-level bootstrap
# that resamples seeds and, within each, pairs (memkd.stats).
POOLED = "pooled"


def pooled_label(stats: dict) -> str:
    """How a pooled row's interval was computed, for its `interval` column."""
    return (f"two-level percentile bootstrap (seeds, then pairs within each seed) of the value pooled over seeds, "
            f"{stats['bootstrap_resamples']} resamples, {stats['confidence']:.0%}, seed {stats['seed']}; "
            "values: mean (and sd) over seeds")


def mean_sd_columns(rows: list[dict], columns: list[str], sd: bool = True) -> dict:
    """Per column, the mean over `rows` (one per seed) and with `sd` its standard deviation as `<column>_sd`; an
    undefined value (None or NaN, e.g. a rate with no candidates in one seed) is left out of both."""
    out = {}
    for column in columns:
        values = [float(r[column]) for r in rows if r.get(column) is not None and not math.isnan(float(r[column]))]
        mean, spread = mean_sd(values) if values else (math.nan, math.nan)
        out[column] = None if math.isnan(mean) else round(mean, 4)
        if sd:
            out[f"{column}_sd"] = None if math.isnan(spread) else round(spread, 4)
    return out


def pooled_rate_interval(numerators: list, denominators: list, stats: dict, paired: bool) -> tuple:
    """Two-level bootstrap interval (%) of the pooled rate sum(numerators) / sum(denominators) over seeds (one
    per-pair 0/1 array pair per seed); (None, None) when no seed has a denominator."""
    _, low, high = hierarchical_rate_ci(numerators, denominators, stats["bootstrap_resamples"], stats["seed"],
                                        stats["confidence"], same_pairs=paired)
    return _rounded(low), _rounded(high)


def pooled_rate_row(rows: list[dict], parts: list[dict], identity: list[str], counts: list[str], stats: dict,
                    paired: bool) -> dict:
    """One model's rows of every seed (`rows`, with `parts[k]`: rate column -> (numerator, denominator) per-pair
    0/1 arrays behind seed k's rate) as one row: `identity` and the text settings kept (distinct values joined),
    `counts` as their mean over seeds, each rate as its mean and sd over seeds with the two-level bootstrap
    interval of the rate pooled over seeds (`paired`: every seed's arrays cover the same pairs in one order)."""
    first = rows[0]
    row = {column: first[column] for column in identity}
    row["seed"] = POOLED
    row.update(mean_sd_columns(rows, [c for c in counts if c in first], sd=False))
    for rate in parts[0]:
        base = rate.removesuffix("_pct")
        low, high = pooled_rate_interval([p[rate][0] for p in parts], [p[rate][1] for p in parts], stats, paired)
        row.update(mean_sd_columns(rows, [rate]))
        row.update({f"{base}_ci_low": low, f"{base}_ci_high": high})
    settings = [c for c in first if isinstance(first[c], str) and c not in identity and c != "interval"]
    row.update({c: " | ".join(sorted({str(r[c]) for r in rows})) for c in settings})
    row.update({"seeds": len(rows), "interval": pooled_label(stats)})
    return row


def same_pairs(frames: list[pd.DataFrame]) -> bool:
    """Whether every seed's examples cover the same pairs in the same order (the study's pairs do not depend on the
    model seed): the two-level bootstrap then draws one set of pairs for all seeds (memkd.stats)."""
    return all(same_ids(frame, frames[0]) for frame in frames)


def pooled_changes(models: list[pd.DataFrame], references: list[pd.DataFrame], per_seed: list[list[dict]],
                   stats: dict, qe_method: str) -> list[dict]:
    """Per memorization metric over seeds (`models[k]` and `references[k]` are seed k's examples, `per_seed[k]`
    its `paired_changes` rows): mean and sd over seeds of both rates and of the relative change (the paper's
    form), and the relative change of the rates pooled over seeds (`pooled_change_pct`) with its two-level
    bootstrap interval (resample seeds, then pairs, each pair from both models)."""
    shared = same_pairs(models + references)
    rows = []
    for name, (definition, parts) in change_metrics(qe_method).items():
        seeds = [next(r for r in rows_k if r["metric"] == name) for rows_k in per_seed]
        model_parts = [parts(m) for m in models]
        reference_parts = [parts(r) for r in references]
        point, low, high = hierarchical_ratio_change(
            [n for n, _ in model_parts], [d for _, d in model_parts],
            [n for n, _ in reference_parts], [d for _, d in reference_parts],
            stats["bootstrap_resamples"], stats["seed"], stats["confidence"], same_pairs=shared,
        )
        rows.append({
            "metric": name, "definition": definition,
            **mean_sd_columns(seeds, ["model_pct", "reference_pct", "relative_change_pct"]),
            "pooled_change_pct": _rounded(point, 2), "ci_low": _rounded(low, 2), "ci_high": _rounded(high, 2),
            "seed": POOLED, "seeds": len(seeds),
        })
    return rows


class SeedComparisons:
    """A model against a reference on the same pairs, one comparison per seed, grouped by a key (e.g. corpus,
    direction, model, reference): each seed's `paired_changes` rows, and rows pooled over the seeds of each key
    (`pooled_changes`). The variants and Adaptive-SeqKD tables share it."""

    def __init__(self, stats: dict):
        self.stats = stats
        self.seeds: dict[tuple, list] = {}

    def add(self, key: tuple, model: pd.DataFrame, reference: pd.DataFrame, qe_method: str, about=None) -> list[dict]:
        """One seed's `paired_changes` rows of `model` over `reference`, kept for pooling under `key` with
        `about` (what the caller needs of that seed when it writes the pooled rows)."""
        changes = paired_changes(model, reference, self.stats, qe_method)
        self.seeds.setdefault(key, []).append((model, reference, changes, qe_method, about))
        return changes

    def pooled(self):
        """Per key with two or more seeds (one seed is not pooled), in the order the keys were first added:
        (key, each seed's `about`, the `pooled_changes` rows; QE method of the first seed)."""
        for key, seeds in self.seeds.items():
            if len(seeds) < 2:
                continue
            models, references, changes, qe_methods, abouts = (list(part) for part in zip(*seeds))
            yield key, abouts, pooled_changes(models, references, changes, self.stats, qe_methods[0])


def _rounded(value: float, digits: int = 4):
    """None for an undefined value; an infinite limit stays infinite (no bound at these counts)."""
    if value is None or math.isnan(value):
        return None
    return float(value) if math.isinf(value) else round(float(value), digits)
