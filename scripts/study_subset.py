"""Rule study_subset: the training pairs the study's models learn (short pairs, a fixed-size subset)."""

import logging

from memkd.io import read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.study import check_study_size, select_study_pairs
from memkd.tokenizer import load


def main():
    lang1, lang2 = snakemake.params.languages
    train = read_tsv(snakemake.input.train, columns=["id", lang1, lang2])
    settings = snakemake.params.settings
    chosen = select_study_pairs(
        train, lang1, lang2, load(snakemake.input.spm), settings["max_subwords"], settings["max_pairs"], snakemake.params.salt
    )
    check_study_size(len(chosen), len(train), settings)
    write_tsv_atomic(snakemake.output[0], chosen)
    logging.info("study pairs: %d of %d training pairs (settings %s)", len(chosen), len(train), dict(settings))


run(main, snakemake.log[0])
