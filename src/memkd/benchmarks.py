"""Per-rule job time of a finished run, from its Snakemake `benchmark:` files (benchmarks/<rule>/...tsv): jobs, wall
seconds (total, mean, max) and peak memory; and two runs side by side. Used by the results page
(`memkd.results_page`), `bench/benchmark_summary.py` and `bench/benchmark_compare.py`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def jobs(folder: Path) -> pd.DataFrame:
    """One row per benchmark file under `folder/benchmarks`: job (its path there), rule (the first folder), s and
    max_rss_mb (NaN where Snakemake wrote "-"). A file's last record is its job's (a benchmark repeated with
    `repeat()` writes several)."""
    rows = []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        job = path.relative_to(folder / "benchmarks")
        rows.append({"job": job.as_posix(), "rule": job.parts[0], "s": float(record["s"]),
                     "max_rss_mb": float(record["max_rss"]) if record["max_rss"] != "-" else float("nan")})
    return pd.DataFrame(rows, columns=["job", "rule", "s", "max_rss_mb"]).astype({"s": float, "max_rss_mb": float})


def summarize(folder: Path) -> pd.DataFrame:
    """One row per rule, longest total first: jobs, total_s, mean_s, max_s and max_rss_mb, rounded to 0.1. Empty
    frame when there are no benchmark files."""
    frame = jobs(folder)
    if frame.empty:
        return pd.DataFrame(columns=["jobs", "total_s", "mean_s", "max_s", "max_rss_mb"]).rename_axis("rule")
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


def compare(before: Path, after: Path) -> pd.DataFrame:
    """Two runs' job times per rule side by side: jobs and total seconds of each (0 where a run has no such rule),
    the matched jobs (the same benchmark file in both runs, i.e. the same rule and wildcards) with their totals in
    each, and ratio = before / after of the matched totals (NaN where none matched). Longest `before` total first."""
    old, new = jobs(before), jobs(after)
    matched = old.merge(new, on=["job", "rule"], suffixes=("_before", "_after"))
    table = pd.DataFrame({
        "jobs_before": old.groupby("rule").size(), "total_s_before": old.groupby("rule").s.sum(),
        "jobs_after": new.groupby("rule").size(), "total_s_after": new.groupby("rule").s.sum(),
        "matched_jobs": matched.groupby("rule").size(),
        "matched_s_before": matched.groupby("rule").s_before.sum(),
        "matched_s_after": matched.groupby("rule").s_after.sum(),
    }).fillna(0.0)
    table["ratio"] = table.matched_s_before / table.matched_s_after.where(table.matched_jobs > 0)
    table.index.name = "rule"
    return table.sort_values(["total_s_before", "total_s_after"], ascending=False).round(2)


def compare_markdown(table: pd.DataFrame) -> str:
    """`compare`'s table as Markdown, with a last row summing every column (its ratio: of the matched sums)."""
    if table.empty:
        return "(no benchmark files)"
    lines = ["| rule | jobs before | s before | jobs after | s after | matched jobs | matched s before | "
             "matched s after | before / after |", "|---|---|---|---|---|---|---|---|---|"]

    def row(name, r):
        ratio = f"{r.ratio:.2f}" if pd.notna(r.ratio) else ""
        return (f"| {name} | {int(r.jobs_before)} | {r.total_s_before:.0f} | {int(r.jobs_after)} | "
                f"{r.total_s_after:.0f} | {int(r.matched_jobs)} | {r.matched_s_before:.0f} | "
                f"{r.matched_s_after:.0f} | {ratio} |")

    lines += [row(rule, r) for rule, r in table.iterrows()]
    total = table.sum()
    total["ratio"] = total.matched_s_before / total.matched_s_after if total.matched_jobs else float("nan")
    lines.append(row("all benchmarked jobs", total))
    return "\n".join(lines)
