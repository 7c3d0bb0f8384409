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
    predictor_flags = {s: read_table(path) for s, path in zip(seeds, snakemake.input.flagged)}
    flagged = {s: {st: frame[f"{st}_flagged"].astype(bool).to_numpy() for st in analysis.STUDENTS}
               for s, frame in predictor_flags.items()}
    tables = {
        "memorization": analysis.memorization_table(scores, stats),
        "relative_change": analysis.relative_change_table(scores, stats),
        "inheritance": analysis.inheritance_table(scores, stats),
        "soft_vs_hard": analysis.soft_vs_hard_table(scores, stats),
        # pooled over seeds: the mean AUC with a two-level (seeds, then examples) bootstrap interval
        "predictor": analysis.predictor_table(
            pd.concat([read_table(p) for p in snakemake.input.predictor], ignore_index=True), predictor_flags,
            scores, stats),
        "roc": pd.concat([read_table(p) for p in snakemake.input.roc], ignore_index=True),
        "removal": analysis.removal_table(scores, flagged, stats),
    }
    for name, frame in tables.items():
        write_tsv_atomic(snakemake.output[name], frame.round(4) if not frame.empty else frame)
    settings = {**snakemake.params.settings, "confidence": stats["confidence"]}
    write_text_atomic(snakemake.output.summary, summary.render(
        settings, tables["memorization"], tables["relative_change"], tables["inheritance"], tables["soft_vs_hard"],
        tables["predictor"], tables["removal"]))


run(main, snakemake.log[0])
