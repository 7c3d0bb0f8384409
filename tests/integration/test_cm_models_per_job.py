"""counterfactual.models_per_job: a direction and seed's CM models trained in one job (train_cm_models, `all`) are
the models that one job per model (train_model, `1`) trains, byte for byte, in the same folders; a merged job killed
part-way keeps the models it finished and resumes the one it was training."""

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from .conftest import ROOT, SNAKEMAKE, run_snakemake, write_config
from .test_memorization import scheduled_jobs

pytestmark = pytest.mark.integration
TINY = ROOT / "tests" / "config" / "tiny.yaml"
BASE = "bible/en-es/seed1"
ROLES = ["cm00", "cm01", "cm02", "cm03"]  # tiny.yaml: 4 CM models
TARGETS = [f"results/models/{BASE}/{role}" for role in ROLES]


def _configs(tmp_path, per_job):
    import yaml

    training = yaml.safe_load(TINY.read_text())["training"]["cm"]
    # 10 epochs (~50 steps a model, a checkpoint every 5): long enough to kill the job while it trains cm01
    extra = write_config(tmp_path / f"per_job_{per_job}.yaml", {
        "directions": ["en-es"],
        "training": {"cm": {**training, "epochs": 10}},
        "counterfactual": {"models": 4, "score_base": "e", "models_per_job": per_job},
    })
    return [TINY, extra]


def _without_timing(frame_or_summary):
    if isinstance(frame_or_summary, pd.DataFrame):
        return frame_or_summary.drop(columns=["tokens_per_s"])
    return {k: v for k, v in frame_or_summary.items() if k != "train_seconds_this_run"}


def test_cm_models_in_one_job_equal_one_job_each_and_resume(tmp_path):
    merged, separate = tmp_path / "merged", tmp_path / "separate"
    merged.mkdir()
    configs_all, configs_one = _configs(tmp_path, "all"), _configs(tmp_path, 1)

    planned = scheduled_jobs(run_snakemake(merged, *TARGETS, "--dry-run", configs=configs_all).stdout)
    assert planned.get("train_cm_models") == 1 and "train_model" not in planned, planned
    planned_one = scheduled_jobs(run_snakemake(merged, *TARGETS, "--dry-run", configs=configs_one).stdout)
    assert planned_one.get("train_model") == 4 and "train_cm_models" not in planned_one, planned_one

    # the merged job, SIGKILLed with the whole workflow once cm00 is finished and cm01 has a checkpoint
    run_snakemake(merged, f"results/cm/{BASE}/design.tsv", configs=configs_all)  # data stage and design first
    checkpoints = merged / "checkpoints" / BASE
    command = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(merged),
               "--configfile", str(ROOT / "config.yaml"), *map(str, configs_all), "--cores", "2", *TARGETS]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 600
        while not (checkpoints / "cm01" / "last.pt").exists() and time.time() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert (checkpoints / "cm01" / "last.pt").exists(), "cm01 wrote no checkpoint"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert (checkpoints / "cm00" / "finished.json").exists() and (checkpoints / "cm00" / "finished").is_dir()
    assert not any((merged / target).exists() for target in TARGETS), "no model is in results/ before all are done"

    run_snakemake(merged, "--unlock", configs=configs_all)
    rerun = run_snakemake(merged, "--rerun-incomplete", *TARGETS, configs=configs_all)
    assert "rule train_cm_models" in rerun.stdout + rerun.stderr
    logs = merged / "logs" / "train_cm_models" / BASE  # a log per model beside the job's (BASE.log)
    assert "trained by an earlier run of this job" in (logs / "cm00.log").read_text()
    assert "resumed from checkpoint" in (logs / "cm01.log").read_text()
    for role in ("cm02", "cm03"):
        log = (logs / f"{role}.log").read_text()
        assert "training:" in log and "resumed" not in log and "earlier run" not in log
    assert "saved 4 models" in (merged / "logs" / "train_cm_models" / f"{BASE}.log").read_text()
    assert (merged / "benchmarks" / "train_cm_models" / f"{BASE}.tsv").exists()
    assert not list(checkpoints.rglob("finished*")) and not list(checkpoints.rglob("last.pt"))
    nothing = run_snakemake(merged, *TARGETS, "--dry-run", configs=configs_all)
    assert "Nothing to be done" in nothing.stdout + nothing.stderr

    # the same models, one train_model job each, from the same data (a copy of the folder without the models)
    shutil.copytree(merged, separate, symlinks=True)
    for target in TARGETS:
        shutil.rmtree(separate / target)
    done = run_snakemake(separate, *TARGETS, configs=configs_one)
    ran = scheduled_jobs(done.stdout + done.stderr)
    assert ran.get("train_model") == 4 and "train_cm_models" not in ran, ran
    for target in TARGETS:
        a, b = merged / target, separate / target
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes(), target
        log_a, log_b = (pd.read_csv(f / "training_log.tsv", sep="\t") for f in (a, b))
        pd.testing.assert_frame_equal(_without_timing(log_a), _without_timing(log_b), check_exact=True)
        summary_a, summary_b = (json.loads((f / "training_summary.json").read_text()) for f in (a, b))
        assert _without_timing(summary_a) == _without_timing(summary_b)
    seeds = {json.loads((merged / t / "training_summary.json").read_text())["seed"] for t in TARGETS}
    assert len(seeds) == 4  # each model its own seed, as in train_model
