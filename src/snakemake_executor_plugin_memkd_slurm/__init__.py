"""memkd's SLURM executor (`executor: memkd-slurm`): snakemake-executor-plugin-slurm 2.8.0 with job arrays that work.

Everything is the stock plugin's (its settings too, under the prefix `memkd-slurm-`: `--memkd-slurm-status-command`,
`--memkd-slurm-array-jobs`, ...) except how the rules named in `array-jobs` are submitted:

- Every array task runs its own job's command and checks its own outputs. The stock plugin submits the first job's
  command for every task and hands the others theirs as a payload, so each task's outer Snakemake waits for the
  FIRST job's outputs: when the first task is late or killed, the other tasks fail and Snakemake deletes their
  finished outputs (upstream issue snakemake/snakemake-executor-plugin-slurm#447, open in 2.8.0). Here the batch
  script is a `case` over SLURM_ARRAY_TASK_ID with each job's own command.
- An array holds only jobs whose sbatch request is identical (time, memory, CPUs, GPUs, partition, account, ...).
  The stock plugin gives every task the first job's request; with resources that follow the input, a shorter last
  shard or a 2-GPU teacher next to a 1-GPU model would get the wrong one. A job whose request nobody shares is
  submitted alone, as without arrays.
- Every job Snakemake hands over is submitted at once. The stock plugin holds back an array-selected rule's jobs
  until they are at least as many as that rule's other ready jobs; but Snakemake has already counted the handed-over
  jobs as running, so whenever it hands over a part (a `jobs:` limit below the number of ready shards), those jobs
  are never submitted and the run waits forever.
- Status through sacct reads JobID (`<array>_<task>`, what each task is registered as), not JobIDRaw (each task's own
  number, which the stock lookup cannot match and so falls back to the array's id, the record of one other task).

Drop this package for the stock plugin once upstream fixes #447 and groups arrays by request.
"""

import asyncio
import re
import subprocess
from typing import List

import snakemake_executor_plugin_slurm as stock
from snakemake_executor_plugin_slurm import ExecutorSettings, common_settings  # noqa: F401 (the plugin's interface)
from snakemake_executor_plugin_slurm.submit_string import get_submit_command
from snakemake_executor_plugin_slurm.utils import set_gres_string
from snakemake_executor_plugin_slurm.validation import validate_or_get_slurm_job_id, validate_slurm_extra
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface

STOCK_SACCT_QUERY = stock.query_job_status_sacct


def array_script(commands: List[str]) -> str:
    """The batch script of one array: task i (from 1) runs commands[i - 1], and only that."""
    lines = ["#!/bin/sh", 'case "$SLURM_ARRAY_TASK_ID" in']
    lines += [f"{task})\n{command}\n;;" for task, command in enumerate(commands, start=1)]
    lines += ['*) echo "memkd-slurm: no command for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1;;', "esac"]
    return "\n".join(lines) + "\n"


def same_request_runs(requests: List[str]) -> List[List[int]]:
    """Indices of the jobs grouped by identical sbatch request, in order of first appearance."""
    order = {}
    for index, request in enumerate(requests):
        order.setdefault(request, []).append(index)
    return list(order.values())


def sacct_status_by_task_id(runid) -> str:
    """The stock sacct status query with JobID in place of JobIDRaw: array tasks print as `<array>_<task>`."""
    stock_command = STOCK_SACCT_QUERY(runid)
    command, replaced = re.subn(r"--format=JobIdRaw,State", "--format=JobID,State", stock_command)
    if replaced != 1:  # a plugin whose query changed: keep it rather than guess
        return stock_command
    return command


