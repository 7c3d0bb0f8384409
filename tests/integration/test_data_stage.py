"""The data stage of the real DAG: Debian SWORD packages -> aligned verses -> splits -> SentencePiece."""

import json
import re

import pandas as pd
import pytest
import yaml
import sentencepiece as spm

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration


def test_tiny_study_builds_splits_report_and_tokenizer(tiny_study):
    data = tiny_study / "results" / "data" / "bible"
    report = json.loads((data / "report.json").read_text())
    # the aligned corpus is the full Bible; the tiny config subsamples after splitting
    assert report["input_pairs"] > 31000
    assert report["splits"]["train"] == 2000 and report["splits"]["test"] == 100
    assert set(report["dropped"]) == {"undecodable", "empty", "too_long", "length_ratio", "identical"}
    stats = json.loads((tiny_study / "results" / "corpus" / "bible" / "stats.json").read_text())
    assert 150 <= stats["flagged"]["shift"] <= 170  # the ~160 versification shifts
    model = spm.SentencePieceProcessor(model_file=str(data / "spm.model"))
    assert model.vocab_size() == 1000
    for direction in ("en-es", "es-en"):
        train = pd.read_csv(data / direction / "train.tsv", sep="\t", dtype=str, keep_default_na=False)
        test = pd.read_csv(data / direction / "test.tsv", sep="\t", dtype=str, keep_default_na=False)
        assert list(train.columns[:3]) == ["id", "src", "tgt"]
        assert not set(train["src"]) & set(test["src"]), "identical sources must not straddle train/test"
    en_es = pd.read_csv(data / "en-es" / "train.tsv", sep="\t", dtype=str, keep_default_na=False)
    es_en = pd.read_csv(data / "es-en" / "train.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert (en_es["src"] == es_en["tgt"]).all()
    # WEB's glossary and Strong's tags are gone
    assert not en_es["src"].str.contains("<|strong:", regex=True).any()


def test_second_run_does_nothing(tiny_study):
    done = run_snakemake(tiny_study, "--dry-run", configs=[ROOT / "tests" / "config" / "tiny.yaml"])
    assert "Nothing to be done" in done.stdout + done.stderr


def test_lint_is_clean():
    done = run_snakemake(ROOT, "--lint", check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_are_snakefmt_formatted():
    import subprocess
    import sys
    from pathlib import Path

    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    done = subprocess.run([snakefmt, "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def planned(role: str, dry_run: str) -> bool:
    """A dry run plans a job with this role wildcard (the last wildcard of a job, or followed by others)."""
    return re.search(rf"role={role}(,|$)", dry_run, flags=re.MULTILINE) is not None


def test_every_default_variant_is_planned_and_null_variants_are_switched_off(tmp_path):
    """config.yaml trains every distillation variant, the fine-tuned teachers of Adaptive-SeqKD included; a config
    file that sets them to null (configs/no_variants.yaml, tiny.yaml) drops their jobs."""
    default = run_snakemake(tmp_path, "--dry-run")
    variants = yaml.safe_load((ROOT / "config.yaml").read_text())["variants"]
    assert len(variants) == 10
    for role in [*variants, "teacher_quality", "teacher_random"]:
        assert planned(role, default.stdout), role
    for config in (ROOT / "configs" / "no_variants.yaml", ROOT / "tests" / "config" / "tiny.yaml"):
        core = run_snakemake(tmp_path, "--dry-run", configs=[config])
        assert not any(planned(role, core.stdout) for role in variants)
        assert planned("student", core.stdout) and "adaptive" not in core.stdout
