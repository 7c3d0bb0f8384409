"""Rule extract_corpus: read the corpus' sources into one aligned table (id, lang1, lang2, flags), a chunk of rows
at a time (memkd.corpora.load.corpus_chunks): a user's TSV or WMT20 of tens of millions of pairs is never held."""

import logging

from memkd.corpora.load import corpus_chunks
from memkd.io import write_json_atomic, write_tsv_chunks_atomic
from memkd.rulerun import run


def main():
    chunks, stats = corpus_chunks(snakemake.wildcards.corpus, snakemake.params.corpus, list(snakemake.input))
    rows = write_tsv_chunks_atomic(snakemake.output.aligned, chunks)
    write_json_atomic(snakemake.output.stats, stats)
    logging.info("%s: %d aligned pairs", snakemake.wildcards.corpus, rows)


run(main, snakemake.log[0])
