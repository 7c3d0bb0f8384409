"""Rule plot_model_comparison: T/B/S per direction for BLEU, chrF, replication, ExMem, OscHal and NatHal."""

from memkd.io import read_table
from memkd.plots import model_comparison, save
from memkd.rulerun import run


def main():
    inputs = snakemake.input
    figure = model_comparison(read_table(inputs.quality), read_table(inputs.memorization), read_table(inputs.hallucination))
    save(figure, snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
