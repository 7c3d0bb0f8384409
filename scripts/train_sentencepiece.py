"""Rule train_sentencepiece: a joint subword model on both sides of the training split."""

import logging

from memkd.io import read_columns
from memkd.rulerun import run
from memkd.tokenizer import train_sentencepiece


def main():
    lang1, lang2 = snakemake.params.languages
    train = read_columns(snakemake.input.train, [lang1, lang2])
    texts = train[lang1].tolist() + train[lang2].tolist()
    settings = dict(snakemake.params.settings)
    train_sentencepiece(texts, snakemake.output.model, settings, snakemake.params.seed)
    sample = settings["input_sentence_size"]
    logging.info("trained SentencePiece on %d of %d lines with %d threads",
                 len(texts) if sample is None else min(sample, len(texts)), len(texts), settings["threads"])


run(main, snakemake.log[0])
