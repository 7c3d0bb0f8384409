"""Rule subgroups_table: per direction, seed, model and bucket of training pairs (QE of the reference pair, in
quintiles of the study pairs' QE unless subgroups.qe_edges gives numbers; CM,
copies of the pair among the study pairs (1, 2-4, 5+), teacher confidence top/bottom, a random bucket, duplicated
pairs, verses the corpus flags as misaligned, and all pairs), the bucket size, replication vs the corpus and vs the
teacher, the mean QE of the model's outputs, the bucket's mean CM, and BLEU and chrF of the outputs against the
corpus targets."""

from pathlib import Path

import numpy as np
import pandas as pd

from memkd.digests import text_keys
from memkd.io import iter_chunks, write_tsv_atomic
from memkd.metrics.subgroups import (bucket_labels, random_bucket, repetition_buckets, resolve_edges,
                                     subgroup_summary, table_statistics, top_bottom, value_buckets)
from memkd.rulerun import run
from memkd.tables import flags, geometric_mean_probability, read_aligned

GROUPS = ["all", "qe_bucket", "cm_bucket", "repetitions", "teacher_confidence", "random", "duplicate", "misaligned"]
as_float = lambda column: column.astype(float)


def study_pairs(k: int) -> dict[str, np.ndarray]:
    """The study pairs' id digests and the per-pair columns the buckets need, read a chunk at a time: numbers and
    flags, never the ids or flags of millions of pairs as Python strings."""
    parts = {"keys": [], "duplicate": [], "misaligned": []}
    for chunk in iter_chunks(snakemake.input[f"pairs{k}"], ["id", "flags", "pair_count"]):
        parts["keys"].append(text_keys(chunk["id"]))
        parts["duplicate"].append((chunk["pair_count"].astype(int) > 1).to_numpy())
        parts["misaligned"].append(chunk["flags"].str.contains("shift|lowoverlap", regex=True).to_numpy(dtype=bool))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def reference_qe(k: int, keys: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The study pairs' reference QE, and its method (the first row's)."""
    path = snakemake.input[f"qe{k}"]
    methods = next(iter_chunks(path, ["qe_method"]))["qe_method"]
    return read_aligned(path, {"qe": as_float}, keys)["qe"], (methods.iloc[0] if len(methods) else None)


def qe_edges(settings: dict, qe: list[np.ndarray]) -> list[float]:
    """QE bucket edges: the configured numbers, or quintiles of the study pairs' QE pooled over every direction and
    seed (one set of edges, so that buckets mean the same in every row)."""
    pooled = pd.Series(np.concatenate(qe)) if qe else []
    return resolve_edges(settings["qe_edges"], pooled)


def buckets(k: int, settings: dict, seed: int, pairs: dict, qe: np.ndarray) -> pd.DataFrame:
    """Per study pair, its bucket in every subgroup kind (missing: in no bucket of that kind), as categoricals (a
    byte a pair). No texts: BLEU and chrF come from table_statistics, which reads them a chunk at a time."""
    inputs = snakemake.input
    cm = read_aligned(inputs[f"cm{k}"], {"cm": as_float, "repetitions": lambda column: column.astype(int)},
                      pairs["keys"])
    scores = read_aligned(inputs[f"confidence{k}"], {"tokens": as_float, "log_prob": as_float}, pairs["keys"])
    # teacher confidence: geometric-mean probability of the reference under the teacher
    confidence = geometric_mean_probability(scores)
    n = len(pairs["keys"])
    return pd.DataFrame({
        "all": pd.Categorical(["all"] * n),
        "qe_bucket": pd.Categorical(value_buckets(qe, settings["qe_edges"])),
        "cm_bucket": pd.Categorical(value_buckets(cm["cm"], settings["cm_edges"])),
        "cm": cm["cm"],
        # copies of the pair among the study's training pairs
        "repetitions": pd.Categorical(repetition_buckets(cm["repetitions"])),
        "teacher_confidence": pd.Categorical(top_bottom(confidence, settings["confidence_fraction"])),
        "random": np.array(random_bucket(n, settings["random_fraction"], seed), dtype=bool),
        "duplicate": pairs["duplicate"],
        "misaligned": pairs["misaligned"],
    })


def main():
    settings, seed = dict(snakemake.params.settings), snakemake.params.seed
    units = 0
    while f"pairs{units}" in snakemake.input.keys():
        units += 1
    pairs = [study_pairs(k) for k in range(units)]
    qe, qe_methods = zip(*(reference_qe(k, pairs[k]["keys"]) for k in range(units))) if units else ((), ())
    settings["qe_edges"] = qe_edges(settings, list(qe))
    edges_text = ("quintiles " if snakemake.params.settings["qe_edges"] == "quantiles" else "") + ", ".join(
        f"{edge:g}" for edge in settings["qe_edges"])
    # value buckets low to high ("n/a": no value), not in string order
    order = {f"{kind}_bucket": [*bucket_labels(settings[f"{kind}_edges"]), "n/a"] for kind in ("qe", "cm")}
    rows = []
    for k in range(units):
        groups = buckets(k, settings, seed, pairs[k], qe[k])
        for role in snakemake.params.roles:
            if f"{role}{k}" not in snakemake.input.keys():  # a variant not trained at this seed (variant_seeds)
                continue
            path = snakemake.input[f"{role}{k}"]
            # results/memorization/<corpus>/<direction>/seed<seed>/<role>/examples.tsv
            corpus, direction, seed_dir = Path(path).parts[-5:-2]
            examples = read_aligned(path, {"exact_match": flags, "exact_match_teacher": flags, "output_qe": as_float},
                                    pairs[k]["keys"])
            frame = groups.assign(
                replication=examples["exact_match"],
                replication_vs_teacher=examples["exact_match_teacher"],
                output_qe=examples["output_qe"],
            )
            # BLEU/chrF statistics once per model; every bucket of every grouping sums its rows of them
            statistics = table_statistics(path, "output", snakemake.input[f"pairs{k}"], "tgt", snakemake.threads)
            for group in GROUPS:
                summary = subgroup_summary(frame, group, ["replication", "replication_vs_teacher"], ["output_qe", "cm"],
                                           statistics=statistics, order=order.get(group))
                if role == "teacher":
                    summary["replication_vs_teacher_rate"] = np.nan
                summary.insert(0, "role", role)
                summary.insert(0, "seed", int(seed_dir.removeprefix("seed")))
                summary.insert(0, "direction", direction)
                summary.insert(0, "corpus", corpus)
                summary["qe_method"] = qe_methods[k]
                summary["qe_edges"] = edges_text
                rows.append(summary)
    table = pd.concat(rows, ignore_index=True)
    for column in ("replication_rate", "replication_vs_teacher_rate", "output_qe_mean", "cm_mean"):
        table[column] = table[column].round(4)
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
