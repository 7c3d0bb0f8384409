"""Fixed cost per job of each rule, and its share of a finished run's summed job time. Prints a Markdown table;
asserts nothing.

    python bench/fixed_cost.py [run folder, default .] [--repeats 3]

A job's fixed cost is what it pays before any work: the Python process, Snakemake's script preamble, the rule
script's imports (timed by running the script in a fresh process with memkd.rulerun.run made a no-op, so the work
never starts) and, for the rules that decode or score, loading the first model from the run folder the way the job
does (memkd.decode.Decoder, from the CTranslate2 folder; score_cm_references converts its CM models from their folders
with numpy, which is its work). CPU seconds of the process (user + system),
median of `--repeats` fresh processes per rule.

Job times come from the run's benchmarks/ (memkd.benchmarks, as bench/benchmark_summary.py prints them). Rules without a benchmark: directive
(evaluate, cm_design, tables, ...) are counted from logs/<rule>/ and their jobs taken to last their fixed cost, so
the share printed for them, and in the total, is a lower bound of their time and an upper bound of nothing.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from memkd.benchmarks import summarize

ROOT = Path(__file__).resolve().parents[1]

# what a rule's job loads before its work: one decoding model (from its CTranslate2 folder), or the two QE models
LOADS = {
    "translate": "model", "translate_model": "model", "score_references": "model",
    "memorization_examples": "model", "quality_estimate": "qe",
}
# what a job imports lazily, once, before its work (code run after the imports): the jobs that build or load a
# model import memkd.marian (torch modules in Hugging Face's layout) and safetensors there (memkd.model.build_model,
# memkd.model.load), not at import time; none imports transformers (tests/unit/test_marian.py). score_cm_references
# converts its CM models without torch (memkd.ct2.converted).
_MARIAN = "from memkd import marian; import safetensors.torch"
LAZY_IMPORTS: dict[str, str] = {rule: _MARIAN for rule in
                                ("train_model", "train_cm_models", "train_qe_model", "teacher_baseline_kl")}

PROBE = r"""
import json, runpy, sys, time, types
import pickle
from snakemake import script  # what Snakemake's script preamble imports
import memkd.rulerun
memkd.rulerun.run = lambda main, log_path: None  # the script defines main and returns: its imports only
runpy.run_path(sys.argv[1], init_globals={"snakemake": types.SimpleNamespace(log=[None])}, run_name="__main__")
imported = time.process_time()
models = json.loads(sys.argv[2])
if models:
    from memkd.decode import Decoder
    for model, ct2 in models:
        Decoder(model, "ctranslate2", threads=1, ct2_dir=ct2)
exec(sys.argv[3])
print(json.dumps({"load": time.process_time() - imported}))
"""


def rule_scripts() -> dict[str, Path]:
    """rule name -> the script it runs, read from workflow/rules/*.smk."""
    scripts = {}
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule \w+:)", path.read_text(), flags=re.MULTILINE):
            name = re.match(r"rule (\w+):", block)
            script = re.search(r'^\s+script:\s*\n\s+"([^"]+)"', block, flags=re.MULTILINE)
            if name and script:
                scripts[name.group(1)] = (path.parent / script.group(1)).resolve()
    return scripts


def first(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern))
    return found[0] if found else None


def models_to_load(folder: Path, kind: str | None) -> list[tuple[str, str | None]] | None:
    """(model folder, CTranslate2 folder or None) the job of this kind loads; None where the run has none."""
    results = folder / "results"
    if kind is None:
        return []
    pattern = "models/*/*/seed*/teacher" if kind == "model" else "qe/*/*/model"
    model = first(results, pattern)
    if model is None:
        return None
    pairs = [model] if kind == "model" else sorted(results.glob(pattern))[:2]
    out = []
    for m in pairs:
        ct2 = results / "ct2" / m.relative_to(results)
        out.append((str(m), str(ct2) if ct2.is_dir() else None))
    return out


def fixed_cost(script: Path, models: list, repeats: int, lazy_imports: str = "") -> dict[str, float]:
    """Median CPU seconds (user + system) of a fresh process up to the end of its imports (start-up) and of the
    model load. CPU time, not wall time, so that a busy machine does not inflate it; a start-up is one thread, so on
    an otherwise idle core the two agree."""
    startups, loads = [], []
    for _ in range(repeats):
        child = subprocess.Popen([sys.executable, "-c", PROBE, str(script), json.dumps(models), lazy_imports], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = child.stdout.read(), child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"{script.name}: {stderr.strip().splitlines()[-1:]}")
        probe = json.loads(stdout.strip().splitlines()[-1])
        cpu = usage.ru_utime + usage.ru_stime
        startups.append(cpu - probe["load"])
        loads.append(probe["load"])
    return {"startup": statistics.median(startups), "load": statistics.median(loads)}


def logged_jobs(folder: Path, rule: str) -> int:
    logs = folder / "logs" / rule
    return sum(1 for p in logs.rglob("*") if p.is_file()) if logs.is_dir() else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=".", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    benchmarked = summarize(args.folder)
    scripts = rule_scripts()
    rules = list(benchmarked.index) + sorted(
        r for r in scripts if r not in benchmarked.index and logged_jobs(args.folder, r)
    )
    print(f"Fixed cost per job (CPU s, median of {args.repeats} fresh processes) against the job times of {args.folder}\n")
    print("| rule | jobs | job time s | start-up s | model load s | fixed s/job | fixed s | fixed share |")
    print("|---|---|---|---|---|---|---|---|")
    total = fixed_total = 0.0
    for rule in rules:
        if rule not in scripts:
            continue
        models = models_to_load(args.folder, LOADS.get(rule))
        cost = fixed_cost(scripts[rule], models or [], args.repeats, LAZY_IMPORTS.get(rule, ""))
        per_job = cost["startup"] + cost["load"]
        if rule in benchmarked.index:
            jobs, seconds, note = int(benchmarked.loc[rule, "jobs"]), float(benchmarked.loc[rule, "total_s"]), ""
        else:  # no benchmark: a job is taken to last its fixed cost
            jobs = logged_jobs(args.folder, rule)
            seconds, note = jobs * per_job, " (no benchmark)"
        fixed = min(jobs * per_job, seconds)
        total, fixed_total = total + seconds, fixed_total + fixed
        load = f"{cost['load']:.2f}" if models or rule in LAZY_IMPORTS else "-"
        print(f"| {rule}{note} | {jobs} | {seconds:.0f} | {cost['startup']:.2f} | {load} | {per_job:.2f} | "
              f"{fixed:.0f} | {fixed / seconds:.0%} |")
    print(f"| all jobs | | {total:.0f} | | | | {fixed_total:.0f} | {fixed_total / total:.0%} |")


if __name__ == "__main__":
    main()
