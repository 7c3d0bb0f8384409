"""Benchmark: peak memory and time of the scripts of the jobs that read a whole table (--job memorization_examples,
cm_design, study_subset, direction_view or extract_corpus) on generated inputs of N pairs, without running the workflow before
them. Prints a Markdown row per script; asserts nothing.

The inputs are what one `memorization_examples` job reads with sharding on (ExMem's candidates and prefixes from
the gathered exmem_shard table, so nothing is decoded): the study pairs (Bible pairs of --base with the row's number
in words appended, as bench/rehearsal.py's corpus), the model's outputs (the reference for a third of the pairs, a
shared output for one in fifty, the reference without its last word otherwise), the teacher's SeqKD table, the
outputs' quality estimates and a probe set of 1,000 pairs; for cm_design, the study pairs with one in fifty a copy of
the pair before it and a preprocessing group column linking one pair in ten to another; for study_subset and
direction_view, those pairs as the training split (columns id, en, es and the bookkeeping columns; study_subset
keeps the pairs of at most study.max_subwords pieces a side, and half of them by id hash); for extract_corpus, those
pairs as a user's corpus (a TSV without header: id, source, target, as bench/rehearsal.py writes it); for
memorization_predictor, the study pairs with generated reference scores, KL and replication flags; for seqkd_data,
the study pairs and the model's outputs as the teacher's translations; for counterfactual_table, one direction and
seed's CM table and reference QE over the study pairs; for qe_training_pairs, the training split with one pair in 70
flagged misaligned, every other pair of it the study's, and a tenth of the pairs asked for the QE models; for
counterfactual_memorization, a balanced design of 6 CM models over the study pairs and each model's scores; for
quality_estimates_table, the generated QE table as the references' and three models' outputs' estimates; for
memorization_tables and variants_table, one generated model's examples (memorization_examples run once) as each of 14
models' flags (2 directions x 2 seeds, teacher, baseline, student, and Word-KD at seed 1). The model (for
the decoding signature) comes from a finished run. Each script runs in a fresh process with Snakemake's `snakemake`
object built by hand; peak RSS is the process's own (VmHWM). A script inside another checkout (a folder with
src/memkd) runs with that checkout's library. To compare with the script before streaming:

    git show 87cb52b:scripts/memorization_examples.py > /tmp/examples_whole.py
    .venv/bin/python bench/job_memory.py --base RUN/results/data/bible/en-es/train.tsv --run RUN \\
        --pairs 1000000 --script /tmp/examples_whole.py scripts/memorization_examples.py
    git worktree add /tmp/dda9209 dda9209      # extract_corpus before streaming, with its own library
    .venv/bin/python bench/job_memory.py --base RUN/results/data/bible/en-es/train.tsv --run RUN \\
        --job extract_corpus --pairs 2000000 --script /tmp/dda9209/scripts/extract_corpus.py scripts/extract_corpus.py
"""

from __future__ import annotations

import argparse
import json
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PROBE = 1000
sys.path.insert(0, str(ROOT / "bench"))
from table_memory import cached_inputs, peak_rss_mb, write  # noqa: E402 (a sibling benchmark's helpers)


