"""Sharded translation (config sharding.sentences): the same files as the unsharded job, byte for byte; off, the DAG
is today's; through profiles/slurm the shards are SLURM array tasks, and after one is killed the rerun redoes only it.

One module fixture runs the tiny config's data stage, trains one baseline (en-es) and translates its four splits the
usual way (translate_model); each test works in its own copy of that folder.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from memkd.shards import shard_ranges

from .conftest import ROOT, run_snakemake, write_config
from .test_slurm import local_slurm, minutes, printed_jobs, slurm_command  # noqa: F401 (local_slurm: the module fixture)

pytestmark = pytest.mark.integration
TINY = ROOT / "tests" / "config" / "tiny.yaml"
TRANSLATIONS = Path("results/translations/bible/en-es/seed1/baseline")
NAMES = ["study_train.greedy", "probe.greedy", "test.greedy", "test.beam2"]
PER_SHARD = 64  # the tiny study's (at most) 300 training pairs: 5 shards, the last one shorter


def targets(names=NAMES) -> list[str]:
    return [str(TRANSLATIONS / f"{name}.txt") for name in names]


def jobs_of(output: str, rule: str) -> list[dict]:
    """The wildcards of every job of `rule` that a Snakemake log lists."""
    jobs = []
    for block in re.split(r"\n(?=\[|rule |localrule |checkpoint |localcheckpoint )", output):
        if re.match(rf"(local)?(rule|checkpoint) {rule}:", block):
            found = re.search(r"wildcards: (.*)", block)
            jobs.append(dict(item.split("=", 1) for item in found.group(1).split(", ")) if found else {})
    return jobs


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory):
    """Data, a tiny en-es baseline and its four translations from translate_model (no sharding)."""
    workdir = tmp_path_factory.mktemp("sharding")
    one = write_config(workdir / "one_direction.yaml", {"directions": ["en-es"]})
    done = run_snakemake(workdir, *targets(), configs=[TINY, one])
    assert jobs_of(done.stdout + done.stderr, "translate_model"), "the unsharded run must use translate_model"
    return workdir


def copy_of(workdir: Path, tmp_path: Path) -> Path:
    """The fixture's folder with mtimes and Snakemake's metadata, so that nothing upstream is rerun."""
    copy = tmp_path / "work"
    shutil.copytree(workdir, copy, symlinks=True)
    return copy


def configs(workdir: Path, per_shard) -> list[Path]:
    return [TINY, workdir / "one_direction.yaml",
            write_config(workdir / f"sharding_{per_shard}.yaml", {"sharding": {"sentences": per_shard}})]


def test_sharding_off_is_todays_dag(unsharded, tmp_path):
    """sharding.sentences null (config.yaml) and 0 give the same jobs: translate_model, no plan, shard or gather."""
    workdir = copy_of(unsharded, tmp_path)
    shutil.rmtree(workdir / TRANSLATIONS)
    plans = {}
    for per_shard in (None, 0):
        done = run_snakemake(workdir, *targets(), "--dry-run", configs=configs(workdir, per_shard))
        output = done.stdout + done.stderr
        plans[per_shard] = re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], flags=re.M)
    assert plans[None] == plans[0] == [("translate_model", "1"), ("total", "1")], plans


def test_sharded_translations_equal_the_unsharded_ones(unsharded, tmp_path):
    workdir = copy_of(unsharded, tmp_path)
    before = {name: (workdir / TRANSLATIONS / f"{name}.txt").read_bytes() for name in NAMES}
    timing_before = {name: json.loads((workdir / TRANSLATIONS / f"{name}.json").read_text()) for name in NAMES}
    shutil.rmtree(workdir / TRANSLATIONS)

    done = run_snakemake(workdir, *targets(), configs=configs(workdir, PER_SHARD))
    output = done.stdout + done.stderr
    plans = {split: json.loads((workdir / f"results/shards/bible/en-es/{split}.json").read_text())
             for split in ("study_train", "probe", "test")}
    for split in ("study_train", "probe"):
        assert plans[split]["shards"] == [list(r) for r in shard_ranges(plans[split]["sentences"], PER_SHARD)]
        assert len(plans[split]["offsets"]) == len(plans[split]["shards"]), "shard jobs seek to their rows"
    assert len(plans["study_train"]["shards"]) >= 3 and plans["study_train"]["shards"][-1][1] % PER_SHARD != 0
    assert plans["test"]["shards"] == [[0, plans["test"]["sentences"]]]  # batch-dependent length limit: one shard
    shard_jobs = jobs_of(output, "translate_shard")
    expected = sorted((name, str(i)) for name in NAMES for i in range(len(plans[name.split(".")[0]]["shards"])))
    assert sorted((f"{job['split']}.{job['decoding']}", job["shard"]) for job in shard_jobs) == expected
    assert len(jobs_of(output, "gather_translation")) == len(NAMES)
    assert not jobs_of(output, "translate_model") and not jobs_of(output, "train_model"), "only the translations rerun"

    for name in NAMES:
        assert (workdir / TRANSLATIONS / f"{name}.txt").read_bytes() == before[name], f"{name} differs when sharded"
        timing = json.loads((workdir / TRANSLATIONS / f"{name}.json").read_text())
        split = name.split(".")[0]
        assert timing["shards"] == len(plans[split]["shards"])
        assert {k: v for k, v in timing.items() if k not in ("seconds", "sentences_per_s", "shards")} == {
            k: v for k, v in timing_before[name].items() if k not in ("seconds", "sentences_per_s")}
        assert timing["sentences_per_s"] == pytest.approx(timing["sentences"] / timing["seconds"], abs=0.01)
    # the shards are temporary: gone once gathered, and a second run has nothing to do
    assert not (workdir / TRANSLATIONS / "shards").exists() or not any((workdir / TRANSLATIONS / "shards").rglob("*.txt"))
    again = run_snakemake(workdir, *targets(), "--dry-run", configs=configs(workdir, PER_SHARD))
    assert "Nothing to be done" in again.stdout + again.stderr, (again.stdout + again.stderr)[-3000:]


def rerun_sharded(workdir: Path, files: list[str], shard_rule: str | None = None) -> tuple[str, dict]:
    """Remove `files` and make them again with sharding on: the run's log and the study plan, after checking that the
    plan has several shards and that `shard_rule` (if named) ran once for each."""
    for name in files:
        (workdir / name).unlink()
    done = run_snakemake(workdir, *files, configs=configs(workdir, PER_SHARD))
    output = done.stdout + done.stderr
    plan = json.loads((workdir / "results/shards/bible/en-es/study_train.json").read_text())
    assert len(plan["shards"]) >= 3
    if shard_rule:
        assert sorted(int(job["shard"]) for job in jobs_of(output, shard_rule)) == list(range(len(plan["shards"])))
    return output, plan


def test_sharded_quality_estimates_equal_the_unsharded_ones(unsharded, tmp_path):
    """The study's QE tables (references and the baseline's outputs) from quality_estimate_shard and gather_quality
    equal quality_estimate's: same ids, method and estimates (each row is scored on its own)."""
    import pandas as pd

    from memkd.io import read_tsv

    workdir = copy_of(unsharded, tmp_path)
    tables = [f"results/quality/bible/en-es/seed1/{texts}/study_train.tsv" for texts in ("reference", "baseline")]
    first = run_snakemake(workdir, *tables, configs=configs(workdir, None))
    assert len(jobs_of(first.stdout + first.stderr, "quality_estimate")) == 2
    before = {table: read_tsv(workdir / table) for table in tables}
    output, plan = rerun_sharded(workdir, tables)
    shard_jobs = jobs_of(output, "quality_estimate_shard")
    assert sorted((job["texts"], job["shard"]) for job in shard_jobs) == sorted(
        (texts, str(i)) for texts in ("reference", "baseline") for i in range(len(plan["shards"])))
    assert len(jobs_of(output, "gather_quality")) == 2
    assert not jobs_of(output, "quality_estimate") and not jobs_of(output, "train_model"), "the QE models are kept"
    for table in tables:
        after = read_tsv(workdir / table)
        assert list(after.columns) == list(before[table].columns) and len(after) == plan["sentences"]
        assert after["id"].tolist() == before[table]["id"].tolist()
        assert after["qe_method"].tolist() == before[table]["qe_method"].tolist()
        for column in ("forward_xent", "backward_xent", "qe"):
            pd.testing.assert_series_equal(after[column].astype(float), before[table][column].astype(float),
                                           check_exact=False, atol=2e-6, rtol=0)
    assert not any((workdir / "results/quality").rglob("shards/*/*.tsv")), "the shard tables are temporary"


