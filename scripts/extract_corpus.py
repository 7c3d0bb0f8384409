"""Rule extract_corpus: read the corpus' sources into one aligned table (id, lang1, lang2, flags)."""

import logging

from memkd.corpora.load import load_corpus
from memkd.io import write_json_atomic, write_tsv_atomic
from memkd.rulerun import run


def main():
    frame, stats = load_corpus(snakemake.wildcards.corpus, snakemake.params.corpus, list(snakemake.input))
    write_tsv_atomic(snakemake.output.aligned, frame)
    write_json_atomic(snakemake.output.stats, stats)
    logging.info("%s: %d aligned pairs", snakemake.wildcards.corpus, len(frame))


run(main, snakemake.log[0])
