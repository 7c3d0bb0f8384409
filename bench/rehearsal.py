"""Paper-scale rehearsal on a CPU (issue 17): a generated corpus of N pairs through the workflow with tiny models,
every training pair in the study, to see how each stage's time and memory grow with N. Prints a Markdown table per
size and one of seconds per stage against N; asserts nothing.

    python bench/rehearsal.py --base RUN/results/data/bible/en-es/train.tsv --pairs 200000 1000000 2000000 \
        --workdir /tmp/rehearsal [--cores 2] [--shard 200000] [--jsonl bench/results/rehearsal_cpu.jsonl]

The corpus: the short pairs of `--base` (a workflow table with src and tgt columns, e.g. a run's Bible training
split), repeated with per-row variation (the row's number, written as words, appended to both sides, so that the
pairs are distinct and share vocabulary) into a user TSV corpus (`kind: tsv`). The study: one direction, one seed,
every training pair (`study.max_pairs: null`), tiny models trained for a few steps (`max_steps`), 2 CM models,
the teachers as QE models, no variants, translations and QE sharded (`sharding.sentences`), and a short fixed
decoding limit for the memorization translations (an untrained tiny model runs every output to the limit).

Measured per job: wall seconds from the Snakemake log (start and finish lines), peak RSS by sampling every process
under Snakemake twice a second (psutil; a job's script runs as `.snakemake/scripts/tmp*.<script>.py`, so the
sample is attributed to its script; shell and run rules count under their command's name). Peaks shorter than the
sampling interval can be missed: the figures are lower bounds of the true peaks.

A size too long for one sitting: `--stop-after SECONDS` stops the run (the jobs running then are lost and redone),
and the same command resumes it later, on the same kind of machine and at the same commit (checked; WORKDIR/nN/run.json
keeps the invocations, each its own log, and peaks.json the peaks so far). The record counts the jobs that finished.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
ONES = "zero one two three four five six seven eight nine".split()
MAX_BASE_WORDS = 20
# rules that run another rule's script: their peak RSS is that script's (the larger of the rules sharing it)
RULE_SCRIPT = {"train_cm_models": "train_model", "score_cm_references": "score_references",
               "gather_quality": "gather_table", "gather_scores": "gather_table", "gather_kl": "gather_table",
               "gather_exmem": "gather_table", "score_references_shard": "score_references",
               "score_cm_references_shard": "score_references",
               "teacher_baseline_kl_shard": "teacher_baseline_kl",
               "adaptive_seqkd_data": "seqkd_data", "plot_model_comparison_variants": "plot_model_comparison"}

# rules that took over part of another rule's work between rehearsal runs: fitted together as that rule's stage
# (ExMem's prefix decoding moved from memorization_examples into exmem_shard jobs at commit 2a40407)
STAGE_OF = {"exmem_shard": "memorization_examples", "gather_exmem": "memorization_examples"}


def number_words(n: int) -> str:
    """The digits of n as English words ("four two" for 42): a variation every tokenizer can encode."""
    return " ".join(ONES[int(d)] for d in str(n))


def base_pairs(path: Path) -> list[tuple[str, str]]:
    """The short pairs of a workflow table (at most MAX_BASE_WORDS words a side)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3, usecols=["src", "tgt"])
    short = table[(table.src.str.split().str.len() <= MAX_BASE_WORDS)
                  & (table.tgt.str.split().str.len() <= MAX_BASE_WORDS)]
    if short.empty:
        raise SystemExit(f"{path}: no pair of at most {MAX_BASE_WORDS} words a side")
    return list(zip(short.src, short.tgt))