def test_a_killed_array_task_reruns_alone_through_slurm(local_slurm, unsharded, tmp_path, capsys):  # noqa: F811
    """The training source's shards go to SLURM through profiles/slurm as job arrays (executor memkd-slurm): one
    sbatch call per request, each task with its own job's resources. The FIRST task of an array is scancelled while it
    runs (with the stock plugin every task checks the first task's outputs, upstream #447, so all would fail): the run
    fails with exactly that shard missing, the other tasks' shards are kept, and the rerun submits that shard alone
    and gathers the same file as the unsharded job."""
    workdir = copy_of(unsharded, tmp_path)
    target = targets(["study_train.greedy"])
    expected = (workdir / target[0]).read_bytes()
    shutil.rmtree(workdir / TRANSLATIONS)
    layered = configs(workdir, PER_SHARD)[1:]  # slurm_command adds config.yaml and tiny.yaml
    shards = workdir / TRANSLATIONS / "shards" / "study_train.greedy"

    # first run: no retry, keep going, --notemp so that the shards stay for the mtimes below
    first_out = tmp_path / "first.out"
    command = slurm_command(workdir, layered, "--retries", "0", "--keep-going", "--notemp", *target)
    granted = {}  # SLURM task id -> (time limit in minutes, memory), read while the tasks are queued or running
    with open(first_out, "w") as out:
        process = subprocess.Popen(command, env=local_slurm, stdout=out, stderr=subprocess.STDOUT)
        try:
            cancelled = None
            deadline = time.time() + 600
            while cancelled is None and time.time() < deadline and process.poll() is None:
                queue = subprocess.run(["squeue", "-r", "-h", "-o", "%i|%T|%l|%m"], env=local_slurm,
                                       capture_output=True, text=True).stdout.splitlines()
                for line in queue:
                    task, state, limit, memory = line.strip().split("|")
                    granted[task] = (minutes(limit), memory)
                    if state == "RUNNING" and task.endswith("_1"):
                        cancelled = task
                        subprocess.run(["scancel", cancelled], env=local_slurm, check=True)
                time.sleep(0.1)
            assert cancelled, "no first array task was seen running:\n" + first_out.read_text()[-4000:]
            process.wait(timeout=900)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    first = first_out.read_text()
    assert process.returncode != 0, "the run with a cancelled shard must fail:\n" + first[-4000:]
    plan = json.loads((workdir / "results/shards/bible/en-es/study_train.json").read_text())
    jobs = {job_id: job for job_id, job in printed_jobs(first).items() if job["rule"] == "translate_shard"}
    assert len(jobs) == len(plan["shards"]) >= 3
    tasks = dict(re.findall(r"Job (\d+) has been submitted as SLURM array task (\d+_\d+)", first))
    alone = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", first))
    assert set(tasks) | set(alone) == set(jobs), "every shard is a SLURM job or array task:\n" + first[-4000:]
    arrays = {}
    for job_id, task in tasks.items():
        arrays.setdefault(task.split("_")[0], []).append(job_id)
    assert arrays and max(map(len, arrays.values())) >= 2, f"no array of two or more shards: {tasks}"
    request = lambda job_id: (int(jobs[job_id]["resources"]["runtime"]), f"{jobs[job_id]['resources']['mem_mb']}M")
    for members in arrays.values():  # an array holds one request; jobs alone ask for one nobody else does
        assert len({request(job_id) for job_id in members}) == 1, {job_id: request(job_id) for job_id in members}
    assert not {request(job_id) for job_id in alone} & {request(members[0]) for members in arrays.values()}
    for job_id, task in tasks.items():  # SLURM gave each task its own job's time and memory
        if task in granted:
            assert granted[task] == request(job_id), (task, granted[task], jobs[job_id])
    assert cancelled in tasks.values() and cancelled in granted
    missing = jobs[next(job_id for job_id, task in tasks.items() if task == cancelled)]["wildcards"]["shard"]
    done = sorted(int(path.stem) for path in shards.glob("*.txt"))
    assert done == sorted(int(shard) for shard in range(len(plan["shards"])) if str(shard) != missing), (
        f"exactly the cancelled task's shard ({missing}) must be missing: {done}\n" + first[-4000:])
    mtimes = {path.name: path.stat().st_mtime_ns for path in shards.iterdir()}
    assert not (workdir / target[0]).exists()

    # the rerun: the profile as it is (--notemp again, for the mtimes); only the missing shard is submitted
    rerun = subprocess.run(slurm_command(workdir, layered, "--notemp", *target), env=local_slurm, capture_output=True,
                           text=True)
    second = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, second[-6000:]
    rerun_shards = jobs_of(second, "translate_shard")
    with capsys.disabled():
        print(f"\nSLURM array tasks {tasks}, alone {alone}; scancelled {cancelled} (shard {missing}); rerun shards "
              f"{[job['shard'] for job in rerun_shards]}")
    assert [job["shard"] for job in rerun_shards] == [missing], second[-4000:]
    assert len(jobs_of(second, "gather_translation")) == 1
    assert {name: mtime for name, mtime in ((p.name, p.stat().st_mtime_ns) for p in shards.iterdir())
            if name in mtimes} == mtimes, "the finished shards must not be rewritten"
    assert (workdir / target[0]).read_bytes() == expected