class Executor(stock.Executor):
    def run_jobs(self, jobs: List[JobExecutorInterface]):
        """Submit every job now: the array-selected ones in arrays per rule (and request), the others alone."""
        if self._main_event_loop is None:
            try:
                self._main_event_loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
        arrayed = {}
        for job in jobs:
            if not job.is_group() and ("all" in self.array_jobs or job.rule.name in self.array_jobs):
                arrayed.setdefault(job.rule.name, []).append(job)
            else:
                self._submit_job(job)
        for same_rule in arrayed.values():
            if len(same_rule) == 1:
                self._submit_job(same_rule[0])
            else:
                self._submit_array_jobs(same_rule)

    def run_array_jobs(self, jobs: List[JobExecutorInterface]):
        """Arrays of the jobs that ask for the same thing; a job alone in its request is a plain sbatch job."""
        try:
            requests = [self._request(job) for job in jobs]
        except Exception as error:  # as the stock plugin: report the jobs failed, never hang the run
            for job in jobs:
                self._report_job_error_threadsafe(SubmittedJobInfo(job), f"Job submission failed: {error}")
            return
        for indices in same_request_runs(requests):
            group = [jobs[i] for i in indices]
            if len(group) == 1:
                self.run_job(group[0])
                continue
            for start in range(0, len(group), self.max_array_size):
                self._submit_array(group[start : start + self.max_array_size])

    def _request(self, job: JobExecutorInterface) -> str:
        """The sbatch options that decide what a job gets (not its log file, name or comment)."""
        validate_slurm_extra(job)
        params = {
            "run_uuid": self.run_uuid, "slurm_logfile": "LOG", "comment_str": "COMMENT",
            "account": next(self.get_account_arg(job)), "partition": self.get_partition_arg(job),
            "workdir": self.workflow.workdir_init,
        }
        command = get_submit_command(job, params, settings=self.workflow.executor_settings,
                                     failed_nodes=self._failed_nodes)
        return command + set_gres_string(job)

    def _submit_array(self, jobs: List[JobExecutorInterface]):
        rule = jobs[0].rule.name
        logdir = self.slurm_logdir / f"rule_{rule}"
        logdir.mkdir(parents=True, exist_ok=True)
        params = {
            "run_uuid": self.run_uuid, "slurm_logfile": logdir / "%A_%a.log", "comment_str": f"rule_{rule}_array",
            "account": next(self.get_account_arg(jobs[0])), "partition": self.get_partition_arg(jobs[0]),
            "workdir": self.workflow.workdir_init,
        }
        call = get_submit_command(jobs[0], params, settings=self.workflow.executor_settings,
                                  failed_nodes=self._failed_nodes)
        call += set_gres_string(jobs[0]) + f" --array=1-{len(jobs)} /dev/stdin"
        script = array_script([self.format_job_exec(job) for job in jobs])
        self.logger.debug(f"sbatch call: {call}\nsbatch script:\n{script}")
        try:
            done = subprocess.run(call, shell=True, text=True, input=script, capture_output=True)
            if done.returncode != 0 or "submission failed" in done.stderr:
                raise RuntimeError(f"sbatch failed: {done.stderr.strip()}\n    sbatch call: {call}")
            array_id = validate_or_get_slurm_job_id(done.stdout.strip().split(";")[0], done.stdout)
        except Exception as error:
            for job in jobs:
                self._report_job_error_threadsafe(SubmittedJobInfo(job), f"SLURM array submission failed: {error}")
            return
        cluster = jobs[0].resources.get("cluster") or jobs[0].resources.get("clusters") or jobs[0].resources.get(
            "slurm_cluster")
        if cluster:
            self._submitted_job_clusters.add(cluster)
        for task, job in enumerate(jobs, start=1):
            task_id = f"{array_id}_{task}"
            log = logdir / f"{task_id}.log"
            self.logger.info(f"Job {job.jobid} has been submitted as SLURM array task {task_id} (log: {log}).")
            self._report_job_submission_threadsafe(
                SubmittedJobInfo(job, external_jobid=task_id, aux={"slurm_logfile": log})
            )

    async def check_active_jobs(self, active_jobs):
        # the stock status loop with the sacct query by task id; one executor runs per Snakemake process
        stock.query_job_status_sacct = sacct_status_by_task_id
        try:
            async for job in super().check_active_jobs(active_jobs):
                yield job
        finally:
            stock.query_job_status_sacct = STOCK_SACCT_QUERY
