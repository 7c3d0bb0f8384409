"""bench/rehearsal.py's pieces: the generated corpus (distinct pairs, the user-TSV format), the per-job times read
from a Snakemake log and the per-job memory sampling."""

import importlib.util
import json
import math
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from memkd.corpora.usertsv import FIELDS
from memkd.io import write_json_atomic
from memkd.resources import rule_resource

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("rehearsal", ROOT / "bench" / "rehearsal.py")
rehearsal = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rehearsal)


def test_number_words_spell_the_digits():
    assert rehearsal.number_words(0) == "zero"
    assert rehearsal.number_words(1207) == "one two zero seven"


def test_generated_corpus_has_distinct_rows_in_the_user_tsv_format(tmp_path):
    pairs = [("In the beginning.", "En el principio."), ("Jesus wept.", "Y lloró Jesús.")]
    path = tmp_path / "corpus.tsv"
    rehearsal.write_corpus(path, pairs, 25)
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 25 and all(len(row) == len(FIELDS) for row in rows)
    assert rows[12] == ["r12", "In the beginning. one two", "En el principio. one two"]
    assert len({(src, tgt) for _, src, tgt in rows}) == 25, "every pair differs from every other"
    assert not list(tmp_path.glob("*.tmp")), "no half-written file stays behind"


def test_job_times_pairs_each_finish_with_its_start():
    log = """[Thu Dec  3 07:23:54 2026]
rule split_corpus:
    input: a
    jobid: 3
[Thu Dec  3 07:23:55 2026]
localrule gather_quality:
    jobid: 7
[Thu Dec  3 07:24:04 2026]
Finished jobid: 3 (Rule: split_corpus)
[Thu Dec  3 07:24:05 2026]
Finished jobid: 7 (Rule: gather_quality)
"""
    times = rehearsal.job_times(log)
    assert times.to_dict("records") == [{"rule": "split_corpus", "s": 10.0}, {"rule": "gather_quality", "s": 10.0}]


