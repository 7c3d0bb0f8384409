"""Rule plot_relative_change: relative change student vs baseline with intervals, the paper's numbers beside them."""

from memkd.io import read_table
from memkd.plots import relative_change, save
from memkd.rulerun import run


def main():
    save(relative_change(read_table(snakemake.input[0])), snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
