"""Rule download_file: fetch one public file (e.g. a WMT20 corpus) into resources/downloads/."""

import logging

from memkd.corpora.wmt20 import download
from memkd.rulerun import run


def main():
    download(snakemake.params.url, snakemake.output[0])
    logging.info("downloaded %s -> %s", snakemake.params.url, snakemake.output[0])


run(main, snakemake.log[0])