def generate(folder: Path, base: list[tuple[str, str]], n: int) -> dict[str, str]:
    """memorization_examples' data inputs for n study pairs (rule keys -> paths)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from rehearsal import number_words

    rng = np.random.default_rng(1)
    ids = [f"r{i}" for i in range(n)]
    sources = [f"{base[i % len(base)][0]} {number_words(i)}" for i in range(n)]
    targets = [f"{base[i % len(base)][1]} {number_words(i)}" for i in range(n)]
    kind = rng.choice(3, size=n, p=[1 / 3, 0.02, 1 - 1 / 3 - 0.02])
    outputs = [t if k == 0 else "Y dijo Dios: Sea la luz." if k == 1 else t.rsplit(" ", 1)[0]
               for t, k in zip(targets, kind)]
    paths = {key: folder / name for key, name in [
        ("pairs", "study_train.tsv"), ("hypotheses", "study_train.greedy.txt"), ("teacher_hypotheses", "seqkd.tsv"),
        ("probe", "probe.tsv"), ("probe_hypotheses", "probe.greedy.txt"), ("output_quality", "quality.tsv"),
        ("exmem", "exmem.tsv")]}
    for i in range(1, n, 50):  # exact copies: one design unit with their original
        sources[i], targets[i] = sources[i - 1], targets[i - 1]
    group = [f"g{i // 2}" if i % 10 < 2 else f"s{i}" for i in range(n)]
    write(paths["pairs"], ["id", "src", "tgt", "group"], zip(ids, sources, targets, group))
    paths["train"] = folder / "train.tsv"
    paths["corpus"] = folder / "corpus.tsv"  # a user's corpus: no header
    paths["corpus"].write_text("".join(f"{i}\t{s}\t{t}\n" for i, s, t in zip(ids, sources, targets)), encoding="utf-8")
    write(paths["train"], ["id", "en", "es", "flags", "pair_count", "en_count", "es_count", "group"],
          ((i, s, t, "", 1, 1, 1, g) for i, s, t, g in zip(ids, sources, targets, group)))
    paths["hypotheses"].write_text("".join(o + "\n" for o in outputs), encoding="utf-8")
    teacher = (t if rng.random() < 0.5 else o for t, o in zip(targets, outputs))
    write(paths["teacher_hypotheses"], ["id", "src", "tgt"], zip(ids, sources, teacher))
    write(paths["probe"], ["id", "src", "tgt"], zip(ids[:PROBE], sources[:PROBE], targets[:PROBE]))
    paths["probe_hypotheses"].write_text("".join(o + "\n" for o in outputs[:PROBE]), encoding="utf-8")
    write(paths["output_quality"], ["id", "qe", "qe_method"],
          zip(ids, np.round(rng.random(n) * 0.02, 6), ["dual_xent"] * n))
    candidate = (kind == 0) & (rng.random(n) < 0.5)
    prefix = np.where(candidate & (rng.random(n) < 0.5), rng.integers(1, 9, size=n), -1)
    write(paths["exmem"], ["id", "exmem_candidate", "exmem_teacher_candidate", "exmem_prefix_tokens"],
          zip(ids, candidate.astype(int), (rng.random(n) < 0.2).astype(int), ["" if p < 0 else p for p in prefix]))
    return {key: str(path) for key, path in paths.items()}


def predictor_inputs(folder: Path, inputs: dict) -> dict[str, str]:
    """memorization_predictor's inputs besides the study pairs (made once in `folder`): the teacher's and the
    baseline's reference scores, their KL, the baseline's replication flags and the student's (a pair the student
    replicates is likelier where the generated teacher score is high, so the features predict something)."""
    paths = {key: folder / "predictor" / name for key, name in [
        ("teacher0", "teacher.tsv"), ("baseline0", "baseline.tsv"), ("kl0", "kl.tsv"),
        ("baseline_flags0", "memorization/bible/en-es/seed1/baseline/examples.tsv"),
        ("student0", "memorization/bible/en-es/seed1/student/examples.tsv")]}
    if not paths["student0"].exists():
        ids = pd.read_csv(inputs["pairs"], sep="\t", usecols=["id"], dtype=str)["id"]
        n, rng = len(ids), np.random.default_rng(2)
        tokens = rng.integers(4, 30, size=n)
        teacher = -rng.gamma(2.0, 0.4, size=n) * tokens
        baseline = teacher - rng.gamma(2.0, 0.3, size=n) * tokens
        write(paths["teacher0"], ["id", "tokens", "log_prob"], zip(ids, tokens, np.round(teacher, 6)))
        write(paths["baseline0"], ["id", "tokens", "log_prob"], zip(ids, tokens, np.round(baseline, 6)))
        write(paths["kl0"], ["id", "tokens", "kl_sum"], zip(ids, tokens, np.round(rng.gamma(2.0, 1.0, size=n), 6)))
        chance = 1 / (1 + np.exp(-(teacher / tokens + 1.0) * 3))
        write(paths["baseline_flags0"], ["id", "exact_match"], zip(ids, (rng.random(n) < chance / 2).astype(int)))
        write(paths["student0"], ["id", "exact_match"], zip(ids, (rng.random(n) < chance).astype(int)))
    return {"pairs0": inputs["pairs"], **{key: str(path) for key, path in paths.items()}}


def counterfactual_inputs(folder: Path, inputs: dict) -> dict[str, list[str]]:
    """counterfactual_table's inputs (made once in `folder`): one direction and seed's CM table over the study pairs
    and the pairs' reference QE."""
    cm = folder / "counterfactual/results/cm/bible/en-es/seed1/examples.tsv"
    qe = folder / "counterfactual/results/quality/bible/en-es/seed1/reference/study_train.tsv"
    if not qe.exists():
        ids = pd.read_csv(inputs["pairs"], sep="\t", usecols=["id"], dtype=str)["id"]
        n, rng = len(ids), np.random.default_rng(3)
        p_in, p_out = np.round(rng.random(n), 6), np.round(rng.random(n) * 0.5, 6)
        write(cm, ["id", "group_size", "repetitions", "in_models", "out_models", "p_in", "p_out", "cm", "score"],
              zip(ids, [1] * n, [1] * n, [3] * n, [3] * n, p_in, p_out, np.round(p_in - p_out, 6),
                  ["geometric-mean token probability"] * n))
        write(qe, ["id", "qe", "qe_method"], zip(ids, np.round(-rng.random(n) * 3, 6), ["dual_xent"] * n))
    return {"cm": [str(cm)], "qe": [str(qe)]}


