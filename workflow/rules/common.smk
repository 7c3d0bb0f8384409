from snakemake.utils import validate

from memkd.config import check_config, corpus_inputs, wmt20_download_url

# Validate first: a bad config stops the run before any job, with a message naming the key.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)

CORPUS = config["corpus"]
SPLITS = ["train", "dev", "test", "probe"]
PAIR_DIRECTIONS = [d.split("-") for d in config["directions"]]


wildcard_constraints:
    corpus=r"[A-Za-z0-9_]+",
    package=r"[a-z0-9][a-z0-9.+-]+",
    split="train|dev|test|probe",
    src=r"[a-z]{2,3}",
    tgt=r"[a-z]{2,3}",
    filename=r"[^/]+",


def data_targets():
    """What the data stage delivers for the configured corpus."""
    base = f"results/data/{CORPUS}"
    return [f"{base}/report.json", f"{base}/spm.model"] + [
        f"{base}/{src}-{tgt}/{split}.tsv"
        for src, tgt in PAIR_DIRECTIONS
        for split in SPLITS
    ]


def extract_inputs(wildcards):
    """Downloads and user files the corpus is built from (depends on its kind)."""
    return corpus_inputs(wildcards.corpus, config)


def download_url(wildcards):
    return wmt20_download_url(wildcards.corpus, wildcards.filename, config)


def corpus_settings(wildcards):
    return config["corpora"][wildcards.corpus]


def corpus_languages(wildcards):
    return config["corpora"][wildcards.corpus]["languages"]
