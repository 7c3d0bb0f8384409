"""Per-rule totals of a finished run's Snakemake benchmark files (benchmarks/<rule>/...tsv): jobs, wall seconds
(total, mean, max) and peak memory. Prints a Markdown table; asserts nothing.

    python bench/benchmark_summary.py [run folder, default .]
"""

import sys
from pathlib import Path

import pandas as pd


def summarize(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"rule": path.relative_to(folder / "benchmarks").parts[0], "s": float(record["s"]),
                     "max_rss_mb": float(record["max_rss"]) if record["max_rss"] != "-" else float("nan")})
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule").agg(jobs=("s", "size"), total_s=("s", "sum"), mean_s=("s", "mean"),
                                      max_s=("s", "max"), max_rss_mb=("max_rss_mb", "max"))
    return table.sort_values("total_s", ascending=False).round(1)


def main():
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    table = summarize(folder)
    print("| rule | jobs | total s | mean s | max s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for rule, r in table.iterrows():
        print(f"| {rule} | {int(r.jobs)} | {r.total_s:.0f} | {r.mean_s:.1f} | {r.max_s:.1f} | {r.max_rss_mb:.0f} |")
    print(f"| all benchmarked jobs | {int(table.jobs.sum())} | {table.total_s.sum():.0f} | | | |")


if __name__ == "__main__":
    main()
