"""Rule counterfactual_table: CM per training pair (the memorization map: mean p IN, mean p OUT) of every direction
and seed in one tidy table, with the quality estimate of the pair (the map's colour)."""

from pathlib import Path

import pandas as pd

from memkd.errors import InputError
from memkd.io import read_columns, read_tsv, write_tsv_atomic
from memkd.rulerun import run


def main():
    frames = []
    for path, qe_path in zip(snakemake.input.cm, snakemake.input.qe, strict=True):
        corpus, direction, seed = Path(path).parts[-4:-1]
        table = read_tsv(path, columns=["id", "group_size", "repetitions", "in_models", "out_models", "p_in", "p_out", "cm", "score"])
        qe = read_columns(qe_path, ["id", "qe", "qe_method"])
        if qe["id"].tolist() != table["id"].tolist():
            raise InputError(f"{qe_path}: its {len(qe)} rows do not follow {path} ({len(table)}) id by id")
        table["qe"], table["qe_method"] = qe["qe"], qe["qe_method"]
        table.insert(0, "seed", int(seed.removeprefix("seed")))
        table.insert(0, "direction", direction)
        table.insert(0, "corpus", corpus)
        table["cm_models"] = snakemake.params.models
        frames.append(table)
    write_tsv_atomic(snakemake.output[0], pd.concat(frames, ignore_index=True))


run(main, snakemake.log[0])
