"""memkd.rulerun: a rule script's bad input ends the job with its message written once (the log, which Snakemake
prints under a failed job), not once in the log and again on stderr (the split-size error came twice)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
MESSAGE = "split 'test' holds 3 pairs, fewer than the 10 the study needs"
SCRIPT = f"""
import logging
from memkd.errors import InputError
from memkd.rulerun import run
def main():
    logging.info("reading the corpus")
    raise InputError({MESSAGE!r})
run(main, LOG)
"""


def script(log: str | None) -> list[str]:
    return [sys.executable, "-c", SCRIPT.replace("LOG", repr(log))]


def test_bad_input_goes_into_the_log_once_and_not_to_stderr_as_well(tmp_path):
    log = tmp_path / "job.log"
    done = subprocess.run(script(str(log)), capture_output=True, text=True)
    assert done.returncode == 1
    assert "reading the corpus" in done.stderr  # progress still shows while the job runs
    assert MESSAGE not in done.stderr
    text = log.read_text()
    assert text.count(MESSAGE) == 1 and "reading the corpus" in text


def test_without_a_log_bad_input_goes_to_stderr():
    done = subprocess.run(script(None), capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.count(MESSAGE) == 1


@pytest.mark.parametrize("profile", ["default", "one_gpu", "slurm"])
def test_every_profile_shows_a_failed_jobs_log(profile):
    assert yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())["show-failed-logs"] is True


def test_snakemake_with_the_default_profile_shows_the_message_once(tmp_path):
    (tmp_path / "fail.py").write_text(SCRIPT.replace("LOG", "snakemake.log[0]"))
    (tmp_path / "Snakefile").write_text('rule fail:\n    output: "out.txt"\n    log: "fail.log"\n    script: "fail.py"\n')
    done = subprocess.run([str(SNAKEMAKE), "--snakefile", str(tmp_path / "Snakefile"), "--directory", str(tmp_path),
                           "--workflow-profile", str(ROOT / "profiles" / "default"), "--cores", "1", "out.txt"],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert (done.stdout + done.stderr).count(MESSAGE) == 1
