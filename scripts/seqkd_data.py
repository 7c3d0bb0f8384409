"""Rule seqkd_data: the study's sources paired with the teacher's translations (SeqKD targets)."""

import logging

from memkd.io import read_columns, read_lines, write_tsv_atomic
from memkd.rulerun import run
from memkd.errors import InputError


def main():
    pairs = read_columns(snakemake.input.pairs, ["id", "src", "tgt"])
    hypotheses = read_lines(snakemake.input.hypotheses)
    if len(hypotheses) != len(pairs):
        raise InputError(
            f"{snakemake.input.hypotheses}: {len(hypotheses)} lines for {len(pairs)} sources in {snakemake.input.pairs}"
        )
    data = pairs[["id", "src"]].assign(tgt=hypotheses, reference=pairs["tgt"])
    write_tsv_atomic(snakemake.output[0], data)
    same = int((data["tgt"] == data["reference"]).sum())
    logging.info("SeqKD data: %d pairs; teacher output equals the reference for %d", len(data), same)


run(main, snakemake.log[0])
