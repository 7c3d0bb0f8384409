"""Rule memorization_predictor: per direction, seed and student, a cross-validated logistic regression that predicts
from pre-distillation features which training pairs the student replicates; AUC per fold, coefficients, ROC points."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from memkd.io import read_columns, write_tsv_atomic
from memkd.metrics.inheritance import student_kind
from memkd.metrics.counterfactual import duplicate_groups
from memkd.predictor import FEATURES, cross_validated_auc, flag_auc, zlib_ratio
from memkd.rulerun import run
from memkd.tables import aligned, flags


def features(k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    inputs = snakemake.input
    pairs = read_columns(inputs[f"pairs{k}"], ["id", "src", "tgt", "group"])
    ids = pairs["id"].tolist()
    scores = {name: aligned(inputs[f"{name}{k}"], read_columns(inputs[f"{name}{k}"], ["id", "tokens", "log_prob"]), ids)
              for name in ("teacher", "baseline")}
    kl = aligned(inputs[f"kl{k}"], read_columns(inputs[f"kl{k}"], ["id", "tokens", "kl_sum"]), ids)
    table = pd.DataFrame({
        "zlib_ratio": [zlib_ratio(s, t) for s, t in zip(pairs["src"], pairs["tgt"])],
        **{f"{name}_log_ppl": -scores[name]["log_prob"].astype(float) / scores[name]["tokens"].astype(int)
           for name in ("teacher", "baseline")},
        "kl_teacher_baseline": kl["kl_sum"].astype(float),  # summed over the target tokens (STUDY.md)
    })
    return pairs, table[list(FEATURES)]


def main():
    settings = snakemake.params.settings
    rows, roc_rows = [], []
    k = 0
    while f"pairs{k}" in snakemake.input.keys():
        pairs, table = features(k)
        groups = duplicate_groups(pairs["src"], pairs["tgt"], pairs["group"].to_numpy())
        ids = pairs["id"].tolist()
        baseline_path = snakemake.input[f"baseline_flags{k}"]
        baseline_flags = flags(aligned(baseline_path, read_columns(baseline_path, ["id", "exact_match"]), ids)["exact_match"])
        for role in snakemake.params.students:
            if f"{role}{k}" not in snakemake.input.keys():  # a variant not trained at this seed (variant_seeds)
                continue
            path = snakemake.input[f"{role}{k}"]
            # results/memorization/<corpus>/<direction>/seed<seed>/<role>/examples.tsv
            corpus, direction, seed_dir = path.split("/")[-5:-2]
            examples = aligned(path, read_columns(path, ["id", "exact_match"]), ids)
            labels = flags(examples["exact_match"])
            result = cross_validated_auc(table.to_numpy(), labels, settings["folds"], settings["seed"], groups)
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
