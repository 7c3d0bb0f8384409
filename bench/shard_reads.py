"""Benchmark: what a shard job pays to read its rows, by the shard's position in the table. Prints a Markdown table;
asserts nothing.

A shard job (translate_shard, quality_estimate_shard, score_references_shard, teacher_baseline_kl_shard,
exmem_shard, seq_inter_data_shard) reads rows start..stop-1 of the study pairs and, for QE and ExMem, the same lines
of a model's translations. Compared, on one table in one process (page cache warm, each read repeated --rounds times,
median):

- pairs, `parse from row 0`: pandas parses every row before the shard (memkd.shards.read_row_range; what every shard
  job did before its plan held offsets), and `seek (plan offsets)`: read_shard_rows from the shard's byte offset;
- translations, `decode from line 0`: Python decodes every line before the range (itertools.islice over
  memkd.io.iter_lines, the former read_line_range), and `count newlines, then read`: memkd.shards.read_line_range.

The table: the short pairs of --base (a workflow table, e.g. a run's results/data/bible/en-es/train.tsv) repeated
with per-row variation into --pairs rows (bench/rehearsal.py's corpus):

    .venv/bin/python bench/shard_reads.py --base results/data/bible/en-es/train.tsv --pairs 2000000

The last lines project the summed read time of one sharded stage (one model, every shard) to --project pairs, from a
line fitted through the measured positions (a read's time is linear in its start row).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from rehearsal import base_pairs, write_corpus  # noqa: E402

from memkd.io import iter_lines  # noqa: E402
from memkd.shards import make_plan, read_line_range, read_row_range, read_shard_rows  # noqa: E402

COLUMNS = ["id", "src", "tgt"]


def timed(function, rounds: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def make_files(folder: Path, base: Path, pairs: int) -> tuple[Path, Path]:
    body = folder / "body.tsv"
    write_corpus(body, base_pairs(base), pairs)
    table, lines = folder / "pairs.tsv", folder / "hypotheses.txt"
    with open(table, "wb") as out, open(body, "rb") as rows:
        out.write(b"id\tsrc\ttgt\n")
        while block := rows.read(1 << 24):
            out.write(block)
    with open(lines, "w", encoding="utf-8") as out:  # a model's translations: one line per row, the target here
        for line in iter_lines(body):
            out.write(line.rsplit("\t", 1)[1] + "\n")
    body.unlink()
    return table, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="a workflow table whose short pairs are repeated")
    parser.add_argument("--pairs", type=int, default=2_000_000)
    parser.add_argument("--shard", type=int, default=100_000, help="sharding.sentences")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--project", type=int, default=40_000_000, help="pairs to project a stage's reads to")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shard_reads.") as folder:
        table, lines = make_files(Path(folder), args.base, args.pairs)
        for path in (table, lines):  # into the page cache: every read below starts warm
            with open(path, "rb") as handle:
                while handle.read(1 << 24):
                    pass
        plan_seconds, plan = timed(lambda: make_plan(args.pairs, args.shard, table), 1)
        last = len(plan["shards"]) - 1
        positions = sorted({0, last // 2, last})
        rows = []
        for shard in positions:
            start, stop = plan["shards"][shard]
            parse, parsed = timed(lambda: read_row_range(table, start, stop, COLUMNS), args.rounds)
            seek, sought = timed(lambda: read_shard_rows(table, plan, shard, COLUMNS), args.rounds)
            assert parsed.equals(sought), f"shard {shard}: the two reads differ"
            decode, decoded = timed(lambda: list(itertools.islice(iter_lines(lines), start, stop)), args.rounds)
            count, counted = timed(lambda: read_line_range(lines, start, stop), args.rounds)
            assert decoded == counted, f"shard {shard}: the two line reads differ"
            rows.append((shard, start, parse, seek, decode, count))

    print(f"# {args.pairs:,} pairs ({plan['table_bytes'] / 2**20:,.0f} MiB of TSV), shards of {args.shard:,}, "
          f"{platform.machine()} {platform.processor() or ''}, median of {args.rounds} round(s)\n")
    print(f"Plan with offsets (one newline scan of the table, once per split): {plan_seconds:.2f} s\n")
    print("| shard | first row | pairs: parse from row 0 (s) | pairs: seek (s) | translations: decode from line 0 (s) "
          "| translations: count newlines, then read (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for shard, start, parse, seek, decode, count in rows:
        print(f"| {shard} | {start:,} | {parse:.2f} | {seek:.2f} | {decode:.2f} | {count:.2f} |")

    # a stage reads every shard once: sum a + b * start over the shards of the projected table
    starts = np.array([r[1] for r in rows], dtype=float)
    shards = np.arange(0, args.project, args.shard, dtype=float)
    print(f"\nOne sharded stage of one model at {args.project:,} pairs ({len(shards):,} shards), reads summed over "
          f"its shards (a line through the measured positions):\n")
    print("| read | s per stage |\n|---|---:|")
    for label, column in (("pairs: parse from row 0", 2), ("pairs: seek", 3),
                          ("translations: decode from line 0", 4), ("translations: count newlines, then read", 5)):
        ys = np.array([r[column] for r in rows])
        slope, intercept = np.polyfit(starts, ys, 1) if len(rows) > 1 else (0.0, ys[0])
        if slope < 0:  # a read that does not depend on the position, measured with noise: its mean
            slope, intercept = 0.0, float(ys.mean())
        print(f"| {label} | {float(np.sum(intercept + slope * shards)):,.0f} |")


if __name__ == "__main__":
    main()
