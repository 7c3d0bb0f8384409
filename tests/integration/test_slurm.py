"""The SLURM profile against a real single-node SLURM started (and stopped) by this test.

Every job of a small study goes through sbatch. Needs root (to start munge and the SLURM daemons),
as on CI; the scripts install Debian's slurmctld, slurmd, slurm-client and munge when missing.
"""

import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture(scope="module")
def slurm_workdir(tmp_path_factory):
    """One study folder for the module: the second test reuses the first one's data stage."""
    return tmp_path_factory.mktemp("slurm-study")


def slurm_command(workdir: Path, configs: list[Path], *targets: str) -> list[str]:
    return [
        "timeout", "-s", "INT", "-k", "30", "1500",  # a waiting snakemake stops on SIGINT, not SIGTERM
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(ROOT / "config.yaml"), str(ROOT / "tests/config/tiny.yaml"), *map(str, configs),
        "--profile", str(ROOT / "profiles" / "slurm"),
        "--jobs", "10", "--latency-wait", "10",
        # this test cluster has no slurmdbd (no sacct): poll squeue instead
        "--memkd-slurm-status-command", "squeue", "--memkd-slurm-init-seconds-before-status-checks", "10",
        "--memkd-slurm-keep-successful-logs", "--memkd-slurm-logdir", str(workdir / "slurm-logs"),
        *targets,
    ]


class SlurmQueueWatcher(threading.Thread):
    """Polls squeue while a run goes on: the time limit and memory SLURM gave each job (finished jobs leave the
    controller after MinJobAge, so they are read while queued or running)."""

    def __init__(self, env: dict):
        super().__init__(daemon=True)
        self.env, self.seen, self.stop = env, {}, threading.Event()

    def run(self):
        while not self.stop.is_set():
            queue = subprocess.run(["squeue", "-h", "-o", "%i|%l|%m"], env=self.env, capture_output=True, text=True)
            for line in queue.stdout.splitlines():
                job, limit, memory = line.strip().split("|")
                self.seen[job] = (minutes(limit), memory)
            self.stop.wait(1)


