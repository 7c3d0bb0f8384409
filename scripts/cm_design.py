"""Rule cm_design: the balanced IN/OUT design of the counterfactual-memorization models over the study's pairs: a
column per model (params.models) marking the pairs of its training half, which its training job selects from the
study pairs' token store (no copy of the pairs per half).

Identical pairs (and the preprocessing's duplicate groups) are one unit of the design: all copies IN or all OUT."""

import logging

import numpy as np
import pandas as pd

from memkd.io import read_tsv, write_tsv_atomic
from memkd.metrics.counterfactual import balanced_design, duplicate_groups
from memkd.rulerun import run


def main():
    pairs = read_tsv(snakemake.input[0], columns=["id", "src", "tgt", "group"])
    models = list(snakemake.params.models)
    groups = duplicate_groups(pairs["src"], pairs["tgt"], pairs["group"].to_numpy())
    design = balanced_design(len(pairs), len(models), seed=int(snakemake.wildcards.seed), groups=groups)
    repetitions = pairs.groupby(["src", "tgt"])["id"].transform("size")
    group_size = pd.Series(groups).map(pd.Series(groups).value_counts())
    table = pd.DataFrame(
        {
            "id": pairs["id"],
            "design_group": groups,
            "group_size": group_size.to_numpy(),
            "repetitions": repetitions.to_numpy(),
            **{m: design[k].astype(int) for k, m in enumerate(models)},
        }
    )
    write_tsv_atomic(snakemake.output[0], table)
    sizes = design.sum(1).tolist()
    logging.info(
        "%d pairs in %d design groups (largest %d) x %d models; training halves of %s pairs",
        len(pairs), len(np.unique(groups)), int(group_size.max()), len(models), sizes,
    )
    if max(sizes) - min(sizes) > 1:
        logging.warning("the duplicate groups are too large for halves of equal size: %s pairs", sizes)


run(main, snakemake.log[0])
