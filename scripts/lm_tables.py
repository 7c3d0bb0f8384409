"""Rule lm_tables: the LM track's tables over all seeds, and its summary."""

import pandas as pd

from memkd.io import read_table, write_text_atomic, write_tsv_atomic
from memkd.lm import analysis, summary
from memkd.rulerun import run


def main():
    stats = snakemake.params.stats
    seeds, roles = snakemake.params.seeds, snakemake.params.roles
    keys = [(s, r) for s in seeds for r in roles]  # the order of the rule's expand()
    scores = {key: read_table(path) for key, path in zip(keys, snakemake.input.scores)}
    flagged = {}
    for s, path in zip(seeds, snakemake.input.flagged):
        frame = read_table(path)
        flagged[s] = {st: frame[f"{st}_flagged"].astype(bool).to_numpy() for st in analysis.STUDENTS}
    tables = {
        "memorization": analysis.memorization_table(scores, stats),
        "relative_change": analysis.relative_change_table(scores, stats),
        "inheritance": analysis.inheritance_table(scores, stats),
        "soft_vs_hard": analysis.soft_vs_hard_table(scores, stats),
        "predictor": pd.concat([read_table(p) for p in snakemake.input.predictor], ignore_index=True),
        "roc": pd.concat([read_table(p) for p in snakemake.input.roc], ignore_index=True),
        "removal": analysis.removal_table(scores, flagged, stats),
    }
    predictor = tables["predictor"]
    if len(seeds) > 1:  # pooled: the mean over seeds of each seed's AUC and interval limits (not a two-level interval)
        pooled = predictor.groupby("student", as_index=False)[["auc", "auc_low", "auc_high", "positives"]].mean()
        tables["predictor"] = pd.concat([predictor, pooled.assign(seed=analysis.POOLED)], ignore_index=True)
    for name, frame in tables.items():
        write_tsv_atomic(snakemake.output[name], frame.round(4) if not frame.empty else frame)
    settings = {**snakemake.params.settings, "confidence": stats["confidence"]}
    write_text_atomic(snakemake.output.summary, summary.render(
        settings, tables["memorization"], tables["relative_change"], tables["inheritance"], tables["soft_vs_hard"],
        tables["predictor"], tables["removal"]))


run(main, snakemake.log[0])
