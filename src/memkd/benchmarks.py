"""Per-rule job time of a finished run, from its Snakemake `benchmark:` files (benchmarks/<rule>/...tsv): jobs, wall
seconds (total, mean, max) and peak memory. Used by the results page (`memkd.results_page`) and by
`bench/benchmark_summary.py`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def summarize(folder: Path) -> pd.DataFrame:
    """One row per rule (the first folder under `folder/benchmarks`), longest total first: jobs, total_s, mean_s,
    max_s and max_rss_mb (NaN where Snakemake wrote "-"), rounded to 0.1. A file's last record is its job's (a
    benchmark repeated with `repeat()` writes several). Empty frame when there are no benchmark files."""
    rows = []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"rule": path.relative_to(folder / "benchmarks").parts[0], "s": float(record["s"]),
                     "max_rss_mb": float(record["max_rss"]) if record["max_rss"] != "-" else float("nan")})
    if not rows:
        return pd.DataFrame(columns=["jobs", "total_s", "mean_s", "max_s", "max_rss_mb"]).rename_axis("rule")
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule").agg(jobs=("s", "size"), total_s=("s", "sum"), mean_s=("s", "mean"),
                                      max_s=("s", "max"), max_rss_mb=("max_rss_mb", "max"))
    return table.sort_values("total_s", ascending=False).round(1)


def markdown(table: pd.DataFrame) -> str:
    """`summarize`'s table as a Markdown table with a last row of all benchmarked jobs."""
    if table.empty:
        return "(no benchmark files)"
    lines = ["| rule | jobs | total s | mean s | max s | peak RSS MB |", "|---|---|---|---|---|---|"]
    for rule, r in table.iterrows():
        lines.append(f"| {rule} | {int(r.jobs)} | {r.total_s:.0f} | {r.mean_s:.1f} | {r.max_s:.1f} | "
                     f"{r.max_rss_mb:.0f} |")
    lines.append(f"| all benchmarked jobs | {int(table.jobs.sum())} | {table.total_s.sum():.0f} | | | |")
    return "\n".join(lines)