def test_array_shards_beyond_the_job_limit_all_run_through_slurm(local_slurm, unsharded, tmp_path):  # noqa: F811
    """With `--jobs 2` Snakemake hands the executor two of the five ready shards at a time; each pair is submitted
    as an array at once (the stock plugin holds a part back for the rule's other ready jobs, so it is never submitted
    and the run waits forever), and the gathered file is the unsharded job's."""
    workdir = copy_of(unsharded, tmp_path)
    target = targets(["study_train.greedy"])
    expected = (workdir / target[0]).read_bytes()
    shutil.rmtree(workdir / TRANSLATIONS)
    layered = configs(workdir, PER_SHARD)[1:]
    # a hang (the stock plugin's) ends after 10 minutes: timeout passes SIGINT on to Snakemake, which stops its jobs
    done = subprocess.run(["timeout", "-s", "INT", "-k", "30", "600",
                           *slurm_command(workdir, layered, "--jobs", "2", *target)],
                          env=local_slurm, capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, ("timed out: " if done.returncode == 124 else "") + output[-6000:]
    plan = json.loads((workdir / "results/shards/bible/en-es/study_train.json").read_text())
    tasks = dict(re.findall(r"Job (\d+) has been submitted as SLURM array task (\d+_\d+)", output))
    alone = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))
    shard_jobs = {job_id for job_id, job in printed_jobs(output).items() if job["rule"] == "translate_shard"}
    assert len(shard_jobs) == len(plan["shards"]) >= 3 and shard_jobs <= set(tasks) | set(alone)
    arrays = {}
    for job_id, task in tasks.items():
        arrays.setdefault(task.split("_")[0], []).append(task)
    assert len(arrays) >= 2 and all(len(members) <= 2 for members in arrays.values()), arrays
    assert (workdir / target[0]).read_bytes() == expected


