"""Rule counterfactual_table: CM per training pair (the memorization map: mean p IN, mean p OUT) of every direction
and seed in one tidy table, with the quality estimate of the pair (the map's colour). Each seed's CM and QE tables
are read side by side a chunk of rows at a time and written as they are read: memory does not grow with the pairs."""

from itertools import zip_longest
from pathlib import Path

from memkd.errors import InputError
from memkd.io import iter_chunks, table_columns, write_tsv_chunks_atomic
from memkd.rulerun import run

CM_COLUMNS = ["id", "group_size", "repetitions", "in_models", "out_models", "p_in", "p_out", "cm", "score"]


def unit_rows(path: str, qe_path: str):
    """The rows of one direction and seed's CM table with its pairs' QE, a chunk at a time."""
    corpus, direction, seed = Path(path).parts[-4:-1]
    columns = table_columns(path)
    missing = [c for c in CM_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {columns}")
    rows = {"cm": 0, "qe": 0}
    follows = True
    for table, qe in zip_longest(iter_chunks(path, columns), iter_chunks(qe_path, ["id", "qe", "qe_method"])):
        rows["cm"] += 0 if table is None else len(table)
        rows["qe"] += 0 if qe is None else len(qe)
        follows = follows and table is not None and qe is not None and table["id"].tolist() == qe["id"].tolist()
        if not follows:  # past a mismatch, only counted for the message
            continue
        table["qe"], table["qe_method"] = qe["qe"], qe["qe_method"]
        table.insert(0, "seed", int(seed.removeprefix("seed")))
        table.insert(0, "direction", direction)
        table.insert(0, "corpus", corpus)
        table["cm_models"] = snakemake.params.models
        yield table
    if not follows:  # raised before the table is renamed into place
        raise InputError(f"{qe_path}: its {rows['qe']} rows do not follow {path} ({rows['cm']}) id by id")


def main():
    def chunks():
        for path, qe_path in zip(snakemake.input.cm, snakemake.input.qe, strict=True):
            yield from unit_rows(path, qe_path)

    write_tsv_chunks_atomic(snakemake.output[0], chunks())


run(main, snakemake.log[0])
