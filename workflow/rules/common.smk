from snakemake.utils import validate

from memkd.config import (
    check_config,
    corpus_inputs,
    library_version,
    wmt20_download_url,
)

# Validate first: a bad config stops the run before any job, with a message naming the key.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)

CORPUS = config["corpus"]
SPLITS = ["train", "dev", "test", "probe"]
PAIR_DIRECTIONS = [d.split("-") for d in config["directions"]]
ROLES = ["teacher", "baseline", "student"]
# Which preset (architecture and training settings) each role uses.
ROLE_PRESET = {"teacher": "teacher", "baseline": "student", "student": "student"}
# Snakemake reruns a job when its script changes but not when the library changes; these code
# versions in params make results follow the library modules they depend on.
CORPUS_CODE = library_version(
    "corpora/load.py",
    "corpora/bible.py",
    "corpora/sword.py",
    "corpora/lohelp.py",
    "corpora/usertsv.py",
    "corpora/wmt20.py",
    "preprocess.py",
)
PREPROCESS_CODE = library_version("preprocess.py")
TOKENIZER_CODE = library_version("tokenizer.py")
STUDY_CODE = library_version("study.py", "preprocess.py")
MODEL_CODE = library_version("model.py", "data.py", "train.py")
DECODE_CODE = library_version("model.py", "data.py", "decode.py")
EVALUATE_CODE = library_version("evaluate.py")


wildcard_constraints:
    corpus=r"[A-Za-z0-9_]+",
    package=r"[a-z0-9][a-z0-9.+-]+",
    split="train|dev|test|probe|study_train",
    role="teacher|baseline|student",
    decoding=r"greedy|beam[0-9]+",
    seed=r"[0-9]+",
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


def quality_targets():
    """Test-set quality of every model in one table, and every model's greedy translation of the
    whole training source (what the memorization metrics read)."""
    return [f"results/tables/{CORPUS}/translation_quality.tsv"] + [
        f"results/translations/{CORPUS}/{src}-{tgt}/seed{seed}/{role}/study_train.greedy.txt"
        for src, tgt in PAIR_DIRECTIONS
        for seed in config["seeds"]
        for role in ROLES
    ]


def evaluation_files(wildcards):
    return [
        f"results/metrics/{wildcards.corpus}/{src}-{tgt}/seed{seed}/{role}/test.{decoding}.json"
        for src, tgt in PAIR_DIRECTIONS
        for seed in config["seeds"]
        for role in ROLES
        for decoding in config["decoding"]["evaluation"]
    ]


def training_pairs(wildcards):
    """Teacher and baseline learn the study's pairs; the SeqKD student learns the teacher's translations."""
    base = f"{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}"
    if wildcards.role == "student":
        return f"results/seqkd/{base}/seed{wildcards.seed}/{config['decoding']['seqkd']}/train.tsv"
    return f"results/data/{base}/study_train.tsv"


def model_preset(wildcards):
    return config["models"][ROLE_PRESET[wildcards.role]]


def training_settings(wildcards):
    return config["training"][ROLE_PRESET[wildcards.role]]


def beam_size(wildcards):
    return 1 if wildcards.decoding == "greedy" else int(wildcards.decoding[4:])


def extract_inputs(wildcards):
    """Downloads and user files the corpus is built from (depends on its kind)."""
    return corpus_inputs(wildcards.corpus, config)


def download_url(wildcards):
    return wmt20_download_url(wildcards.corpus, wildcards.filename, config)


def corpus_settings(wildcards):
    return config["corpora"][wildcards.corpus]


def corpus_languages(wildcards):
    return config["corpora"][wildcards.corpus]["languages"]
