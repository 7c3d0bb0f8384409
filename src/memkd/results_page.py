"""Publish a finished run as a results page in the repository: the study summary (written by the `study_summary`
rule from the tables), its figures and tables, and how the run was made; and the README's "current results" block
(between `<!-- results:start -->` and `<!-- results:end -->`) regenerated from the run's tables.

    python -m memkd.results_page RUN_FOLDER docs/results/default --corpus bible \
        --command "make study" --wall "52:10" --readme README.md

The page keeps small files only (Markdown, PNG, TSV); models and translations stay in the run folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from memkd import benchmarks
from memkd.io import write_text_atomic
from memkd.summary import fmt, markdown_table, mean_sd_text, verdict, with_interval
from memkd.tables import POOLED

START, END = "<!-- results:start -->", "<!-- results:end -->"


def headline(changes: pd.DataFrame, page: str) -> str:
    """The README block: the student-vs-baseline changes pooled over seeds (one seed: per-seed rows, labelled)."""
    pooled = changes[changes.seed.astype(str) == POOLED]
    rows = []
    if pooled.empty:
        for r in changes.itertuples(index=False):
            rows.append({"direction": r.direction, "seed": r.seed, "metric": r.metric,
                         "student %": fmt(r.student_pct, 2), "baseline %": fmt(r.baseline_pct, 2),
                         "change % [interval]": with_interval(r.relative_change_pct, r.ci_low, r.ci_high, 1),
                         "paper %": fmt(r.paper_relative_change_pct, 1), "verdict": "one seed: no verdict"})
    for r in pooled.itertuples(index=False):
        paper = None if pd.isna(r.paper_relative_change_pct) else float(r.paper_relative_change_pct)
        rows.append({
            "direction": r.direction, "seeds": int(r.seeds), "metric": r.metric,
            "student % (mean +- sd)": mean_sd_text(r.student_pct, r.student_pct_sd, 2),
            "baseline % (mean +- sd)": mean_sd_text(r.baseline_pct, r.baseline_pct_sd, 2),
            "pooled change % [95% interval]": with_interval(r.pooled_change_pct, r.ci_low, r.ci_high, 0),
            "paper %": fmt(paper, 1),
            "verdict": verdict(float(r.pooled_change_pct), float(r.ci_low), float(r.ci_high), paper),
        })
    return "\n".join([START, "", markdown_table(pd.DataFrame(rows)), "",
                      f"Generated from `relative_change.tsv` of the run in [{page}]({page}) "
                      "(`python -m memkd.results_page`); every other table, the figures and the full summary are "
                      "there.", "", END])


def replace_block(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"the README has no {START} ... {END} block")
    before, rest = text.split(START, 1)
    return before + block + rest.split(END, 1)[1]


def publish(run: Path, out: Path, corpus: str, about: str) -> Path:
    summary = (run / "results" / "summary" / f"{corpus}.md").read_text()
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    (out / "tables").mkdir()
    for png in sorted((run / "results" / "figures" / corpus).glob("*.png")):
        shutil.copy2(png, out / "figures" / png.name)
    for tsv in sorted((run / "results" / "tables" / corpus).glob("*.tsv")):
        shutil.copy2(tsv, out / "tables" / tsv.name)
    page = summary.replace(f"../figures/{corpus}/", "figures/").replace(
        f"`results/tables/{corpus}/`", "`results/tables/" + corpus + "/` (copied to [tables/](tables/))")
    write_text_atomic(out / "README.md", page + "\n## How this run was made\n\n" + about + "\n\nJob time per rule "
                      "(Snakemake benchmark files):\n\n" + benchmarks.markdown(benchmarks.summarize(run)) + "\n")
    return out / "README.md"


def run_commit(run: Path) -> str:
    """The commit the run folder's checkout was at ("unknown" where it is not a git checkout): the run's, not the
    one of the repository the page is published into, which may have moved on since."""
    found = subprocess.run(["git", "-C", str(run), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the run folder (holds results/ and benchmarks/)")
    parser.add_argument("out", type=Path, help="the page's folder, e.g. docs/results/default")
    parser.add_argument("--corpus", default="bible")
    parser.add_argument("--command", required=True, help="how the run was started")
    parser.add_argument("--wall", required=True, help="its measured wall time")
    parser.add_argument("--machine", default="2-core CPU, no GPU")
    parser.add_argument("--readme", type=Path, help="regenerate this README's results block")
    args = parser.parse_args()
    about = (f"`{args.command}` from a fresh clone of commit {run_commit(args.run)}, {args.machine}: "
             f"**{args.wall} wall time**.")
    page = publish(args.run, args.out, args.corpus, about)
    if args.readme:
        changes = pd.read_csv(args.out / "tables" / "relative_change.tsv", sep="\t")
        link = str(page.parent.relative_to(args.readme.resolve().parent)) + "/" if page.parent.is_absolute() \
            else str(page.parent) + "/"
        args.readme.write_text(replace_block(args.readme.read_text(), headline(changes, link)))
    print(page)


if __name__ == "__main__":
    main()
