"""Rule direction_view: one split seen in one direction (columns id, src, tgt, ...)."""

from memkd.io import read_tsv, write_tsv_atomic
from memkd.preprocess import direction_view
from memkd.rulerun import run


def main():
    src, tgt = snakemake.wildcards.src, snakemake.wildcards.tgt
    table = read_tsv(snakemake.input[0], columns=["id", src, tgt])
    write_tsv_atomic(snakemake.output[0], direction_view(table, src, tgt))


run(main, snakemake.log[0])