def qe_inputs(folder: Path, inputs: dict) -> dict[str, str]:
    """qe_training_pairs' inputs (made once in `folder`): the training split with one pair in 70 flagged misaligned,
    and every other pair of it as the study's pairs."""
    train, study = folder / "qe/train.tsv", folder / "qe/study_train.tsv"
    if not study.exists():
        train.parent.mkdir(parents=True, exist_ok=True)
        with open(inputs["train"], encoding="utf-8") as source, open(train, "w", encoding="utf-8") as out, \
                open(study, "w", encoding="utf-8") as chosen:
            header = source.readline().rstrip("\n").split("\t")
            out.write("\t".join(header) + "\n")
            chosen.write("id\tsrc\ttgt\tgroup\n")
            flags, group = header.index("flags"), header.index("group")
            for row, line in enumerate(source):
                cells = line.rstrip("\n").split("\t")
                cells[flags] = "shift" if row % 70 == 0 else "lowoverlap" if row % 70 == 35 else "-"
                out.write("\t".join(cells) + "\n")
                if row % 2:
                    chosen.write(f"{cells[0]}\t{cells[1]}\t{cells[2]}\t{cells[group]}\n")
    return {"train": str(train), "study": str(study)}


def cm_inputs(folder: Path, inputs: dict, models: int = 6) -> dict:
    """counterfactual_memorization's inputs (made once in `folder`): a balanced design of `models` CM models over the
    study pairs and each model's reference scores."""
    design = folder / "cm/design.tsv"
    scores = [folder / f"cm/cm{k:02d}/study_train.tsv" for k in range(models)]
    if not scores[-1].exists():
        ids = pd.read_csv(inputs["pairs"], sep="\t", usecols=["id"], dtype=str)["id"]
        n, rng = len(ids), np.random.default_rng(4)
        halves = np.argsort(rng.random((n, models)), axis=1) < models // 2  # each pair IN for half the models
        write(design, ["id", "design_group", "group_size", "repetitions", *[f"cm{k:02d}" for k in range(models)]],
              zip(ids, range(n), [1] * n, [1] * n, *[halves[:, k].astype(int) for k in range(models)]))
        tokens = rng.integers(4, 30, size=n)
        for k, path in enumerate(scores):
            write(path, ["id", "tokens", "log_prob"],
                  zip(ids, tokens, np.round(-rng.gamma(2.0, 0.5, size=n) * tokens * (1 - 0.3 * halves[:, k]), 6)))
    return {"design": str(design), "scores": [str(path) for path in scores]}


