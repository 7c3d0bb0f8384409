"""Rule memorization_predictor: per direction, seed and student, a cross-validated logistic regression that predicts
from pre-distillation features which training pairs the student replicates; AUC per fold, coefficients, ROC points.
The tables are read a chunk at a time into numbers (memkd.tables.read_aligned): what grows with the pairs is the
feature matrix, the labels and the digests, not texts."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from memkd.digests import pair_keys, text_keys
from memkd.io import iter_chunks, write_tsv_atomic
from memkd.metrics.counterfactual import duplicate_groups_of_keys
from memkd.metrics.inheritance import student_kind
from memkd.predictor import FEATURES, cross_validated_auc, flag_auc, zlib_ratio
from memkd.rulerun import run
from memkd.tables import flags, read_aligned


def study_pairs(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digests of the study pairs' ids, their duplicate groups and zlib ratios, read a chunk at a time: the texts of
    millions of pairs are never held, only 16-byte digests of ids, pairs and preprocessing groups."""
    id_keys, keys, group_keys, ratios = [], [], [], []
    for chunk in iter_chunks(path, ["id", "src", "tgt", "group"]):
        id_keys.append(text_keys(chunk["id"]))
        keys.append(pair_keys(chunk["src"], chunk["tgt"]))
        group_keys.append(text_keys(map(str, chunk["group"])))
        ratios.append(np.array([zlib_ratio(s, t) for s, t in zip(chunk["src"], chunk["tgt"])], dtype=float))
    groups = duplicate_groups_of_keys(np.concatenate(keys), np.concatenate(group_keys))
    return np.concatenate(id_keys), groups, np.concatenate(ratios)


def features(k: int, ids: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """The FEATURES of every study pair (rows in study order)."""
    inputs = snakemake.input
    as_float, as_int = (lambda column: column.astype(float)), (lambda column: column.astype(int))
    log_ppl = {}
    for name in ("teacher", "baseline"):
        scores = read_aligned(inputs[f"{name}{k}"], {"tokens": as_int, "log_prob": as_float}, ids)
        log_ppl[name] = -scores["log_prob"] / scores["tokens"]
    kl = read_aligned(inputs[f"kl{k}"], {"kl_sum": as_float}, ids)["kl_sum"]  # summed over the target tokens (STUDY.md)
    table = {"zlib_ratio": ratios, "teacher_log_ppl": log_ppl["teacher"], "baseline_log_ppl": log_ppl["baseline"],
             "kl_teacher_baseline": kl}
    return np.column_stack([table[name] for name in FEATURES])


def main():
    settings = snakemake.params.settings
    rows, roc_rows = [], []
    k = 0
    while f"pairs{k}" in snakemake.input.keys():
        ids, groups, ratios = study_pairs(snakemake.input[f"pairs{k}"])
        table = features(k, ids, ratios)
        baseline_flags = read_aligned(snakemake.input[f"baseline_flags{k}"], {"exact_match": flags}, ids)["exact_match"]
        for role in snakemake.params.students:
            if f"{role}{k}" not in snakemake.input.keys():  # a variant not trained at this seed (variant_seeds)
                continue
            path = snakemake.input[f"{role}{k}"]
            # results/memorization/<corpus>/<direction>/seed<seed>/<role>/examples.tsv
            corpus, direction, seed_dir = path.split("/")[-5:-2]
            labels = read_aligned(path, {"exact_match": flags}, ids)["exact_match"]
            result = cross_validated_auc(table, labels, settings["folds"], settings["seed"], groups)
            reference = flag_auc(labels, baseline_flags)
            unit = {"corpus": corpus, "direction": direction, "seed": int(seed_dir.removeprefix("seed")),
                    "student": role, "kind": student_kind(role, snakemake.params.variants)}
            aucs = result["fold_aucs"]
            rows.append({
                **unit, "target": "student replicates the reference (greedy exact match)",
                "pairs": len(labels), "positives": int(labels.sum()), "folds": result["folds"],
                "auc_mean": round(float(np.mean(aucs)), 4) if aucs else None,
                "auc_std": round(float(np.std(aucs)), 4) if aucs else None,
                "fold_aucs": ";".join(f"{a:.4f}" for a in aucs),
                # the reference the features must beat: the baseline's own replication flag as the score
                "baseline_flag_auc": None if reference is None else round(reference, 4),
                **{f"coef_{name}": round(c, 4) for name, c in zip(FEATURES, result["coefficients"] or [None] * len(FEATURES))
                   if c is not None},
                "intercept": None if result["intercept"] is None else round(result["intercept"], 4),
                "classifier": f"logistic regression on standardized features, stratified {result['folds']}-fold CV "
                              f"with duplicate groups kept in one fold, seed {settings['seed']}",
                "features": ", ".join(FEATURES), "note": result["reason"],
            })
            if result["out_of_fold"] is not None:  # pooled out-of-fold ROC curve
                fpr, tpr, _ = roc_curve(labels, result["out_of_fold"])
                roc_rows += [{**unit, "fpr": round(f, 5), "tpr": round(t, 5)} for f, t in zip(fpr, tpr)]
        k += 1
    write_tsv_atomic(snakemake.output.predictor, pd.DataFrame(rows))
    write_tsv_atomic(snakemake.output.roc, pd.DataFrame(roc_rows, columns=["corpus", "direction", "seed", "student", "kind", "fpr", "tpr"]))


run(main, snakemake.log[0])
