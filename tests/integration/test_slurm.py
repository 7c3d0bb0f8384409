"""The SLURM profile against a real single-node SLURM started (and stopped) by this test.

Every job of a small study goes through sbatch. Needs root (to start munge and the SLURM daemons),
as on CI; the scripts install Debian's slurmctld, slurmd, slurm-client and munge when missing.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT, write_config

pytestmark = pytest.mark.integration
SCRIPTS = ROOT / "tests" / "slurm"


@pytest.fixture(scope="module")
def local_slurm():
    if os.geteuid() != 0:
        pytest.skip("starting a local SLURM needs root")
    # munged wants every folder above its socket executable by all; pytest's tmp folders are 0700
    base = Path(tempfile.mkdtemp(prefix="memkd-slurm-"))
    base.chmod(0o755)
    env = {**os.environ, "LOCAL_SLURM_DIR": str(base)}
    started = subprocess.run([str(SCRIPTS / "start_local_slurm.sh")], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        stopped = subprocess.run([str(SCRIPTS / "stop_local_slurm.sh")], env=env, capture_output=True, text=True)
        print(stopped.stdout)
        for daemon in ("slurmd", "slurmctld", "munged"):
            assert not (base / "run" / f"{daemon}.pid").exists(), f"{daemon} was not stopped"
        shutil.rmtree(base, ignore_errors=True)


def test_tiny_study_through_sbatch(local_slurm, tmp_path, capsys):
    workdir = tmp_path / "work"
    workdir.mkdir()
    smaller = write_config(tmp_path / "one_direction.yaml", {"directions": ["en-es"], "decoding": {
        "seqkd": "greedy", "evaluation": ["greedy"], "max_tokens": 2000, "max_len_a": 1.2, "max_len_b": 5}})
    command = [
        "timeout", "-s", "INT", "-k", "30", "1500",  # a waiting snakemake stops on SIGINT, not SIGTERM
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(ROOT / "config.yaml"), str(ROOT / "tests/config/tiny.yaml"), str(smaller),
        "--profile", str(ROOT / "profiles" / "slurm"),
        "--jobs", "2", "--latency-wait", "10",
        # this test cluster has no slurmdbd (no sacct): poll squeue instead
        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "10",
        "--slurm-keep-successful-logs", "--slurm-logdir", str(workdir / "slurm-logs"),
        # the NMT chain (data, T, SeqKD, S, B, evaluation); the memorization stage runs in the local tests
        "results/tables/bible/translation_quality.tsv",
    ]
    done = subprocess.run(command, env=local_slurm, capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    job_ids = re.findall(r"SLURM (?:jobid|run ID)[: ]+(\d+)", output)
    with capsys.disabled():  # into the CI log, whatever pytest captures
        print(f"\nSLURM job ids submitted through sbatch: {' '.join(job_ids)}")
    assert (workdir / "results/tables/bible/translation_quality.tsv").exists()
    assert (workdir / "results/models/bible/en-es/seed1/student/model.safetensors").exists()
    submitted_rules = set(re.findall(r"rule (\w+):", output)) - {"all"}
    assert {"fetch_debian_package", "train_model", "translate", "evaluate"} <= submitted_rules
    assert len(job_ids) >= len(re.findall(r"\nrule (?!all)\w+:", output)) > 10, "every job must go through sbatch"
    slurm_logs = list((workdir / "slurm-logs").rglob("*.log"))
    assert slurm_logs, "SLURM wrote no job logs"