def quality_inputs(folder: Path, inputs: dict) -> list[str]:
    """quality_estimates_table's inputs: the generated QE table as the references' and three models' outputs' QE
    (links to one file, in the workflow's folder layout)."""
    paths = [folder / f"quality/results/quality/gen/en-es/seed1/{texts}/study_train.tsv"
             for texts in ("reference", "teacher", "baseline", "student")]
    for path in paths:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(Path(inputs["output_quality"]).resolve())
    return [str(path) for path in paths]


FLAG_UNITS = [(direction, seed) for direction in ("en-es", "es-en") for seed in (1, 2)]
FLAG_ROLES = ["teacher", "baseline", "student", "word_kd"]


def flag_inputs(folder: Path, inputs: dict) -> dict[str, list[str]]:
    """memorization_tables' and variants_table's inputs: one generated model's examples and summary (the
    memorization_examples job run once on the generated pairs) as every role of 2 directions x 2 seeds (Word-KD at
    seed 1 only, as `variant_seeds`): what those jobs read of 14 models, each model's flags its own file."""
    examples = folder / "flags" / "examples"
    if not Path(f"{examples}.json").exists():
        examples.parent.mkdir(exist_ok=True)
        call = {"script": str(ROOT / "scripts/memorization_examples.py"), "inputs": inputs, "output": str(examples),
                "log": str(examples.parent / "examples.log")}
        subprocess.run([sys.executable, __file__, "--base", "unused", "--run", "unused", "--call", json.dumps(call)],
                       check=True, capture_output=True)
    summary = json.loads(Path(f"{examples}.json").read_text())
    paths: dict[str, list[str]] = {"summaries": [], "examples": []}
    for direction, seed in FLAG_UNITS:
        for role in FLAG_ROLES if seed == 1 else FLAG_ROLES[:3]:
            model_examples = examples.parent / f"{direction}.{seed}.{role}.tsv"
            if not model_examples.exists():  # a file per model, as in the workflow (the same flags in each)
                model_examples.hardlink_to(f"{examples}.tsv")
            path = examples.parent / f"{direction}.{seed}.{role}.json"
            path.write_text(json.dumps({**summary, "direction": direction, "seed": seed, "role": role}))
            paths["summaries"].append(str(path))
            paths["examples"].append(str(model_examples))
    return paths