def test_sharded_scores_and_kl_equal_the_unsharded_ones(unsharded, tmp_path):
    """The baseline's reference scores and KL(teacher || baseline) from score_references_shard / gather_scores and
    teacher_baseline_kl_shard / gather_kl: the unsharded jobs' tables (same ids and token counts; sums within the
    rounding, as batches form within a shard), with temporary shards and no model retrained."""
    import pandas as pd

    from memkd.io import read_tsv

    workdir = copy_of(unsharded, tmp_path)
    scores = "results/scores/bible/en-es/seed1/baseline/study_train.tsv"
    kl = "results/scores/bible/en-es/seed1/kl_teacher_baseline.tsv"
    first = run_snakemake(workdir, scores, kl, configs=configs(workdir, None))
    output = first.stdout + first.stderr
    assert len(jobs_of(output, "score_references")) == 1 and len(jobs_of(output, "teacher_baseline_kl")) == 1
    before = {table: read_tsv(workdir / table) for table in (scores, kl)}
    output, plan = rerun_sharded(workdir, [scores, kl], "score_references_shard")
    shards = [str(i) for i in range(len(plan["shards"]))]
    assert sorted(job["shard"] for job in jobs_of(output, "teacher_baseline_kl_shard")) == sorted(shards)
    assert len(jobs_of(output, "gather_scores")) == 1 and len(jobs_of(output, "gather_kl")) == 1
    assert not jobs_of(output, "score_references") and not jobs_of(output, "teacher_baseline_kl")
    assert not jobs_of(output, "train_model"), "the models are kept"
    for table, value in ((scores, "log_prob"), (kl, "kl_sum")):
        after = read_tsv(workdir / table)
        assert list(after.columns) == list(before[table].columns)
        assert after["id"].tolist() == before[table]["id"].tolist()
        assert after["tokens"].tolist() == before[table]["tokens"].tolist()
        assert after[value].astype(float).abs().sum() > 0
        pd.testing.assert_series_equal(after[value].astype(float), before[table][value].astype(float),
                                       check_exact=False, atol=2e-6 * after["tokens"].astype(int).max(), rtol=0)
    assert not any((workdir / "results/scores").rglob("shards/*/*.tsv")), "the shard tables are temporary"


