"""Rule plot_predictor_roc: the memorization predictor's out-of-fold ROC curves per direction and student."""

from memkd.io import read_table
from memkd.plots import predictor_roc, save
from memkd.rulerun import run


def main():
    figure = predictor_roc(read_table(snakemake.input.roc), read_table(snakemake.input.predictor))
    save(figure, snakemake.output.png, snakemake.output.pdf)


run(main, snakemake.log[0])
