"""profiles/slurm and its executor, memkd-slurm (src/snakemake_executor_plugin_memkd_slurm): the stock SLURM plugin
whose job arrays run each task's own job and hold only jobs with one sbatch request. The real-SLURM checks are in
tests/integration (test_slurm.py, test_sharding.py; they need root); these run everywhere."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

import snakemake_executor_plugin_memkd_slurm as memkd_slurm

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"


def test_the_slurm_profile_sends_the_shard_rules_as_arrays():
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "memkd-slurm"
    arrayed = set(profile["memkd-slurm-array-jobs"].split(","))
    rules = "\n".join(path.read_text() for path in (ROOT / "workflow" / "rules").glob("*.smk"))
    for rule in arrayed:  # every name is a rule, and a per-sentence shard rule
        assert f"rule {rule}:" in rules and rule.endswith("_shard"), rule
    shard_rules = {line.split()[1].rstrip(":") for line in rules.splitlines()
                   if line.strip().startswith("rule ") and line.strip().rstrip(":").endswith("_shard")}
    assert arrayed == shard_rules, "every shard rule, and only those, goes to SLURM as arrays"
    assert "#447" in PROFILE.read_text()  # the reason for the executor stays next to the setting


def test_every_slurm_job_runs_on_one_node():
    """A multi-GPU training spawns its processes in one job and joins them over 127.0.0.1 (memkd.distributed):
    sbatch --gpus=N without --nodes=1 could spread the GPUs over nodes the processes never reach."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["default-resources"]["nodes"] == 1
    assert "127.0.0.1" in (ROOT / "src" / "memkd" / "distributed.py").read_text()


@pytest.mark.parametrize("task, printed", [("1", "one\nand one\n"), ("2", "two\n"), ("3", "three\n")])
def test_each_array_task_runs_its_own_command_only(task, printed):
    script = memkd_slurm.array_script(["echo one && echo 'and one'", "echo two", "echo three"])
    ran = subprocess.run(["sh", "-c", script], env={**os.environ, "SLURM_ARRAY_TASK_ID": task},
                         capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, printed)


def test_an_array_task_fails_with_its_command_and_without_one():
    script = memkd_slurm.array_script(["exit 3", "true"])
    exit_code = lambda task: subprocess.run(["sh", "-c", script], env={**os.environ, "SLURM_ARRAY_TASK_ID": task},
                                            capture_output=True, text=True)
    assert exit_code("1").returncode == 3 and exit_code("2").returncode == 0
    unknown = exit_code("7")
    assert unknown.returncode == 1 and "no command for array task 7" in unknown.stderr


def test_arrays_hold_only_identical_requests_in_order():
    requests = ["-t 60 --mem 4000", "-t 61 --mem 4000", "-t 60 --mem 4000", "-t 60 --mem 4000 --gpus=1",
                "-t 61 --mem 4000"]
    assert memkd_slurm.same_request_runs(requests) == [[0, 2], [1, 4], [3]]
    assert memkd_slurm.same_request_runs([]) == []


def test_the_sacct_status_query_reads_array_task_ids():
    """sacct's JobIDRaw gives an array task its own number, which never equals `<array>_<task>` (what a task is
    registered as); JobID prints the latter, and a plain job's id alike."""
    command = memkd_slurm.sacct_status_by_task_id("RUN")
    assert "--format=JobID,State" in command and "JobIdRaw" not in command
    assert command.replace("JobID,State", "JobIdRaw,State") == memkd_slurm.STOCK_SACCT_QUERY("RUN")


def test_snakemake_finds_the_executor_with_the_stock_settings():
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
    import snakemake_executor_plugin_slurm as stock

    plugin = ExecutorPluginRegistry().get_plugin("memkd-slurm")
    assert issubclass(plugin.executor, stock.Executor)
    assert plugin._executor_settings_cls is stock.ExecutorSettings
    assert plugin.common_settings is stock.common_settings
