"""Rule study_subset: the training pairs the study's models learn (short pairs, a fixed-size subset), chosen and
written a chunk of the training split at a time (memkd.study.study_rows)."""

import logging

import numpy as np

from memkd.errors import InputError
from memkd.io import iter_chunks, table_columns, write_tsv_chunks_atomic
from memkd.rulerun import run
from memkd.study import check_study_size, study_rows
from memkd.tokenizer import load


def main():
    lang1, lang2 = snakemake.params.languages
    path, settings = snakemake.input.train, snakemake.params.settings
    columns = table_columns(path)
    missing = [c for c in ["id", lang1, lang2] if c not in columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {columns}")
    rows, training_pairs = study_rows(iter_chunks(path, ["id", lang1, lang2]), lang1, lang2,
                                      load(snakemake.input.spm), settings["max_subwords"], settings["max_pairs"],
                                      snakemake.params.salt)
    check_study_size(len(rows), training_pairs, settings)

    def chosen():
        start = 0
        for chunk in iter_chunks(path, columns):
            low, high = np.searchsorted(rows, [start, start + len(chunk)])
            yield chunk.iloc[rows[low:high] - start]
            start += len(chunk)

    write_tsv_chunks_atomic(snakemake.output[0], chosen())
    logging.info("study pairs: %d of %d training pairs (settings %s)", len(rows), training_pairs, dict(settings))


run(main, snakemake.log[0])