def test_sharded_cm_scores_equal_the_unsharded_ones(unsharded, tmp_path):
    """The CM models' reference scores, sharded: one score_cm_references_shard job per shard scores all M models
    (from convert_model's folders) and gather_scores joins each model's shards into the unsharded
    score_cm_references' table (same ids and token counts; sums within the rounding), the shards temporary and no
    model retrained."""
    import pandas as pd

    from memkd.io import read_tsv

    workdir = copy_of(unsharded, tmp_path)
    tables = [f"results/scores/bible/en-es/seed1/cm{m:02d}/study_train.tsv" for m in range(4)]  # tiny: M = 4
    first = run_snakemake(workdir, *tables, configs=configs(workdir, None))
    output = first.stdout + first.stderr
    assert len(jobs_of(output, "score_cm_references")) == 1
    before = {table: read_tsv(workdir / table) for table in tables}
    output, _ = rerun_sharded(workdir, tables, "score_cm_references_shard")
    assert len(jobs_of(output, "gather_scores")) == len(tables)
    assert not jobs_of(output, "score_cm_references") and not jobs_of(output, "score_references_shard")
    assert not jobs_of(output, "train_cm_models") and not jobs_of(output, "train_model"), "the models are kept"
    assert len(jobs_of(output, "convert_model")) == len(tables), "each CM model converted once, not once a shard"
    for table in tables:
        after = read_tsv(workdir / table)
        assert list(after.columns) == list(before[table].columns)
        assert after["id"].tolist() == before[table]["id"].tolist()
        assert after["tokens"].tolist() == before[table]["tokens"].tolist()
        pd.testing.assert_series_equal(after["log_prob"].astype(float), before[table]["log_prob"].astype(float),
                                       check_exact=False, atol=2e-6 * after["tokens"].astype(int).max(), rtol=0)
    assert len({before[table]["log_prob"].iloc[0] for table in tables}) > 1, "four different models were scored"
    assert not any((workdir / "results/scores").rglob("shards/*/*.tsv")), "the shard tables are temporary"


