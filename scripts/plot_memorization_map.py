"""Rule plot_memorization_map: mean IN vs mean OUT probability per training pair, coloured by QE bucket."""

from memkd.io import read_table
from memkd.plots import MAP_COLUMNS, memorization_map, save
from memkd.rulerun import run


def main():
    figure = memorization_map(read_table(snakemake.input[0], MAP_COLUMNS), snakemake.params.qe_edges)
    save(figure, snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
