"""Benchmark: a training job's data, read from memkd's token store, against tokenizing the table in the job (what
every training job did before the store) and against the peer a user would reach for, a Hugging Face `datasets`
tokenization cached as Arrow and memory-mapped on reload. Prints a Markdown table; asserts nothing.

Each step runs in a fresh process (its peak RSS is that process's), taking turns within each round:

- `tokenize in the job`: read the table in chunks and encode both sides into flat arrays, as `encode_table` did in
  each training job before commit 2bc05bf (once per job);
- `memkd: tokenize_pairs` (once per table) and `memkd: job reads the store` (once per job: map the store, the
  preset's truncation, make_batches over the lengths, and the ids of every batch, collated, as one epoch reads them);
- `datasets: map` (once per table: `Dataset.from_csv`, then a batched `map` that encodes both sides and keeps their
  lengths as columns, 1 process, saved as Arrow) and `datasets: job reads the cache` (once per job: `load_from_disk`,
  the length columns, make_batches, and each batch's ids in one batched read in numpy format, collated).

The table: the short pairs of --base (a workflow table, e.g. a run's results/data/bible/en-es/train.tsv) repeated
with per-row variation into --pairs rows (bench/rehearsal.py's corpus), with the run's SentencePiece model:

    .venv/bin/python bench/token_store.py --base results/data/bible/en-es/train.tsv \\
        --spm results/data/bible/spm.model --pairs 1000000 --rounds 2

`datasets` is not a dependency of the study: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LEN = 128  # the presets' max_positions
MAX_TOKENS = 800  # the presets' token budget

STEPS = {
    "tokenize in the job": "encode",
    "memkd: tokenize_pairs": "store_write",
    "memkd: job reads the store": "store_read",
    "datasets: map": "datasets_write",
    "datasets: job reads the cache": "datasets_read",
}


def epoch_of(source_lengths, target_lengths, fetch) -> int:
    """make_batches over the lengths and every batch's ids (`fetch(indices)` -> sources, targets) collated, as one
    training epoch reads them; the number of real tokens."""
    from memkd.data import IGNORE_INDEX, collate, make_batches

    tokens = 0
    for batch in make_batches(source_lengths, target_lengths, MAX_TOKENS):
        collated = collate(*fetch(batch))
        tokens += int(collated["attention_mask"].sum()) + int((collated["labels"] != IGNORE_INDEX).sum())
    return tokens


def epoch_of_arrays(sources, targets) -> int:
    return epoch_of(sources.lengths, targets.lengths,
                    lambda batch: ([sources[i] for i in batch], [targets[i] for i in batch]))


def run_step(step: str, table: str, spm: str, work: str) -> dict:
    """One step in this process; returns its seconds and the tokens it read."""
    import numpy as np

    from memkd.data import TokenArrays, encode, read_token_store, write_token_store
    from memkd.tokenizer import load

    started = time.perf_counter()
    processor = load(spm)
    if step == "encode":
        from memkd.io import iter_chunks

        sides = {"src": [], "tgt": []}
        for chunk in iter_chunks(table, ["src", "tgt"]):
            for column, parts in sides.items():
                parts.append(TokenArrays.from_lists(encode(processor, chunk[column].tolist(), MAX_LEN)))
        sources, targets = (TokenArrays(np.concatenate([p.ids for p in parts]),
                                        np.concatenate([[0], np.cumsum(np.concatenate([p.lengths for p in parts]))]))
                            for parts in sides.values())
        tokens = epoch_of_arrays(sources, targets)
    elif step == "store_write":  # (write_token_store replaces an earlier round's store)
        write_token_store(processor, table, f"{work}/pairs.tokens", spm)
        tokens = None
    elif step == "store_read":
        tokens = epoch_of_arrays(*read_token_store(f"{work}/pairs.tokens", MAX_LEN, spm))
    elif step == "datasets_write":
        import shutil

        import datasets

        # a fresh cache each round: datasets would otherwise reuse the last round's map (its fingerprint cache)
        for folder in ("hf_cache", "hf_tokens"):
            shutil.rmtree(f"{work}/{folder}", ignore_errors=True)

        datasets.disable_progress_bars()
        table_set = datasets.Dataset.from_csv(table, sep="\t", quoting=3, keep_default_na=False,
                                              cache_dir=f"{work}/hf_cache")

        def tokenize(rows):
            sources, targets = encode(processor, rows["src"], MAX_LEN), encode(processor, rows["tgt"], MAX_LEN)
            # the lengths as columns, as a user does for length-grouped batches
            return {"src_ids": sources, "tgt_ids": targets,
                    "src_len": [len(ids) for ids in sources], "tgt_len": [len(ids) for ids in targets]}

        encoded = table_set.map(tokenize, batched=True, remove_columns=table_set.column_names)
        encoded.save_to_disk(f"{work}/hf_tokens")
        tokens = None
    elif step == "datasets_read":
        import datasets

        encoded = datasets.load_from_disk(f"{work}/hf_tokens").with_format("numpy")

        def fetch(batch):  # one batched read per batch, as a DataLoader with a batch sampler makes it
            rows = encoded[batch.tolist()]
            return list(rows["src_ids"]), list(rows["tgt_ids"])

        tokens = epoch_of(encoded["src_len"], encoded["tgt_len"], fetch)
    else:
        raise SystemExit(f"unknown step {step}")
    return {"seconds": time.perf_counter() - started, "tokens": tokens,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_fresh_process(step: str, table: Path, spm: Path, work: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", step, "--table", str(table), "--spm", str(spm),
                           "--work", str(work)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="a workflow table of pairs to vary")
    parser.add_argument("--spm", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: one step in this process
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.table, str(args.spm), args.work)))
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from rehearsal import base_pairs, write_corpus

    with tempfile.TemporaryDirectory(prefix="token_store_") as work:
        work = Path(work)
        corpus = work / "corpus.tsv"
        write_corpus(corpus, base_pairs(args.base), args.pairs)
        table = work / "pairs.tsv"  # a workflow table: header, id, src, tgt
        with open(table, "w", encoding="utf-8") as out, open(corpus, encoding="utf-8") as rows:
            out.write("id\tsrc\ttgt\n")
            for line in rows:
                out.write(line)
        corpus.unlink()
        mib = table.stat().st_size / 2**20
        results: dict[str, list[dict]] = {step: [] for step in args.steps}
        for _ in range(args.rounds):
            for step in args.steps:  # writers before readers within a round
                results[step].append(in_fresh_process(STEPS[step], table, args.spm, work))
    print(f"# {args.pairs:,} pairs ({mib:,.0f} MiB of TSV), {platform.processor() or platform.machine()}, "
          f"1 process each, median of {args.rounds} round(s)\n")
    print("| step | runs | seconds (median) | per round | peak RSS MB | tokens of one epoch |")
    print("|---|---|---:|---|---:|---:|")
    for step, runs in results.items():
        once = "per table" if step in ("memkd: tokenize_pairs", "datasets: map") else "per job"
        seconds = [r["seconds"] for r in runs]
        print(f"| {step} | {once} | {statistics.median(seconds):.1f} | "
              f"{' / '.join(f'{s:.1f}' for s in seconds)} | {max(r['peak_mb'] for r in runs):,.0f} | "
              f"{'-' if runs[0]['tokens'] is None else format(runs[0]['tokens'], ',')} |")


if __name__ == "__main__":
    main()