def minutes(limit: str) -> int | str:
    """squeue's time limit ([D-]HH:MM:SS or MM:SS) in minutes (UNLIMITED and the like as they are)."""
    if not re.fullmatch(r"(\d+-)?[\d:]+", limit):
        return limit
    days, _, clock = limit.rpartition("-")
    parts = [int(x) for x in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return int(days or 0) * 1440 + parts[0] * 60 + parts[1] + (parts[2] > 0)


def printed_jobs(output: str) -> dict[str, dict]:
    """Snakemake job id -> rule, wildcards and resources as Snakemake printed them when it submitted the job."""
    jobs = {}
    for rule, body in re.findall(r"\nrule (\w+):\n((?:    .*\n)+)", output):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        if "jobid" in fields:
            jobs[fields["jobid"]] = {
                "rule": rule,
                "wildcards": dict(kv.split("=", 1) for kv in fields.get("wildcards", "").split(", ") if "=" in kv),
                "resources": dict(kv.split("=", 1) for kv in fields.get("resources", "").split(", ") if "=" in kv),
            }
    return jobs


def test_tiny_study_through_sbatch(local_slurm, slurm_workdir, tmp_path, capsys):
    workdir = slurm_workdir
    smaller = write_config(tmp_path / "one_direction.yaml", {"directions": ["en-es"], "decoding": {
        "seqkd": "greedy", "evaluation": ["greedy"], "max_tokens": 2000, "max_len_a": 1.2, "max_len_b": 5}})
    # the NMT chain (data, T, SeqKD, S, B, evaluation) and counterfactual memorization (M CM models)
    command = slurm_command(
        workdir, [smaller], "results/tables/bible/translation_quality.tsv", "results/cm/bible/en-es/seed1/examples.tsv"
    )
    watcher = SlurmQueueWatcher(local_slurm)
    watcher.start()
    try:
        done = subprocess.run(command, env=local_slurm, capture_output=True, text=True)
    finally:
        watcher.stop.set()
        watcher.join()
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    (workdir / "snakemake.out").write_text(output)
    single = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))
    with capsys.disabled():  # into the CI log, whatever pytest captures
        print(f"\nSLURM job ids submitted through sbatch: {' '.join(single.values())}")
    assert (workdir / "results/tables/bible/translation_quality.tsv").exists()
    assert (workdir / "results/models/bible/en-es/seed1/student/model.safetensors").exists()
    assert (workdir / "results/cm/bible/en-es/seed1/examples.tsv").exists()
    submitted_rules = set(re.findall(r"rule (\w+):", output)) - {"all"}
    assert {"fetch_debian_package", "train_model", "translate_model", "evaluate"} <= submitted_rules
    # unsharded, no rule of this study is sent as a job array (profiles/slurm arrays the shard rules only)
    assert "SLURM array task" not in output
    jobs = printed_jobs(output)
    assert set(single) == set(jobs) and len(jobs) > 10, "every job must go through sbatch"
    # the teacher and the baseline, ready together, are two SLURM jobs, each with the time limit and memory that
    # Snakemake computed for it
    trainings = {
        job["wildcards"]["role"]: snakemake_id for snakemake_id, job in jobs.items()
        if job["rule"] == "train_model" and job["wildcards"].get("seed") == "1"
    }
    assert {"teacher", "baseline"} <= trainings.keys(), trainings
    assert single[trainings["teacher"]] != single[trainings["baseline"]]
    checked = 0
    for snakemake_id, slurm_id in single.items():
        if slurm_id not in watcher.seen:  # a job too short for a poll
            continue
        resources = jobs[snakemake_id]["resources"]
        assert watcher.seen[slurm_id] == (int(resources["runtime"]), f"{resources['mem_mb']}M"), (
            jobs[snakemake_id], watcher.seen[slurm_id])
        checked += 1
    assert single[trainings["teacher"]] in watcher.seen and single[trainings["baseline"]] in watcher.seen
    with capsys.disabled():
        print(f"SLURM time limit and memory equal Snakemake's resources for {checked} of {len(single)} jobs")
    slurm_logs = list((workdir / "slurm-logs").rglob("*.log"))
    assert slurm_logs, "SLURM wrote no job logs"


def test_scancelled_training_resumes_from_its_checkpoint_on_retry(local_slurm, slurm_workdir, tmp_path, capsys):
    """scancel a training job mid-run: the profile's retry resubmits it and training resumes from the checkpoint."""
    workdir = slurm_workdir
    tiny = yaml.safe_load((ROOT / "tests/config/tiny.yaml").read_text())["training"]["teacher"]
    longer = write_config(tmp_path / "longer.yaml", {
        "directions": ["en-es"],
        "training": {"teacher": {**tiny, "epochs": 100, "checkpoint_every": 10, "log_every": 10}},
    })
    target = "results/models/bible/en-es/seed7/teacher"
    checkpoint = workdir / "checkpoints/bible/en-es/seed7/teacher/last.pt"
    output_file = tmp_path / "snakemake.out"
    with open(output_file, "w") as out:
        process = subprocess.Popen(
            slurm_command(workdir, [longer], target), env=local_slurm, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.time() + 900
            while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
                time.sleep(1)
            assert checkpoint.exists(), "no checkpoint was written:\n" + output_file.read_text()[-4000:]
            queue = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], env=local_slurm, capture_output=True, text=True)
            running = [line.split()[0] for line in queue.stdout.splitlines() if line.split()[-1] == "RUNNING"]
            assert len(running) == 1, queue.stdout
            subprocess.run(["scancel", running[0]], env=local_slurm, check=True)
            process.wait(timeout=900)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=60)
    output = output_file.read_text()
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    with capsys.disabled():
        print(f"\nscancelled SLURM job {running[0]}; SLURM job ids of this run: {' '.join(submitted)}")
    assert len(submitted) >= 2, "the cancelled training job must have been resubmitted"
    assert process.returncode == 0, output[-6000:]
    log = (workdir / "logs/train_model/bible/en-es/seed7/teacher.log").read_text()
    assert "resumed from checkpoint" in log, log[-3000:]
    assert (workdir / target / "model.safetensors").exists()
