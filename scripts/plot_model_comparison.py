"""Rules plot_model_comparison (T, B, S) and plot_model_comparison_variants (B, S and the distillation variants):
per direction BLEU, chrF, replication, ExMem, OscHal and NatHal."""

from memkd.io import read_table
from memkd.plots import model_comparison, save
from memkd.rulerun import run


def main():
    inputs = snakemake.input
    figure = model_comparison(read_table(inputs.quality), read_table(inputs.memorization),
                              read_table(inputs.hallucination), variants=snakemake.params.variants)
    save(figure, snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
