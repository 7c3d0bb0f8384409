"""Rule cm_design: the balanced IN/OUT design of the counterfactual-memorization models over the study's pairs: a
column per model (params.models) marking the pairs of its training half, which its training job selects from the
study pairs' token store (no copy of the pairs per half).

Identical pairs (and the preprocessing's duplicate groups) are one unit of the design: all copies IN or all OUT.
The pairs are read a chunk at a time, their texts kept only as 16-byte digests (memkd.digests), and the table is
written a chunk at a time: a study of millions of pairs never sits in memory as strings."""

import logging

import numpy as np
import pandas as pd

from memkd.digests import codes, pair_keys, text_keys
from memkd.io import iter_chunks, write_tsv_chunks_atomic
from memkd.metrics.counterfactual import balanced_design, duplicate_groups_of_keys
from memkd.rulerun import run


def main():
    path, models = snakemake.input[0], list(snakemake.params.models)
    keys, group_keys = [], []
    for chunk in iter_chunks(path, ["src", "tgt", "group"]):
        keys.append(pair_keys(chunk["src"], chunk["tgt"]))
        group_keys.append(text_keys(chunk["group"]))
    keys = np.concatenate(keys)
    groups = duplicate_groups_of_keys(keys, np.concatenate(group_keys))
    del group_keys
    n = len(groups)
    design = balanced_design(n, len(models), seed=int(snakemake.wildcards.seed), groups=groups)
    pair_codes = codes(keys)
    del keys
    repetitions = np.bincount(pair_codes)[pair_codes]  # copies of the identical (source, target) pair
    group_size = np.bincount(groups, minlength=n)[groups]  # a group's label is its first pair's index

    def chunks():
        start = 0
        for ids in iter_chunks(path, ["id"]):
            rows = slice(start, start + len(ids))
            yield pd.DataFrame({
                "id": ids["id"],
                "design_group": groups[rows],
                "group_size": group_size[rows],
                "repetitions": repetitions[rows],
                **{m: design[k, rows].astype(int) for k, m in enumerate(models)},
            })
            start += len(ids)

    write_tsv_chunks_atomic(snakemake.output[0], chunks())
    sizes = design.sum(1).tolist()
    logging.info(
        "%d pairs in %d design groups (largest %d) x %d models; training halves of %s pairs",
        n, len(np.unique(groups)), int(group_size.max(initial=0)), len(models), sizes,
    )
    if max(sizes) - min(sizes) > 1:
        logging.warning("the duplicate groups are too large for halves of equal size: %s pairs", sizes)


run(main, snakemake.log[0])
