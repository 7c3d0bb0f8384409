"""Rule lm_figures: the LM track's figures from its tables."""

from memkd.io import read_table
from memkd.lm import plots
from memkd.plots import save
from memkd.rulerun import run


def main():
    settings = {**snakemake.params.settings, "confidence": snakemake.params.confidence}
    t = {name: read_table(snakemake.input[name]) for name in ("memorization", "inheritance", "predictor", "roc",
                                                              "removal")}
    figures = {"rates": plots.rates(t["memorization"], settings), "inheritance": plots.inheritance(t["inheritance"],
                                                                                                  settings),
               "predictor_roc": plots.predictor_roc(t["roc"], t["predictor"]), "removal": plots.removal(t["removal"])}
    for name, figure in figures.items():
        save(figure, snakemake.output[f"{name}_png"], snakemake.output[f"{name}_pdf"])


run(main, snakemake.log[0])
