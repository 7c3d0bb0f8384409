"""Rule subgroups_table: per direction, seed, model and bucket of training pairs (QE of the reference pair, in
quintiles of the study pairs' QE unless subgroups.qe_edges gives numbers; CM,
copies of the pair among the study pairs (1, 2-4, 5+), teacher confidence top/bottom, a random bucket, duplicated
pairs, verses the corpus flags as misaligned, and all pairs), the bucket size, replication vs the corpus and vs the
teacher, the mean QE of the model's outputs, the bucket's mean CM, and BLEU and chrF of the outputs against the
corpus targets."""

from pathlib import Path

import numpy as np
import pandas as pd

from memkd.io import read_columns, write_tsv_atomic
from memkd.metrics.subgroups import (bucket_labels, random_bucket, repetition_buckets, resolve_edges,
                                     subgroup_summary, table_statistics, top_bottom, value_buckets)
from memkd.rulerun import run
from memkd.tables import aligned, flags, geometric_mean_probability

GROUPS = ["all", "qe_bucket", "cm_bucket", "repetitions", "teacher_confidence", "random", "duplicate", "misaligned"]


def reference_qe(k: int) -> pd.DataFrame:
    inputs = snakemake.input
    ids = read_columns(inputs[f"pairs{k}"], ["id"])["id"].tolist()
    return aligned(inputs[f"qe{k}"], read_columns(inputs[f"qe{k}"], ["id", "qe", "qe_method"]), ids)


def qe_edges(settings: dict) -> list[float]:
    """QE bucket edges: the configured numbers, or quintiles of the study pairs' QE pooled over every direction and
    seed (one set of edges, so that buckets mean the same in every row)."""
    units = 0
    while f"pairs{units}" in snakemake.input.keys():
        units += 1
    pooled = pd.concat([reference_qe(k)["qe"].astype(float) for k in range(units)]) if units else []
    return resolve_edges(settings["qe_edges"], pooled)


def buckets(k: int, settings: dict, seed: int) -> pd.DataFrame:
    """Per study pair, its bucket in every subgroup kind (None: in no bucket of that kind). No texts: BLEU and chrF
    come from table_statistics, which reads them a chunk at a time."""
    inputs = snakemake.input
    pairs = read_columns(inputs[f"pairs{k}"], ["id", "flags", "pair_count"])
    ids = pairs["id"].tolist()
    qe = reference_qe(k)
    cm = aligned(inputs[f"cm{k}"], read_columns(inputs[f"cm{k}"], ["id", "cm", "repetitions"]), ids)
    scores = aligned(inputs[f"confidence{k}"], read_columns(inputs[f"confidence{k}"], ["id", "tokens", "log_prob"]), ids)
    # teacher confidence: geometric-mean probability of the reference under the teacher
    confidence = geometric_mean_probability(scores)
    return pd.DataFrame({
        "id": pairs["id"],
        "all": "all",
        "qe_bucket": value_buckets(qe["qe"].astype(float), settings["qe_edges"]),
        "cm_bucket": value_buckets(cm["cm"].astype(float), settings["cm_edges"]),
        "cm": cm["cm"].astype(float),
        # copies of the pair among the study's training pairs
        "repetitions": repetition_buckets(cm["repetitions"].astype(int)),
        "teacher_confidence": top_bottom(confidence.to_numpy(), settings["confidence_fraction"]),
        "random": random_bucket(len(pairs), settings["random_fraction"], seed),
        "duplicate": (pairs["pair_count"].astype(int) > 1).tolist(),
        "misaligned": pairs["flags"].str.contains("shift|lowoverlap", regex=True).tolist(),
        "qe_method": qe["qe_method"],
    })


def main():
    settings, seed = dict(snakemake.params.settings), snakemake.params.seed
    settings["qe_edges"] = qe_edges(settings)
    edges_text = ("quintiles " if snakemake.params.settings["qe_edges"] == "quantiles" else "") + ", ".join(
        f"{edge:g}" for edge in settings["qe_edges"])
    # value buckets low to high ("n/a": no value), not in string order
    order = {f"{kind}_bucket": [*bucket_labels(settings[f"{kind}_edges"]), "n/a"] for kind in ("qe", "cm")}
    rows = []
    k = 0
    while f"pairs{k}" in snakemake.input.keys():
        groups = buckets(k, settings, seed)
        for role in snakemake.params.roles:
            if f"{role}{k}" not in snakemake.input.keys():  # a variant not trained at this seed (variant_seeds)
                continue
            path = snakemake.input[f"{role}{k}"]
            # results/memorization/<corpus>/<direction>/seed<seed>/<role>/examples.tsv
            corpus, direction, seed_dir = Path(path).parts[-5:-2]
            examples = aligned(path, read_columns(path, ["id", "exact_match", "exact_match_teacher", "output_qe"]),
                               groups["id"].tolist())
            frame = groups.assign(
                replication=flags(examples["exact_match"]),
                replication_vs_teacher=flags(examples["exact_match_teacher"]),
                output_qe=examples["output_qe"].astype(float),
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
                summary["qe_method"] = groups["qe_method"].iloc[0]
                summary["qe_edges"] = edges_text
                rows.append(summary)
        k += 1
    table = pd.concat(rows, ignore_index=True)
    for column in ("replication_rate", "replication_vs_teacher_rate", "output_qe_mean", "cm_mean"):
        table[column] = table[column].round(4)
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
