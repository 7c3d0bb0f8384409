"""Rule cm_design: the balanced IN/OUT design of the counterfactual-memorization models over the study's pairs."""

import logging

import pandas as pd

from memkd.io import read_tsv, write_tsv_atomic
from memkd.metrics.counterfactual import balanced_design
from memkd.rulerun import run


def main():
    pairs = read_tsv(snakemake.input[0], columns=["id"])
    models = list(snakemake.params.models)
    design = balanced_design(len(pairs), len(models), seed=int(snakemake.wildcards.seed))
    table = pd.DataFrame({"id": pairs["id"], **{m: design[k].astype(int) for k, m in enumerate(models)}})
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("%d pairs x %d models; training halves of %s pairs", len(pairs), len(models), design.sum(1).tolist())


run(main, snakemake.log[0])
