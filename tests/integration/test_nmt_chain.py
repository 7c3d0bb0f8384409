"""Teacher -> SeqKD decoding -> student -> evaluation on the tiny config, and resume after a kill."""

import os
import signal
import subprocess
import time

import pandas as pd
import pytest
from transformers import MarianMTModel

from .conftest import ROOT, SNAKEMAKE, run_snakemake, write_config

pytestmark = pytest.mark.integration
TINY = ROOT / "tests" / "config" / "tiny.yaml"


def _read(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_quality_table_has_every_model_direction_and_decoding(tiny_study):
    table = pd.read_csv(tiny_study / "results" / "tables" / "bible" / "translation_quality.tsv", sep="\t")
    assert len(table) == 2 * 3 * 2  # directions x roles x decodings
    assert set(table["role"]) == {"teacher", "baseline", "student"}
    assert set(table["decoding"]) == {"greedy", "beam2"}
    assert table["bleu_signature"].str.contains("tok:13a").all()
    assert table["decoding_signature"].str.startswith("decode:").all()
    assert (table["sentences_per_s"] > 0).all()
    teacher = table[table["role"] == "teacher"]["parameters"].iloc[0]
    student = table[table["role"] == "student"]["parameters"].iloc[0]
    assert teacher > student


def test_student_learns_the_teachers_translations(tiny_study):
    base = tiny_study / "results"
    for direction in ("en-es", "es-en"):
        study = _read(base / "data" / "bible" / direction / "study_train.tsv")
        seqkd = _read(base / "seqkd" / "bible" / direction / "seed1" / "greedy" / "train.tsv")
        teacher_out = (base / "translations" / "bible" / direction / "seed1" / "teacher" / "study_train.greedy.txt").read_text().splitlines()
        assert len(study) == 300 and list(seqkd["src"]) == list(study["src"])
        assert list(seqkd["tgt"]) == teacher_out
        assert list(seqkd["reference"]) == list(study["tgt"])
        for role in ("teacher", "baseline", "student"):
            lines = (base / "translations" / "bible" / direction / "seed1" / role / "study_train.greedy.txt").read_text().splitlines()
            assert len(lines) == len(study), role


def test_saved_models_load_with_transformers_and_carry_their_tokenizer(tiny_study):
    folder = tiny_study / "results" / "models" / "bible" / "en-es" / "seed1" / "student"
    assert (folder / "model.safetensors").exists() and (folder / "spm.model").exists()
    model = MarianMTModel.from_pretrained(folder)
    assert model.config.d_model == 32
    assert not (tiny_study / "checkpoints" / "bible" / "en-es" / "seed1" / "student" / "last.pt").exists()


def test_killed_training_resumes_from_its_checkpoint(tiny_study, tmp_path):
    """SIGKILL the whole workflow while a teacher trains; the rerun resumes from the last checkpoint."""
    longer = write_config(
        tmp_path / "longer.yaml",
        {"training": {"teacher": {**_tiny_training(), "epochs": 40, "checkpoint_every": 10, "log_every": 10}}},
    )
    target = "results/models/bible/en-es/seed7/teacher"
    checkpoint = tiny_study / "checkpoints" / "bible" / "en-es" / "seed7" / "teacher" / "last.pt"
    command = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tiny_study),
               "--configfile", str(ROOT / "config.yaml"), str(TINY), str(longer), "--cores", "2", target]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
            time.sleep(0.5)
        assert checkpoint.exists(), "no checkpoint was written"
        time.sleep(1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not (tiny_study / target).exists(), "a killed job must not leave an output that looks complete"

    run_snakemake(tiny_study, "--unlock", configs=[TINY, longer])
    run_snakemake(tiny_study, "--rerun-incomplete", target, configs=[TINY, longer])
    log = (tiny_study / "logs" / "train_model" / "bible" / "en-es" / "seed7" / "teacher.log").read_text()
    assert "resumed from checkpoint" in log
    assert (tiny_study / target / "model.safetensors").exists()
    assert not checkpoint.exists()


def _tiny_training():
    import yaml

    return yaml.safe_load(TINY.read_text())["training"]["teacher"]
