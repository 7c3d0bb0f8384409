"""Benchmark: peak memory and time of the subgroups table's script on generated inputs of N study pairs, without
running the workflow before it. Prints a Markdown row per run; asserts nothing.

The inputs are what `subgroups_table` reads for 2 directions x 1 seed x 3 models (teacher, baseline, student): the
study pairs (Bible pairs of --base, repeated with the row's number appended, as bench/rehearsal.py's corpus), their
reference QE, CM values and teacher scores, and each model's per-pair examples (its output: the reference for a
third of the pairs, the reference without its last word otherwise). The script runs in a fresh process with
Snakemake's `snakemake` object built by hand; peak RSS is the process's own and the largest of its worker
processes' (VmHWM and resource.getrusage), so the job's summed peak lies between the larger and the sum.

    .venv/bin/python bench/table_memory.py --base results/data/bible/en-es/train.tsv --pairs 1000000 \\
        [--script scripts/subgroups_table.py] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ROLES = ["teacher", "baseline", "student"]
UNITS = [("en-es", 1), ("es-en", 1)]


def write(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write("\t".join(header) + "\n")
        for row in rows:
            out.write("\t".join(map(str, row)) + "\n")


def generate(folder: Path, base: list[tuple[str, str]], n: int) -> dict[str, str]:
    """The subgroups table's inputs for n study pairs per unit; returns its input mapping (rule keys -> paths)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from rehearsal import number_words

    rng = np.random.default_rng(1)
    inputs = {}
    for k, (direction, seed) in enumerate(UNITS):
        unit = f"bible/{direction}/seed{seed}"
        ids = [f"r{i}" for i in range(n)]
        targets = [f"{base[i % len(base)][1]} {number_words(i)}" for i in range(n)]
        flags = rng.choice(["", "shift", "lowoverlap"], size=n, p=[0.9, 0.05, 0.05])
        paths = {
            "pairs": folder / f"results/data/bible/{direction}/study_train.tsv",
            "qe": folder / f"results/quality/{unit}/reference/study_train.tsv",
            "cm": folder / f"results/cm/{unit}/examples.tsv",
            "confidence": folder / f"results/scores/{unit}/teacher/study_train.tsv",
        }
        write(paths["pairs"], ["id", "tgt", "flags", "pair_count"],
              zip(ids, targets, flags, rng.integers(1, 3, size=n)))
        write(paths["qe"], ["id", "qe", "qe_method"],
              zip(ids, np.round(rng.random(n), 6), ["dual_xent"] * n))
        write(paths["cm"], ["id", "cm", "repetitions"],
              zip(ids, np.round(rng.random(n) - 0.2, 6), rng.integers(1, 7, size=n)))
        tokens = rng.integers(5, 40, size=n)
        write(paths["confidence"], ["id", "tokens", "log_prob"],
              zip(ids, tokens, np.round(-rng.random(n) * tokens, 4)))
        for role in ROLES:
            exact = rng.random(n) < 1 / 3
            outputs = (t if e else t.rsplit(" ", 1)[0] for t, e in zip(targets, exact))
            paths[role] = folder / f"results/memorization/{unit}/{role}/examples.tsv"
            write(paths[role], ["id", "output", "exact_match", "exact_match_teacher", "output_qe"],
                  zip(ids, outputs, exact.astype(int), (rng.random(n) < 0.5).astype(int), np.round(rng.random(n), 6)))
        inputs.update({f"{key}{k}": str(path) for key, path in paths.items()})
    return inputs


def zero_statistics(hypotheses_path, hypothesis_column, references_path, reference_column, processes=1):
    """--tables-only: BLEU/chrF statistics of the right shape, all zero and written (so resident), without counting
    them: what the job holds of its own tables, apart from sacreBLEU's counting, which is the same in every version."""
    from memkd.io import iter_chunks

    rows = sum(len(chunk) for chunk in iter_chunks(references_path, ["id"]))
    return np.full((rows, 10), 0, dtype=np.int32), np.full((rows, 18), 0, dtype=np.int32)


