"""profiles/slurm submits no job arrays: in snakemake-executor-plugin-slurm 2.8.0 every array task checks the first
task's outputs (upstream issue #447) and all tasks get the first job's resources. The real-SLURM check is
tests/integration/test_slurm.py (needs root); this one runs everywhere."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_slurm_profile_submits_no_job_arrays():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert not profile.get("slurm-array-jobs"), "job arrays lose finished outputs with plugin 2.8.0 (issue #447)"
    assert "#447" in (ROOT / "profiles" / "slurm" / "config.yaml").read_text()  # the reason stays next to the setting


def test_every_slurm_job_runs_on_one_node():
    """A multi-GPU training spawns its processes in one job and joins them over 127.0.0.1 (memkd.distributed):
    sbatch --gpus=N without --nodes=1 could spread the GPUs over nodes the processes never reach."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["default-resources"]["nodes"] == 1
    assert "127.0.0.1" in (ROOT / "src" / "memkd" / "distributed.py").read_text()
