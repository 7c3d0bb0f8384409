"""Rule train_sentencepiece: a joint subword model on both sides of the training split."""

import logging

from memkd.io import read_tsv
from memkd.rulerun import run
from memkd.tokenizer import train_sentencepiece


def main():
    lang1, lang2 = snakemake.params.languages
    train = read_tsv(snakemake.input.train, columns=[lang1, lang2])
    texts = train[lang1].tolist() + train[lang2].tolist()
    train_sentencepiece(texts, snakemake.output.model, dict(snakemake.params.settings), snakemake.params.seed)
    logging.info("trained SentencePiece on %d lines", len(texts))


run(main, snakemake.log[0])