def write_corpus(path: Path, pairs: list[tuple[str, str]], n: int) -> None:
    """n rows `id TAB src TAB tgt` (no header): base pair i mod len(pairs), with i's number appended to both sides."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for i in range(n):
            src, tgt = pairs[i % len(pairs)]
            words = number_words(i)
            out.write(f"r{i}\t{src} {words}\t{tgt} {words}\n")
    tmp.rename(path)


def study_config(corpus: Path, shard: int, steps: int) -> dict:
    tiny = {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "heads": 2, "ffn_dim": 64, "dropout": 0.1,
            "max_positions": 128}
    training = {"epochs": 1, "max_steps": steps, "max_tokens": 4000, "lr": 1.0e-3, "warmup_steps": 10,
                "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
                "log_every": 10, "checkpoint_every": 1000}
    return {
        "corpus": "rehearsal",
        "corpora": {"rehearsal": {"kind": "tsv", "languages": ["en", "es"], "path": str(corpus),
                                  "on_undecodable": "error"}},
        "directions": ["en-es"],
        "seeds": [1],
        "variant_seeds": None,
        "preprocess": {"max_train_pairs": None, "max_eval_pairs": 100},
        "tokenizer": {"vocab_size": 1000, "input_sentence_size": 100_000, "threads": 2},
        "study": {"max_subwords": None, "max_pairs": None, "min_pairs": 20},
        "models": {"teacher": tiny, "student": tiny, "cm": tiny, "qe": tiny},
        "training": {"teacher": training, "student": training, "cm": training, "qe": training},
        "quality_estimation": {"models": "teachers"},
        "counterfactual": {"models": 2},
        "decoding": {"evaluation": ["greedy"], "memorization_max_len": 24},
        "sharding": {"sentences": shard},
    }


class RssSampler(threading.Thread):
    """Peak memory (MB) per script name over the jobs under `root_pid`, sampled every `interval` seconds: a job's
    memory is its script process's RSS, or with worker processes the PSS summed over them all (`sample`)."""

    def __init__(self, root_pid: int, interval: float = 0.5, keep: Path | None = None, keep_every: float = 30.0):
        super().__init__(daemon=True)
        self.root, self.interval, self.peaks, self.done = root_pid, interval, defaultdict(float), False
        self.keep, self.keep_every = keep, keep_every  # peaks so far, rewritten as the run goes (a stopped run keeps them)

    @staticmethod
    def name(process: psutil.Process) -> str | None:
        cmdline = process.cmdline()
        for arg in cmdline:
            found = re.search(r"tmp[^/.]*\.([A-Za-z0-9_]+)\.py$", arg)
            if found:
                return found.group(1)
        return None

    def sample(self) -> dict[str, float]:
        """MB per job now, the largest job per script name: the RSS of a job without workers, else the summed PSS of
        its processes (forked workers share their parent's pages; PSS counts each page once over the sharers)."""
        now: dict[str, float] = defaultdict(float)
        for child in psutil.Process(self.root).children(recursive=True):
            try:
                name = self.name(child)
                if not name or self.name(child.parent()) == name:  # a job's worker: counted with its job
                    continue
                workers = child.children(recursive=True)
                if not workers:
                    memory = child.memory_info().rss
                else:
                    memory = 0
                    for process in [child, *workers]:
                        try:
                            memory += process.memory_full_info().pss
                        except psutil.NoSuchProcess:
                            pass
                now[name] = max(now[name], memory / 2**20)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return now

    def run(self):
        kept = time.monotonic()
        while not self.done:
            try:
                for name, mb in self.sample().items():
                    self.peaks[name] = max(self.peaks[name], mb)
            except psutil.NoSuchProcess:
                break
            if self.keep and time.monotonic() - kept >= self.keep_every:
                self.write_peaks()
                kept = time.monotonic()
            time.sleep(self.interval)
        if self.keep:
            self.write_peaks()

    def write_peaks(self):
        tmp = self.keep.with_suffix(".tmp")
        tmp.write_text(json.dumps({name: round(mb, 1) for name, mb in sorted(self.peaks.items())}, indent=1) + "\n")
        tmp.replace(self.keep)