def test_a_jobs_memory_counts_its_worker_processes(tmp_path):
    """A job script whose worker process holds 200 MB: the sampler charges the job with it (a per-process peak by
    script name would see only the script's own ~10 MB)."""
    import os
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "tmpab12.fake_job.py"
    script.write_text(  # the worker is a process of another command line, as a pool's spawned workers are
        "import subprocess, sys\n"
        "hold = \"block = b'x' * (200 * 2**20); print('ready', flush=True); import time; time.sleep(30)\"\n"
        "subprocess.run([sys.executable, '-c', hold])\n")
    job = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        sampled = rehearsal.RssSampler(os.getpid()).sample()
        running = rehearsal.RssSampler(os.getpid(), interval=0.05, keep=tmp_path / "peaks.json", keep_every=0.1)
        running.start()
        deadline = time.monotonic() + 10
        while not (tmp_path / "peaks.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        kept = json.loads((tmp_path / "peaks.json").read_text())  # written while the job still runs
        running.done = True
        running.join()
    finally:
        for process in [*psutil.Process(job.pid).children(recursive=True), psutil.Process(job.pid)]:
            process.kill()
        job.wait()
    assert sampled["fake_job"] >= 200
    assert kept["fake_job"] >= 200


def test_the_projection_fits_each_stage_linearly():
    """A stage linear in the pairs is projected exactly (R^2 1), its memory along the two largest sizes; a flat one
    stays flat; a rule missing at one size is left out rather than fitted on fewer points."""
    def record(n, wall, rules):
        return {"pairs": n, "wall_s": wall, "rules": [{"rule": r, "total_s": s, "peak_rss_mb": m} for r, s, m in rules]}
    results = [record(n, 10 + n / 1000, [("qe", 5 + n / 2000, 300.0), ("plot", 2.0, 150 + n / 10_000),
                                         *([("gone", 1.0, 1.0)] if n < 3000 else [])])
               for n in (1000, 2000, 4000)]
    rows = {row["rule"]: row for row in rehearsal.projection(results, 100_000, memory_at=8000)}
    assert set(rows) == {"qe", "plot"}
    assert abs(rows["qe"]["projected_s"] - 55.0) < 1e-6 and abs(rows["qe"]["r2"] - 1.0) < 1e-9
    assert abs(rows["qe"]["s_per_million"] - 500.0) < 1e-6 and abs(rows["qe"]["projected_mb"] - 300.0) < 1e-6
    assert abs(rows["plot"]["projected_s"] - 2.0) < 1e-6 and abs(rows["plot"]["projected_mb"] - 150.8) < 1e-6
    assert list(rows) == ["qe", "plot"]  # the costliest projected stage first
    # a rule that took over part of a stage at the largest size counts with its stage
    results[-1]["rules"] += [{"rule": "exmem_shard", "total_s": 10.0, "peak_rss_mb": 400.0}]
    results[-1]["rules"] += [{"rule": "memorization_examples", "total_s": 2.0, "peak_rss_mb": 200.0}]
    results[0]["rules"] += [{"rule": "memorization_examples", "total_s": 3.0, "peak_rss_mb": 100.0}]
    results[1]["rules"] += [{"rule": "memorization_examples", "total_s": 6.0, "peak_rss_mb": 150.0}]
    stage = {row["rule"]: row for row in rehearsal.projection(results, 100_000)}["memorization_examples"]
    assert stage["seconds"] == [3.0, 6.0, 12.0] and stage["peak_mb"] == [100.0, 150.0, 400.0]
    assert "exmem_shard" not in {row["rule"] for row in rehearsal.projection(results, 100_000)}
    _, _, r2 = rehearsal.linear_fit([1, 2, 3, 4], [1, 4, 9, 16])
    assert r2 < 0.99  # a quadratic stage shows in R^2


def test_the_readme_table_lists_the_costliest_stages_and_sums_the_rest(capsys):
    results = [{"pairs": n, "wall_s": 1.0, "rules": [{"rule": r, "total_s": k * n / 1000, "peak_rss_mb": 100.0 * k}
                                                     for k, r in enumerate(["a", "b", "c", "d"], start=1)]}
               for n in (5000, 2_000_000)]
    rehearsal.print_readme_table(results, 40_000_000, top=2)
    lines = capsys.readouterr().out.splitlines()
    assert "peak MB at 5k / 2M" in lines[0]
    assert lines[2].startswith("| `d` | 4,000 |") and lines[3].startswith("| `c` | 3,000 |")
    assert lines[4].startswith("| 2 other stages | 3,000 |") and lines[4].endswith("largest at 2M: 200 |")
    assert lines[5].startswith("| **all jobs (summed)** | **10,000** | | **111.1** |")


def test_sizes_are_fitted_within_one_machine_only():
    """Records of two machines form two groups, each by size (the later record of a size wins); records from before
    the machine was recorded form their own group; this machine's description names its CPU and cores."""
    def record(n, key=None, wall=1.0):
        return {"pairs": n, "wall_s": wall, **({"machine": {"key": key}} if key else {})}
    records = [record(1000, "A"), record(200, "A"), record(500, "B"), record(1000, "A", wall=2.0), record(10)]
    groups = rehearsal.by_machine(records)
    assert list(groups) == ["A", "B", "unrecorded"]
    assert [r["pairs"] for r in groups["A"]] == [200, 1000] and groups["A"][1]["wall_s"] == 2.0
    here = rehearsal.machine()
    assert "cores" in here["key"] and "bf16" in here["key"]


def test_a_rehearsal_resumes_only_on_its_machine_kind_and_commit(tmp_path):
    """A new folder starts afresh; a started one resumes with its invocations when machine kind and commit agree, and
    names the mismatch otherwise (its times would mix two machines or two versions of the code)."""
    here = {"key": "CPU X, 2 cores, no native bf16", "mhz": 2000}
    fresh = rehearsal.resume_state(tmp_path, here, "abc1234")
    assert fresh == {"machine": here, "commit": "abc1234", "invocations": []}
    fresh["invocations"].append({"log": "snakemake.1.out", "wall_s": 10.0, "stopped": True})
    write_json_atomic(tmp_path / "run.json", fresh)
    assert rehearsal.resume_state(tmp_path, {**here, "mhz": 2100}, "abc1234")["invocations"] == fresh["invocations"]
    with pytest.raises(SystemExit, match="started on 'CPU X, 2 cores, no native bf16'"):
        rehearsal.resume_state(tmp_path, {"key": "CPU Y, 2 cores, native bf16"}, "abc1234")
    with pytest.raises(SystemExit, match="started at commit abc1234, this checkout is def5678"):
        rehearsal.resume_state(tmp_path, here, "def5678")


def test_stopping_ends_the_run_and_its_jobs(tmp_path):
    """stop() ends Snakemake's stand-in and the job it started (its process group), even when SIGINT is ignored."""
    job = tmp_path / "job.pid"
    process = subprocess.Popen(["bash", "-c", f"trap '' INT; sleep 300 & echo $! > {job}; wait"],
                               start_new_session=True)
    while not job.exists() or not job.read_text().strip():
        time.sleep(0.05)
    rehearsal.stop(process, grace=1.0)
    assert process.returncode is not None
    time.sleep(0.2)
    assert not psutil.pid_exists(int(job.read_text())) or psutil.Process(int(job.read_text())).status() == "zombie"


def test_the_resource_check_compares_each_rules_memory_with_its_peak(tmp_path, capsys):
    """--check-resources: per rule the largest input (a shard job's share), the memory its jobs were given, its peak
    and what this checkout asks; a peak above what a job was given is marked (a cluster would kill that job)."""
    (tmp_path / "results" / "shards").mkdir(parents=True)
    (tmp_path / "pairs.tsv").write_bytes(b"x" * (100 * 2**20))
    (tmp_path / "results/shards/plan.json").write_text(json.dumps(
        {"sentences": 10, "sentences_per_shard": 5, "shards": [[0, 5], [5, 10]]}))
    (tmp_path / "snakemake.1.out").write_text("""[Thu Dec  3 07:23:54 2026]
rule study_subset:
    input: pairs.tsv
    jobid: 3
    resources: tmpdir=/tmp, runtime=5, mem_mb=1000, mem=1.0 GB
[Thu Dec  3 07:23:55 2026]
rule translate_shard:
    input: model, pairs.tsv, results/shards/plan.json
    jobid: 7
    wildcards: corpus=r, shard=1
    resources: tmpdir=/tmp, runtime=60, mem_mb=5000
[Thu Dec  3 07:23:56 2026]
rule memorization_examples:
    input: pairs.tsv, results/memorization/r/exmem.tsv
    jobid: 9
    resources: tmpdir=/tmp, runtime=9000, mem_mb=6000
""")
    (tmp_path / "peaks.json").write_text(json.dumps({"study_subset": 1500.0, "translate_shard": 300.0}))
    table = rehearsal.check_resources(tmp_path).set_index("rule")
    assert table.loc["study_subset", "input_mib"] == 100.0 and table.loc["translate_shard", "input_mib"] == 50.0
    assert table.loc["study_subset", "given_mb"] == 1000 and table.loc["study_subset", "peak_mb"] == 1500
    assert table.loc["study_subset", "asked_now_mb"] > 1500
    # given ExMem's table (sharding on), memorization_examples is sized as the join it is
    assert table.loc["memorization_examples", "asked_now_mb"] == rule_resource("memorization_examples_sharded",
                                                                               "mem_mb", 100.0)
    rehearsal.print_resource_check(table.reset_index())
    printed = capsys.readouterr().out
    assert "| study_subset | 1 | 100.0 | 1,000 | 1,500 | 1.50 **over** |" in printed
    assert "| translate_shard | 1 | 50.0 | 5,000 | 300 | 0.06 |" in printed


def test_the_memory_fit_follows_the_two_largest_sizes_and_flags_a_base_too_small():
    """--fit-memory: per rule the slope of its peak in its input MiB between the two largest sizes, asked with a
    quarter more (rounded up to 0.05 MB per MiB); shard jobs (one size) and rules without a peak are left out, and a
    base below the line's intercept is flagged, as is a fitted request under a measured peak."""
    import pandas as pd

    def size(rows):
        return pd.DataFrame(rows, columns=["rule", "entry", "jobs", "input_mib", "given_mb", "asked_now_mb",
                                           "peak_mb"])

    tables = [size([("study_subset", "study_subset", 1, mib, 0, 0, peak),
                    ("direction_view", "direction_view", 1, mib / 10, 0, 0, 1500 + mib / 10),
                    ("translate_shard", "translate_shard", 1, 23.0, 0, 0, 480.0),
                    ("plot_subgroups", "plot_subgroups", 1, mib, 0, 0, 100.0),
                    ("evaluate", "evaluate", 1, mib, 0, 0, None)])
              for mib, peak in [(100.0, 900.0), (500.0, 340.0), (1000.0, 390.0)]]
    # a second run of the largest size (sampled peaks are lower bounds): its larger peak counts
    tables.append(size([("study_subset", "study_subset", 1, 1000.0, 0, 0, 440.0)]))
    fit = rehearsal.fit_memory(tables).set_index("entry")
    assert set(fit.index) == {"study_subset", "direction_view"}, "no shard job, no rule without a peak or entry"
    # 0.2 MB per MiB from 340 MB at 500 to 440 at 1000 (the 900 MB at 100 MiB is ignored), 0.25 with the margin
    assert fit.loc["study_subset", "mb_per_mib"] == pytest.approx(0.2)
    assert fit.loc["study_subset", "per_mb_fit"] == pytest.approx(0.25)
    assert fit.loc["study_subset", "base_covers"]
    assert fit.loc["study_subset", "fit_covers_peaks"], "its 2,000 MB base covers the 900 MB at 100 MiB"
    base = rule_resource("study_subset", "mem_mb", 0)
    assert fit.loc["study_subset", "asked_fit_at"] == math.ceil(base + 0.25 * 20_000)
    # 1,500 MB at any size: the base (1,000) is under the intercept, so the requests would be under the peaks
    assert not fit.loc["direction_view", "base_covers"] and not fit.loc["direction_view", "fit_covers_peaks"]
