"""Rule plot_adaptive_seqkd: Adaptive-SeqKD students (high-quality and random arm) against the SeqKD student."""

from memkd.io import read_table
from memkd.plots import adaptive_seqkd, save
from memkd.rulerun import run


def main():
    save(adaptive_seqkd(read_table(snakemake.input[0])), snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
