"""Rule tokenize_pairs: a table of pairs tokenized once into a token store (memkd.data), which every training job on
that table maps into memory instead of tokenizing the table itself."""

import logging

from memkd.data import write_token_store
from memkd.rulerun import run
from memkd.tokenizer import load


def main():
    inputs = snakemake.input
    description = write_token_store(load(inputs.spm), inputs.pairs, snakemake.output[0], inputs.spm)
    logging.info("%d pairs: %d source and %d target tokens (</s> included, untruncated)", description["pairs"],
                 description["tokens"]["source"], description["tokens"]["target"])


run(main, snakemake.log[0])
