"""Rule lm_predictor: KL(teacher || baseline) per example; then per student kind, a logistic regression on
features known before distillation predicts which fine-tuning examples the student memorizes; its out-of-fold
flags feed the removal experiment."""

import pandas as pd
import torch

from memkd.io import read_table, read_tsv, write_tsv_atomic
from memkd.lm import analysis, data, model as lm_model
from memkd.lm.losses import per_example_kl
from memkd.rulerun import run


def teacher_baseline_kl(examples: pd.DataFrame) -> pd.DataFrame:
    """KL(teacher || baseline) per fine-tuning example, both teacher-forced on the example."""
    teacher, baseline = lm_model.load(snakemake.input.teacher), lm_model.load(snakemake.input.baseline)
    kl = lm_model.batched(lambda x: per_example_kl(teacher(x).logits, baseline(x).logits), data.id_matrix(examples),
                          snakemake.params.batch_size)
    return pd.DataFrame({"id": examples["id"], "kl_teacher_baseline": kl})


def main():
    settings = snakemake.params.settings
    torch.set_num_threads(snakemake.threads)
    examples = read_tsv(snakemake.input.examples)
    scores = {role: read_table(snakemake.input[f"{role}_scores"]) for role in ("teacher", "baseline", "soft", "hard")}
    table = analysis.features(examples, scores["teacher"], scores["baseline"], teacher_baseline_kl(examples))
    rows, curves, flagged = [], [], table[["id"]].copy()
    for student in analysis.STUDENTS:
        s = scores[student]
        labels = s[s["split"] == "finetune"].set_index("id").loc[table["id"], "memorized"].astype(bool).to_numpy()
        row, roc, oof = analysis.predictor(table, labels, settings["folds"], settings["threshold"],
                                           snakemake.params.stats["seed"], snakemake.params.stats)
        rows.append({"seed": snakemake.wildcards.seed, "student": student, **row})
        curves.append(roc.assign(seed=snakemake.wildcards.seed, student=student))
        flagged[f"{student}_probability"] = oof.round(6)
        flagged[f"{student}_flagged"] = (oof >= settings["threshold"]).astype(int)
    write_tsv_atomic(snakemake.output.features, table.round(6))
    write_tsv_atomic(snakemake.output.predictor, pd.DataFrame(rows))
    write_tsv_atomic(snakemake.output.roc, pd.concat(curves, ignore_index=True))
    write_tsv_atomic(snakemake.output.flagged, flagged)


run(main, snakemake.log[0])