def run_script(script: str, inputs: dict, output: str, log: str, threads: int, tables_only: bool = False) -> dict:
    """The rule script in this process with a hand-built `snakemake` object; its seconds and peak RSS."""
    import yaml
    from snakemake.iocontainers import Namedlist

    if tables_only:
        import memkd.metrics.subgroups

        memkd.metrics.subgroups.table_statistics = zero_statistics  # the script imports it from there when it runs

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    snakemake = type("Snakemake", (), {})()
    snakemake.input = Namedlist(fromdict=inputs)
    snakemake.output = Namedlist([output])
    snakemake.log = Namedlist([log])
    snakemake.params = Namedlist(fromdict={"settings": config["subgroups"], "seed": config["statistics"]["seed"],
                                           "roles": ROLES})
    snakemake.threads = threads
    started = time.perf_counter()
    runpy.run_path(script, init_globals={"snakemake": snakemake})
    return {"seconds": time.perf_counter() - started, "self_mb": peak_rss_mb(),
            "workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def cached_inputs(folder: Path, make) -> dict[str, str]:
    """The input mapping that make() generated in `folder`, made once and then read from its inputs.json."""
    inputs_file = folder / "inputs.json"
    if inputs_file.exists():
        return json.loads(inputs_file.read_text())
    inputs = make()
    inputs_file.write_text(json.dumps(inputs))
    return inputs


def peak_rss_mb() -> float:
    """This process's peak resident memory since its exec (VmHWM): getrusage's ru_maxrss also counts what the
    parent held when it forked it (here the generated inputs, when they are made in the same run)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--script", nargs="+", default=[str(ROOT / "scripts/subgroups_table.py")])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="generate the inputs here (reused if present) instead of a temp dir")
    parser.add_argument("--tables-only", action="store_true",
                        help="BLEU/chrF statistics replaced by zeros of their shape: the memory of the job's own tables")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: JSON arguments of run_script
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_script(**json.loads(args.run))))
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from rehearsal import base_pairs

    with tempfile.TemporaryDirectory(prefix="table_memory_") as scratch:
        folder = args.keep or Path(scratch)
        started = time.perf_counter()
        inputs = cached_inputs(folder, lambda: generate(folder, base_pairs(args.base), args.pairs))
        mib = sum(Path(path).stat().st_size for path in inputs.values()) / 2**20
        print(f"# subgroups_table on {args.pairs:,} study pairs x {len(UNITS)} units x {len(ROLES)} models "
              f"({mib:,.0f} MiB of inputs, made in {time.perf_counter() - started:.0f} s), {args.threads} threads"
              f"{', BLEU/chrF statistics not counted (--tables-only)' if args.tables_only else ''}\n")
        print("| script | seconds | peak RSS MB (job) | peak RSS MB (largest worker) | MB per input MiB (job) |")
        print("|---|---:|---:|---:|---:|")
        for script in args.script:
            call = {"script": script, "inputs": inputs, "output": str(folder / "subgroups.tsv"),
                    "log": str(folder / "subgroups.log"), "threads": args.threads, "tables_only": args.tables_only}
            done = subprocess.run([sys.executable, __file__, "--base", str(args.base), "--run", json.dumps(call)],
                                  capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{script} failed:\n{done.stderr[-3000:]}\n{(folder / 'subgroups.log').read_text()[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {script} | {result['seconds']:.1f} | {result['self_mb']:,.0f} | {result['workers_mb']:,.0f} | "
                  f"{result['self_mb'] / mib:.2f} |")
            (folder / "subgroups.tsv").rename(folder / f"subgroups.{Path(script).stem}.{len(list(folder.glob('subgroups.*.tsv')))}.tsv")


if __name__ == "__main__":
    main()