def job_times(log: str) -> pd.DataFrame:
    """Rule and wall seconds of every finished job of a Snakemake log (its timestamped start and finish lines)."""
    stamp, rule, started, rows = None, None, {}, []
    for line in log.splitlines():
        found = re.match(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", line)
        if found:
            stamp = dt.datetime.strptime(found.group(1), "%a %b %d %H:%M:%S %Y")
            continue
        found = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", line)
        if found:
            rule = found.group(1)
        found = re.match(r"\s+jobid: (\d+)", line)
        if found and rule:
            started[found.group(1)] = (stamp, rule)
        found = re.match(r"Finished jobid: (\d+)", line)
        if found and found.group(1) in started:
            begin, job_rule = started[found.group(1)]
            rows.append({"rule": job_rule, "s": (stamp - begin).total_seconds()})
    return pd.DataFrame(rows, columns=["rule", "s"])


def current_commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def resume_state(workdir: Path, here: dict, commit: str) -> dict:
    """The invocations so far of the rehearsal in `workdir` (run.json), started anew if there is none. A rehearsal
    split over sessions resumes only on the same kind of machine at the same commit, else its job times would mix
    two machines (or two versions of the code) in one record."""
    state_file = workdir / "run.json"
    if not state_file.exists():
        return {"machine": here, "commit": commit, "invocations": []}
    state = json.loads(state_file.read_text())
    if state["machine"]["key"] != here["key"]:
        raise SystemExit(f"{workdir} was started on '{state['machine']['key']}', this machine is '{here['key']}': "
                         "resume it there, or remove the folder to start over")
    if state["commit"] != commit:
        raise SystemExit(f"{workdir} was started at commit {state['commit']}, this checkout is {commit}: resume it "
                         "from a checkout of that commit, or remove the folder to start over")
    return state


def stop(process: subprocess.Popen, grace: float = 60.0) -> None:
    """Ask Snakemake to stop (SIGINT: it ends its jobs and marks their outputs incomplete, which the next
    invocation's --rerun-incomplete redoes), then end its whole process group if it is still there."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def rehearse(args, n: int, pairs: list[tuple[str, str]]) -> dict | None:
    """Run (or resume) the rehearsal of n pairs; its record once the workflow has finished, None when it stopped at
    --stop-after (run the same command again, on the same kind of machine and commit, to resume it)."""
    workdir = args.workdir / f"n{n}"
    workdir.mkdir(parents=True, exist_ok=True)
    here, commit = machine(), current_commit()
    state = resume_state(workdir, here, commit)
    corpus = workdir / "corpus.tsv"
    started = time.perf_counter()
    if not corpus.exists():
        write_corpus(corpus, pairs, n)
    generate_s = time.perf_counter() - started
    state.setdefault("corpus_generation_s", round(generate_s, 1))
    config = workdir / "rehearsal.yaml"
    config.write_text(yaml.safe_dump(study_config(corpus, args.shard, args.steps), sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
               str(workdir), "--cores", str(args.cores), "--configfile", str(ROOT / "config.yaml"),
               str(ROOT / "configs/no_variants.yaml"), str(config), "--nolock", "--rerun-incomplete"]
    log_path = workdir / f"snakemake.{len(state['invocations']) + 1}.out"
    peaks_path = workdir / "peaks.json"
    started = time.perf_counter()
    with open(log_path, "w") as out:
        # SIGINT at its default in Snakemake (a command started in the background inherits it ignored), so that
        # stop() ends it gracefully
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        sampler = RssSampler(process.pid, keep=peaks_path)
        if peaks_path.exists():  # the peaks of the earlier invocations
            sampler.peaks.update(json.loads(peaks_path.read_text()))
        sampler.start()
        stopped = False
        try:
            process.wait(args.stop_after)
        except subprocess.TimeoutExpired:
            stop(process)
            stopped = True
        sampler.done = True
        sampler.join()
    state["invocations"].append({"log": log_path.name, "wall_s": round(time.perf_counter() - started, 1),
                                 "stopped": stopped})
    from memkd.io import write_json_atomic

    write_json_atomic(workdir / "run.json", state)
    if stopped:
        print(f"stopped the rehearsal of {n} pairs after {args.stop_after:.0f} s; run the same command again to "
              f"resume it ({workdir})", file=sys.stderr)
        return None
    log = log_path.read_text()
    if process.returncode:
        print(log[-4000:], file=sys.stderr)
        raise SystemExit(f"the rehearsal of {n} pairs failed (exit {process.returncode}); see {log_path}")
    logs = [(workdir / run["log"]).read_text() for run in state["invocations"]]
    times = pd.concat([job_times(text) for text in logs], ignore_index=True)  # finished jobs; a stopped one reran
    per_rule = times.groupby("rule").s.agg(jobs="size", total_s="sum", max_s="max")
    per_rule["peak_rss_mb"] = [sampler.peaks.get(RULE_SCRIPT.get(rule, rule), float("nan")) for rule in per_rule.index]
    return {"pairs": n, "machine": state["machine"], "commit": state["commit"],
            "corpus_generation_s": state["corpus_generation_s"],
            "wall_s": round(sum(run["wall_s"] for run in state["invocations"]), 1),
            "invocations": len(state["invocations"]),
            "rules": per_rule.round(1).reset_index().to_dict("records"), "peaks_by_script": dict(sampler.peaks)}


def machine() -> dict:
    """What the timings depend on: the CPU model, core count and whether it has native bf16 (AVX512-BF16 or AMX),
    with its clock for reference. Sizes are fitted together only when their `key`s agree (`by_machine`)."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    field = lambda name: next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                               if line.startswith(name)), "")
    from memkd.train import cpu_has_native_bf16  # the definition `precision: auto` goes by

    bf16 = cpu_has_native_bf16()
    cores = len(psutil.Process().cpu_affinity()) if hasattr(psutil.Process, "cpu_affinity") else psutil.cpu_count()
    model = field("model name") or "unknown CPU"
    return {"key": f"{model}, {cores} cores, {'native bf16' if bf16 else 'no native bf16'}",
            "mhz": round(float(field("cpu MHz") or "nan"))}


def by_machine(results: list[dict]) -> dict[str, list[dict]]:
    """Records grouped by the machine they ran on (records from before the machine was recorded: "unrecorded"),
    each group sorted by size, the last record of a size kept: time per stage is fitted within one machine only."""
    groups: dict[str, dict[int, dict]] = defaultdict(dict)
    for result in results:
        groups[result.get("machine", {}).get("key", "unrecorded")][result["pairs"]] = result
    return {key: sorted(sizes.values(), key=lambda r: r["pairs"]) for key, sizes in groups.items()}


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares intercept and slope of ys on xs, and R^2 (1.0 when ys are all equal and fitted exactly)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(((y - (intercept + slope * x)) ** 2).sum())
    spread = float(((y - y.mean()) ** 2).sum())
    return float(intercept), float(slope), 1.0 - residual / spread if spread else 1.0


def line_through_last_two(xs, ys) -> tuple[float, float]:
    """Intercept and slope of the line through the last two (x, y) points (xs ascending)."""
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return ys[-1] - slope * xs[-1], slope


def projection(results: list[dict], target: int, memory_at: int = 2_000_000) -> list[dict]:
    """Per rule, over the rehearsal sizes: summed job seconds fitted linearly in the pairs (R^2) and projected to
    `target` pairs (2 cores, tiny models: the shape of the costs, not a cluster's hours); peak MB extended to
    `memory_at` pairs along the line through the two largest sizes (sharded jobs level off at their shard size, so a
    fit through the small sizes would overstate them). Rules in STAGE_OF count as their stage (seconds summed, the
    largest peak)."""
    rows = []
    sizes = [result["pairs"] for result in results]
    for rule in sorted({STAGE_OF.get(r["rule"], r["rule"]) for result in results for r in result["rules"]}):
        found = [[r for r in result["rules"] if STAGE_OF.get(r["rule"], r["rule"]) == rule] for result in results]
        if any(not f for f in found) or rule == "all":
            continue
        seconds = [sum(r["total_s"] for r in f) for f in found]
        memory = [max(r["peak_rss_mb"] for r in f) for f in found]
        intercept, slope, r2 = linear_fit(sizes, seconds)
        _, memory_slope = line_through_last_two(sizes, memory)
        rows.append({"rule": rule, "seconds": seconds, "s_per_million": slope * 1e6, "r2": r2,
                     "projected_s": intercept + slope * target, "peak_mb": memory,
                     "mb_per_million": memory_slope * 1e6,
                     "projected_mb": memory[-1] + memory_slope * (memory_at - sizes[-1])})
    return sorted(rows, key=lambda row: -row["projected_s"])


def print_size(result: dict, cores: int) -> None:
    runs = result.get("invocations", 1)
    sittings = f", in {runs} invocations with the jobs stopped between them rerun" if runs > 1 else ""
    print(f"\n## {result['pairs']:,} pairs: {result['wall_s']:.0f} s wall ({cores} cores{sittings}; corpus generated "
          f"in {result['corpus_generation_s']:.0f} s)\n")
    print("| rule | jobs | total s | max s | peak MB |\n|---|---|---|---|---|")
    for r in sorted(result["rules"], key=lambda r: -r["total_s"]):
        print(f"| {r['rule']} | {r['jobs']} | {r['total_s']:.0f} | {r['max_s']:.0f} | {r['peak_rss_mb']:.0f} |")


def print_projection(results: list[dict], target: int, memory_at: int) -> None:
    sizes = " / ".join(f"{result['pairs']:,}" for result in results)
    print(f"\n## Per stage against pairs ({sizes}): summed job seconds fitted linearly and projected to {target:,} "
          f"pairs; peak MB extended to {memory_at:,} pairs from the two largest sizes\n")
    print(f"| rule | seconds | s per 1M pairs | R^2 | projected s at {target:,} | peak MB | MB per 1M pairs | "
          f"MB at {memory_at:,} |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for row in projection(results, target, memory_at):
        print(f"| {row['rule']} | {' / '.join(f'{s:.0f}' for s in row['seconds'])} | {row['s_per_million']:.0f} | "
              f"{row['r2']:.3f} | {row['projected_s']:,.0f} | {' / '.join(f'{m:.0f}' for m in row['peak_mb'])} | "
              f"{row['mb_per_million']:.0f} | {row['projected_mb']:,.0f} |")
    walls = [result["wall_s"] for result in results]
    intercept, slope, r2 = linear_fit([result["pairs"] for result in results], walls)
    print(f"\nWall: {' / '.join(f'{w:.0f}' for w in walls)} s; {slope * 1e6:.0f} s per 1M pairs (R^2 {r2:.3f}); "
          f"{(intercept + slope * target) / 3600:.1f} h projected at {target:,} pairs on these cores.")


def short_count(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1000:g}k"


def job_requests(log: str) -> pd.DataFrame:
    """Every job a Snakemake log starts: rule, its input paths, wildcards and the mem_mb and runtime it was given."""
    rows = []
    # one block per job: from its rule line to the next job's (two jobs can start under one timestamp)
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", log):
        rule = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if not rule:
            continue
        found = {key: re.search(rf"^\s+{key}: (.*)$", block, re.M) for key in ("input", "wildcards", "resources")}
        resources = dict(item.split("=", 1) for item in found["resources"].group(1).split(", ")) \
            if found["resources"] else {}
        rows.append({
            "rule": rule.group(1),
            "inputs": found["input"].group(1).split(", ") if found["input"] else [],
            "wildcards": dict(item.split("=", 1) for item in found["wildcards"].group(1).split(", "))
            if found["wildcards"] else {},
            "mem_mb": int(resources["mem_mb"]) if "mem_mb" in resources else None,
            "runtime": int(resources["runtime"]) if "runtime" in resources else None,
        })
    return pd.DataFrame(rows, columns=["rule", "inputs", "wildcards", "mem_mb", "runtime"])


def check_resources(workdir: Path) -> pd.DataFrame:
    """Per rule of a rehearsal folder: the largest data input of its jobs (MiB; a shard job's share), the memory its
    jobs were given in that run, the memory this checkout's rules ask for those inputs (memkd.resources; "fixed" where
    a rule keeps a literal) and the job's peak from peaks.json. A cluster kills a job whose peak passes what it asked."""
    from memkd.resources import RULES, cm_half_mb, job_data_mb, rule_resource

    logs = sorted(workdir.glob("snakemake*.out"))
    jobs = pd.concat([job_requests(path.read_text()) for path in logs], ignore_index=True)
    peaks = json.loads((workdir / "peaks.json").read_text())
    with contextlib.chdir(workdir):  # the logs' paths are relative to it
        rows = []
        for rule, group in jobs.groupby("rule"):
            sizes = []
            for inputs, wildcards in zip(group["inputs"], group["wildcards"]):
                plan = next((path for path in inputs if path.startswith("results/shards/")), None)
                shard = int(wildcards["shard"]) if "shard" in wildcards else None
                sizes.append(job_data_mb(inputs, plan, shard))
            size = max(sizes)
            entry = rule
            if rule == "train_cm_models":  # its models train in turn: the memory of one on half of the study pairs
                studies = [path for inputs in group["inputs"] for path in inputs if path.endswith("study_train.tsv")]
                asked_now = max(rule_resource("train_model", "mem_mb", cm_half_mb(path)) for path in studies)
            else:
                # memorization_examples given ExMem's table (sharding on) only joins tables: its own entry
                exmem_given = any(path.endswith("/exmem.tsv") for inputs in group["inputs"] for path in inputs)
                entry = f"{rule}_sharded" if rule == "memorization_examples" and exmem_given else rule
                asked_now = rule_resource(entry, "mem_mb", size) if entry in RULES else None
            peak = peaks.get(RULE_SCRIPT.get(rule, rule))
            rows.append({"rule": rule, "entry": entry, "jobs": len(group), "input_mib": round(size, 1),
                         "given_mb": group["mem_mb"].max(), "asked_now_mb": asked_now,
                         "peak_mb": None if peak is None else round(peak)})
    return pd.DataFrame(rows).sort_values("input_mib", ascending=False)


def fit_memory(tables: list[pd.DataFrame], margin: float = 1.25, scale: float = 20.0) -> pd.DataFrame:
    """Per memkd.resources entry measured at two or more input sizes (check_resources of each rehearsal size): its
    peak MB against input MiB along the line through the two largest sizes (as `projection` extends memory: a job
    that reads a chunk at a time grows until its chunk is full, so the small sizes would overstate its slope), the
    per-MiB term that slope asks with `margin` (rounded up to 0.05), whether the rule's base covers the line's
    intercept with that margin, whether base + fitted term covers every measured peak, and what the rule asks now and
    with the fitted term at `scale` x the largest input (20: 2M -> 40M pairs). Tables of two runs of one size count
    its larger peak (sampled peaks are lower bounds). Shard jobs read one shard's share at
    every size, so they have no slope to fit and are left out; so are rules with no peak."""
    from memkd.resources import RULES, scaled

    points = pd.concat([table[table["entry"].isin(RULES) & table["peak_mb"].notna()] for table in tables])
    rows = []
    for entry, group in points.groupby("entry"):
        # two runs of one size (the same inputs): the larger peak, as both are lower bounds
        group = group.groupby("input_mib", as_index=False)["peak_mb"].max().sort_values("input_mib")
        sizes, peaks = group["input_mib"].to_numpy(float), group["peak_mb"].to_numpy(float)
        if len(set(sizes)) < 2 or sizes[-1] < 1.5 * sizes[-2]:
            continue
        intercept, slope = line_through_last_two(sizes, peaks)
        base, per_mb_now = RULES[entry]["mem_mb"]
        per_mb_fit = math.ceil(max(slope, 0.0) * margin * 20 - 1e-9) / 20 or 0.05
        at = scale * sizes.max()
        rows.append({"entry": entry, "input_mib": list(sizes), "peak_mb": list(peaks),
                     "intercept_mb": intercept, "mb_per_mib": slope, "base": base,
                     "base_covers": base >= margin * intercept, "per_mb_now": per_mb_now, "per_mb_fit": per_mb_fit,
                     "at_mib": at, "asked_now_at": scaled(base, per_mb_now, at),
                     "asked_fit_at": scaled(base, per_mb_fit, at),
                     "fitted_peak_at": intercept + slope * at,
                     "fit_covers_peaks": bool(all(scaled(base, per_mb_fit, s) >= p for s, p in zip(sizes, peaks)))})
    return pd.DataFrame(rows)


def print_memory_fit(fit: pd.DataFrame) -> None:
    print("| rule | input MiB | peak MB | MB per MiB | per MiB asked now | fitted x1.25 | input MiB x20 | "
          "line's peak there | asked now | asked fitted |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in fit.itertuples():
        flags = ("" if row.base_covers else " (base < intercept)") + ("" if row.fit_covers_peaks else " **under**")
        print(f"| {row.entry} | {' / '.join(f'{s:,.0f}' for s in row.input_mib)} | "
              f"{' / '.join(f'{p:,.0f}' for p in row.peak_mb)} | {row.mb_per_mib:.2f} | "
              f"{row.per_mb_now:g} | {row.per_mb_fit:g}{flags} | {row.at_mib:,.0f} | {row.fitted_peak_at:,.0f} | "
              f"{row.asked_now_at:,} | {row.asked_fit_at:,} |")


def print_resource_check(table: pd.DataFrame) -> None:
    """check_resources' table; a peak / asked above 1 is a job a cluster would kill (marked)."""
    def number(value) -> str:
        return "" if value is None or pd.isna(value) else f"{int(value):,}"

    def share(peak, limit) -> str:
        if peak is None or pd.isna(peak) or limit is None or pd.isna(limit) or not limit:
            return ""
        return f"{peak / limit:.2f}" + (" **over**" if peak > limit else "")

    print("| rule | jobs | input MiB | MB given then | peak MB | peak / given | MB asked now | peak / asked now |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in table.itertuples():
        fixed = row.asked_now_mb is None or pd.isna(row.asked_now_mb)
        now = row.given_mb if fixed else row.asked_now_mb
        print(f"| {row.rule} | {row.jobs} | {row.input_mib:,.1f} | {number(row.given_mb)} | {number(row.peak_mb)} | "
              f"{share(row.peak_mb, row.given_mb)} | {'fixed' if fixed else number(now)} | {share(row.peak_mb, now)} |")


def print_readme_table(results: list[dict], target: int, top: int) -> None:
    """The README's short table: the `top` costliest stages at `target` pairs, the rest summed, and every job's peak."""
    rows = projection(results, target)
    sizes = " / ".join(short_count(result["pairs"]) for result in results)
    print(f"| stage (rule) | s per 1M pairs | R^2 | projected h at {target // 1_000_000}M | peak MB at {sizes} |")
    print("|---|---:|---:|---:|---|")
    for row in rows[:top]:
        print(f"| `{row['rule']}` | {row['s_per_million']:,.0f} | {row['r2']:.3f} | {row['projected_s'] / 3600:.1f} | "
              f"{' / '.join(f'{m:,.0f}' for m in row['peak_mb'])} |")
    rest = rows[top:]
    print(f"| {len(rest)} other stages | {sum(r['s_per_million'] for r in rest):,.0f} | | "
          f"{sum(r['projected_s'] for r in rest) / 3600:.1f} | largest at {short_count(results[-1]['pairs'])}: "
          f"{max((r['peak_mb'][-1] for r in rest), default=float('nan')):,.0f} |")
    print(f"| **all jobs (summed)** | **{sum(r['s_per_million'] for r in rows):,.0f}** | | "
          f"**{sum(r['projected_s'] for r in rows) / 3600:.1f}** | |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="a workflow table of pairs to vary (runs the rehearsal)")
    parser.add_argument("--pairs", type=int, nargs="+", help="corpus sizes to run")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rehearsal"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--shard", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--jsonl", type=Path, help="append each size's record here")
    parser.add_argument("--stop-after", type=float, metavar="SECONDS",
                        help="stop the run after this long; the same command resumes it later (same machine kind "
                             "and commit), counting only the jobs that finished")
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of earlier records (no run)")
    parser.add_argument("--project", type=int, default=40_000_000, help="pairs to project each stage's time to")
    parser.add_argument("--memory-at", type=int, default=2_000_000, help="pairs to extend each stage's memory to")
    parser.add_argument("--readme", type=int, metavar="TOP", help="print only the README's table of the TOP stages")
    parser.add_argument("--fit-memory", type=Path, nargs="+", metavar="WORKDIR",
                        help="rehearsal sizes' folders (WORKDIR/nN): each rule's peak MB fitted in its input MiB, "
                             "against memkd.resources' per-MiB term")
    parser.add_argument("--check-resources", type=Path, metavar="WORKDIR",
                        help="a rehearsal size's folder (WORKDIR/nN): memory asked per rule against its jobs' peaks")
    args = parser.parse_args()
    if args.fit_memory:
        print_memory_fit(fit_memory([check_resources(workdir) for workdir in args.fit_memory]))
        return
    if args.check_resources:
        print_resource_check(check_resources(args.check_resources))
        return
    if args.report:
        records = [json.loads(line) for path in args.report for line in path.read_text().splitlines() if line]
        for key, results in by_machine(records).items():
            commits = sorted({result.get("commit", "unrecorded") for result in results})
            print(f"\n# Machine: {key} ({len(results)} size(s); commit(s) {', '.join(commits)})")
            report(results, args)
        return
    if not (args.base and args.pairs):
        parser.error("a run needs --base and --pairs (or --report RECORDS to print earlier ones)")
    pairs = base_pairs(args.base)
    results = []
    for n in args.pairs:
        result = rehearse(args, n, pairs)
        if result is None:
            break
        results.append(result)
        if args.jsonl:
            with open(args.jsonl, "a") as out:
                out.write(json.dumps(result) + "\n")
    if results:
        report(results, args)


def report(results: list[dict], args) -> None:
    """The tables of one machine's records, sorted by size."""
    if args.readme:
        if len(results) > 1:
            print_readme_table(results, args.project, args.readme)
        return
    for result in results:
        print_size(result, args.cores)
    if len(results) > 1:
        print_projection(results, args.project, args.memory_at)


if __name__ == "__main__":
    main()
