"""Rule quality_estimate: a quality estimate per (source, text) pair of the study, text = reference or a model's
greedy output. dual_xent: a forward model scores the text given the source, a backward model the source given the
text (Junczys-Dowmunt 2018); the models are the QE models trained on held-out training pairs (default) or the
study's teachers (quality_estimation.models). cometkiwi: CometKiwi through unbabel-comet, when the user has it.
With sharding.sentences the same table comes from quality_estimate_shard and gather_quality."""

import logging

from memkd.errors import InputError
from memkd.io import read_columns, read_lines, write_tsv_atomic
from memkd.metrics.quality import qe_model_paths, quality_table
from memkd.rulerun import run


def study_texts(pairs) -> list[str]:
    if "hypotheses" not in snakemake.input.keys():
        return pairs["tgt"].tolist()
    texts = read_lines(snakemake.input.hypotheses)
    if len(texts) != len(pairs):
        raise InputError(f"{snakemake.input.hypotheses}: {len(texts)} lines for {len(pairs)} study pairs")
    return texts


def main():
    pairs = read_columns(snakemake.input.pairs, ["id", "src", "tgt"])
    src, tgt = snakemake.wildcards.src, snakemake.wildcards.tgt
    table = quality_table(pairs["id"].tolist(), pairs["src"].tolist(), study_texts(pairs), snakemake.params.settings,
                          qe_model_paths(snakemake.input), (f"{src}-{tgt}", f"{tgt}-{src}"),
                          snakemake.params.max_tokens, snakemake.params.engine, snakemake.threads,
                          snakemake.params.precision)
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("%s: mean QE %.4f over %d pairs", table["qe_method"].iloc[0], table["qe"].mean(), len(table))


run(main, snakemake.log[0])
