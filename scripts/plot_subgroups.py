"""Rule plot_subgroups: replication per subgroup bucket and model."""

from memkd.io import read_table
from memkd.plots import save, subgroup_bars
from memkd.rulerun import run


def main():
    save(subgroup_bars(read_table(snakemake.input[0])), snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