def run_script(script: str, inputs: dict, output: str, log: str, job: str = "memorization_examples") -> dict:
    """The rule script in this process with a hand-built `snakemake` object; its seconds and peak RSS."""
    import yaml
    from snakemake.iocontainers import Namedlist

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    checkout = Path(script).resolve().parents[1]
    if (checkout / "src/memkd").is_dir():  # a script of another checkout runs with that checkout's library
        sys.path.insert(0, str(checkout / "src"))
    snakemake = type("Snakemake", (), {})()
    snakemake.log = Namedlist([log])
    if job == "memorization_predictor":
        snakemake.input = Namedlist(fromdict=predictor_inputs(Path(inputs["pairs"]).parent, inputs))
        snakemake.output = Namedlist(fromdict={"predictor": f"{output}.tsv", "roc": f"{output}.json"})
        snakemake.params = Namedlist(fromdict={"settings": config["predictor"], "students": ["student"],
                                               "variants": {}})
    elif job == "qe_training_pairs":
        snakemake.input = Namedlist(fromdict=qe_inputs(Path(inputs["pairs"]).parent, inputs))
        snakemake.output = Namedlist(fromdict={"train": f"{output}.tsv", "validity": f"{output}.json"})
        n = int(Path(inputs["pairs"]).parent.name.removeprefix("pairs"))
        snakemake.params = Namedlist(fromdict={
            "settings": {**config["quality_estimation"], "train_pairs": n // 10},
            "salt": config["preprocess"]["split_salt"], "languages": ["en", "es"]})
    elif job == "quality_estimates_table":
        snakemake.input = Namedlist(quality_inputs(Path(inputs["pairs"]).parent, inputs))
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
        snakemake.params = Namedlist(fromdict={"statistics": config["statistics"],
                                               "edges": config["subgroups"]["qe_edges"]})
    elif job == "counterfactual_memorization":
        snakemake.input = Namedlist(fromdict=cm_inputs(Path(inputs["pairs"]).parent, inputs))
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
        snakemake.params = Namedlist(fromdict={"models": [f"cm{k:02d}" for k in range(6)], "score_base": "e"})
    elif job == "counterfactual_table":
        snakemake.input = Namedlist(fromdict=counterfactual_inputs(Path(inputs["pairs"]).parent, inputs))
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
        snakemake.params = Namedlist(fromdict={"models": 6})
    elif job == "seqkd_data":
        snakemake.input = Namedlist(fromdict={"pairs": inputs["pairs"], "hypotheses": inputs["hypotheses"]})
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
    elif job == "extract_corpus":
        snakemake.input = Namedlist([])
        snakemake.output = Namedlist(fromdict={"aligned": f"{output}.tsv", "stats": f"{output}.json"})
        snakemake.wildcards = Namedlist(fromdict={"corpus": "generated"})
        snakemake.params = Namedlist(fromdict={"corpus": {"kind": "tsv", "languages": ["en", "es"],
                                                          "path": inputs["corpus"], "on_undecodable": "error"}})
    elif job in ("study_subset", "direction_view"):
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
        snakemake.wildcards = Namedlist(fromdict={"src": "es", "tgt": "en"})
        n = int(Path(inputs["pairs"]).parent.name.removeprefix("pairs"))
        snakemake.input = Namedlist(fromdict={"train": inputs["train"], "spm": inputs["spm"]})
        if job == "direction_view":
            snakemake.input = Namedlist([inputs["train"]])
        snakemake.params = Namedlist(fromdict={
            "languages": ["en", "es"], "settings": {**config["study"], "max_pairs": n // 2},
            "salt": config["preprocess"]["split_salt"]})
    elif job == "cm_design":
        snakemake.input = Namedlist([inputs["pairs"]])
        snakemake.output = Namedlist([f"{output}.tsv"])
        Path(f"{output}.json").write_text("{}")
        snakemake.wildcards = Namedlist(fromdict={"seed": "1"})
        snakemake.params = Namedlist(fromdict={"models": [f"m{k}" for k in range(config["counterfactual"]["models"])]})
    elif job in ("memorization_tables", "variants_table"):
        snakemake.input = Namedlist(fromdict=flag_inputs(Path(inputs["pairs"]).parent, inputs))
        statistics = config["statistics"]
        variants = {"word_kd": config["variants"]["word_kd"]}  # the default's Word-KD, as the workflow passes it
        if job == "memorization_tables":
            snakemake.output = Namedlist(fromdict={name: f"{output}.{name}.tsv" for name in
                                                   ("memorization", "hallucination", "relative_change", "inheritance")})
            snakemake.params = Namedlist(fromdict={"statistics": statistics, "variants": variants,
                                                   "natural": config["memorization"]["natural"]})
        else:
            snakemake.output = Namedlist([f"{output}.variants.tsv"])
            snakemake.params = Namedlist(fromdict={"statistics": statistics, "variants": variants})
    else:  # memorization_examples
        snakemake.input = Namedlist(fromdict=inputs)
        snakemake.output = Namedlist(fromdict={"examples": f"{output}.tsv", "summary": f"{output}.json"})
        snakemake.wildcards = Namedlist(fromdict={"corpus": "bible", "src": "en", "tgt": "es", "seed": "1",
                                                  "role": "student"})
        snakemake.params = Namedlist(fromdict={"settings": config["memorization"], "decoding": config["decoding"],
                                               "qe_method": config["quality_estimation"]["method"]})
        snakemake.threads = 1
    started = time.perf_counter()
    runpy.run_path(script, init_globals={"snakemake": snakemake})
    return {"seconds": time.perf_counter() - started, "self_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True, help="a finished run: its en-es seed-1 student model")
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--job", choices=["memorization_examples", "cm_design", "study_subset", "direction_view",
                                          "extract_corpus", "memorization_predictor", "seqkd_data",
                                          "counterfactual_table", "qe_training_pairs",
                                          "counterfactual_memorization", "quality_estimates_table",
                                          "memorization_tables", "variants_table"],
                        default="memorization_examples")
    parser.add_argument("--script", nargs="+", help="the rule's scripts to compare (default: this checkout's)")
    parser.add_argument("--keep", type=Path, help="generate the inputs here (reused if present) instead of a temp dir")
    parser.add_argument("--call", help=argparse.SUPPRESS)  # internal: JSON arguments of run_script
    args = parser.parse_args()
    args.script = args.script or [str(ROOT / f"scripts/{args.job}.py")]
    if args.call:
        print(json.dumps(run_script(**json.loads(args.call))))
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from rehearsal import base_pairs

    with tempfile.TemporaryDirectory(prefix="job_memory_") as scratch:
        folder = (args.keep or Path(scratch)) / f"pairs{args.pairs}"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        inputs = cached_inputs(folder, lambda: generate(folder, base_pairs(args.base), args.pairs))
        mib = sum(Path(path).stat().st_size for key, path in inputs.items() if key not in ("train", "corpus")) / 2**20
        model = args.run / "results/models/bible/en-es/seed1/student"
        inputs = {**inputs, "model": str(model), "ct2": str(args.run / "results/ct2/models/bible/en-es/seed1/student"),
                  "spm": str(args.run / "results/data/bible/spm.model")}
        if args.job == "memorization_predictor":  # its other inputs, made before the timed runs
            predictor_inputs(folder, inputs)
        if args.job == "counterfactual_table":
            counterfactual_inputs(folder, inputs)
        if args.job == "qe_training_pairs":
            qe_inputs(folder, inputs)
        if args.job == "counterfactual_memorization":
            cm_inputs(folder, inputs)
        if args.job in ("memorization_tables", "variants_table"):
            flagged = flag_inputs(folder, inputs)
            mib = sum(Path(path).stat().st_size for path in flagged["examples"]) / 2**20
        read = {"cm_design": "pairs", "study_subset": "train", "direction_view": "train",
                "extract_corpus": "corpus", "memorization_predictor": "pairs", "seqkd_data": "pairs",
                "counterfactual_table": "pairs", "qe_training_pairs": "train",
                "counterfactual_memorization": "pairs", "quality_estimates_table": "pairs"}.get(args.job)
        mib = Path(inputs[read]).stat().st_size / 2**20 if read else mib
        print(f"# {args.job} on {args.pairs:,} study pairs ({mib:,.0f} MiB of inputs, made in "
              f"{time.perf_counter() - started:.0f} s)\n")
        print("| script | seconds | peak RSS MB | MB per input MiB | output |")
        print("|---|---:|---:|---:|---|")
        for k, script in enumerate(args.script):
            output = folder / f"examples.{k}"
            call = {"script": script, "inputs": inputs, "output": str(output), "log": str(folder / f"examples.{k}.log"),
                    "job": args.job}
            done = subprocess.run([sys.executable, __file__, "--base", str(args.base), "--run", str(args.run),
                                   "--call", json.dumps(call)], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{script} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            written = sorted(path.name.removeprefix(f"examples.{k}") for path in folder.glob(f"examples.{k}.*")
                             if path.suffix != ".log")
            same = "" if k == 0 else (
                "same output as the first" if written and all(
                    Path(f"{output}{name}").read_bytes() == Path(f"{folder}/examples.0{name}").read_bytes()
                    for name in written) else "**differs from the first**")
            print(f"| {script} | {result['seconds']:.1f} | {result['self_mb']:,.0f} | {result['self_mb'] / mib:.2f} | "
                  f"{same} |")


if __name__ == "__main__":
    main()
