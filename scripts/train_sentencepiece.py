"""Rule train_sentencepiece: a joint subword model on both sides of the training split."""

import logging

from memkd.rulerun import run
from memkd.tokenizer import sample_table_sentences, train_sentencepiece


def main():
    settings = dict(snakemake.params.settings)
    # the sample is drawn as the table is read: a corpus of millions of pairs is not held for a sample of 100k
    texts, total = sample_table_sentences(snakemake.input.train, list(snakemake.params.languages),
                                          settings["input_sentence_size"], snakemake.params.seed)
    train_sentencepiece(texts, snakemake.output.model, settings, snakemake.params.seed)
    logging.info("trained SentencePiece on %d of %d lines with %d threads", len(texts), total, settings["threads"])


run(main, snakemake.log[0])