def test_sharded_seq_inter_lists_equal_the_unsharded_ones(unsharded, tmp_path):
    """The teacher's 2-best lists of the study sources and the Seq-Inter pairs chosen from them, from one
    seq_inter_data_shard job per shard and gather_seq_inter: the unsharded seq_inter_data's files byte for byte
    (each source is decoded with its own length limit), the shards temporary, the teacher not retrained."""
    workdir = copy_of(unsharded, tmp_path)
    files = [f"results/seqinter/bible/en-es/seed1/k2/{name}.tsv" for name in ("train", "kbest")]
    first = run_snakemake(workdir, *files, configs=configs(workdir, None))
    assert len(jobs_of(first.stdout + first.stderr, "seq_inter_data")) == 1
    before = {name: (workdir / name).read_bytes() for name in files}
    output, plan = rerun_sharded(workdir, files, "seq_inter_data_shard")
    assert len(jobs_of(output, "gather_seq_inter")) == 1
    assert not jobs_of(output, "seq_inter_data") and not jobs_of(output, "train_model"), "the teacher is kept"
    for name in files:
        assert (workdir / name).read_bytes() == before[name], name
    kbest_rows = before[files[1]].count(b"\n") - 1
    assert kbest_rows == 2 * plan["sentences"], "two hypotheses a source"
    assert not any((workdir / "results/seqinter").rglob("shards/*.tsv")), "the shard tables are temporary"


def test_sharded_exmem_gives_the_unsharded_examples(unsharded, tmp_path):
    """With sharding on, the ExMem candidates and memorized prefixes of the baseline and the SeqKD student come from
    exmem_shard jobs (one per shard and model) and gather_exmem, and memorization_examples decodes none: its examples
    and summary are the unsharded job's, byte for byte (ExMem vs the corpus and vs the teacher's outputs)."""
    from memkd.io import read_tsv

    workdir = copy_of(unsharded, tmp_path)
    roles = ("baseline", "student")
    files = [f"results/memorization/bible/en-es/seed1/{role}/{name}" for role in roles
             for name in ("examples.tsv", "summary.json")]
    plans = [f"results/shards/bible/en-es/{split}.json" for split in ("train", "study_train", "probe")]
    # the shard plans first, then everything upstream, so that neither run below redoes a translation (mtimes only:
    # the two configs give the translations different producing rules; a translation older than its plan is
    # regathered from new shards)
    run_snakemake(workdir, *plans, configs=configs(workdir, PER_SHARD))
    for path in (workdir / "results" / "translations").rglob("*.*"):
        os.utime(path)
    run_snakemake(workdir, *files, configs=configs(workdir, None))
    # tiny models replicate nothing: plant exact matches by giving every third training source its reference as the
    # baseline's translation; what reads it (QE of the outputs, ExMem, the examples) is redone from it
    references = read_tsv(workdir / "results/data/bible/en-es/study_train.tsv")["tgt"].tolist()
    translation = workdir / TRANSLATIONS / "study_train.greedy.txt"
    lines = translation.read_text().splitlines()
    translation.write_text("".join(f"{references[i] if i % 3 == 0 else line}\n" for i, line in enumerate(lines)))
    for name in files:
        (workdir / name).unlink()

    first = run_snakemake(workdir, *files, "--rerun-triggers", "mtime", configs=configs(workdir, None))
    assert not jobs_of(first.stdout + first.stderr, "exmem_shard")
    before = {name: (workdir / name).read_bytes() for name in files}
    baseline = json.loads(before[files[1]])
    assert baseline["replication"] >= len(lines) // 3 and baseline["exmem_candidates"] >= 5, baseline
    for name in files:
        (workdir / name).unlink()

    done = run_snakemake(workdir, *files, "--rerun-triggers", "mtime", configs=configs(workdir, PER_SHARD))
    output = done.stdout + done.stderr
    shards = len(json.loads((workdir / plans[1]).read_text())["shards"])
    assert shards >= 3
    assert sorted((job["role"], job["shard"]) for job in jobs_of(output, "exmem_shard")) == sorted(
        (role, str(i)) for role in roles for i in range(shards))
    assert len(jobs_of(output, "gather_exmem")) == 2 and len(jobs_of(output, "memorization_examples")) == 2
    for rule in ("train_model", "translate_shard", "gather_translation", "quality_estimate_shard"):
        assert not jobs_of(output, rule), f"{rule} was rerun"
    for name in files:
        assert (workdir / name).read_bytes() == before[name], name
    assert not any((workdir / "results/memorization").rglob("shards/exmem/*.tsv")), "the shard tables are temporary"
