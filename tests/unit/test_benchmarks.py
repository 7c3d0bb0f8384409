"""memkd.benchmarks: per-rule job times from Snakemake benchmark files, and bench/benchmark_summary.py printing them
exactly as it did before the summary moved into the library."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from memkd.benchmarks import compare, compare_markdown, markdown, summarize

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
DASHES = "\t".join(["-"] * 9)


def record(seconds, rss):
    return f"{seconds}\t0:00:00\t{rss}\t1000\t700\t710\t1.0\t2.0\t95.0\t44.0\n"


def make_run(run: Path) -> Path:
    files = {
        "train_model/bible/a.tsv": HEADER + record(46.1234, 812.33),
        "train_model/bible/b.tsv": HEADER + record(111.55, 1312.9),
        "convert_model/c.tsv": HEADER + f"3.0\t{DASHES}\n",  # a job Snakemake could not measure memory for
        "convert_model/d.tsv": HEADER + record(6.349, 200.4),
        "score_references/x/y/e.tsv": HEADER + f"5.45\t{DASHES}\n",
        "score_references/f.tsv": HEADER + record(1.0, 1) + record(8.25, 300),  # repeated: the last record counts
    }
    for name, text in files.items():
        path = run / "benchmarks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return run


# bench/benchmark_summary.py's output on make_run's folder, recorded before the move (commit 43ace52)
EXPECTED = """\
| rule | jobs | total s | mean s | max s | peak RSS MB |
|---|---|---|---|---|---|
| train_model | 2 | 158 | 78.8 | 111.6 | 1313 |
| score_references | 2 | 14 | 6.8 | 8.2 | 300 |
| convert_model | 2 | 9 | 4.7 | 6.3 | 200 |
| all benchmarked jobs | 6 | 181 | | | |
"""


def test_summarize_per_rule(tmp_path):
    table = summarize(make_run(tmp_path))
    assert list(table.index) == ["train_model", "score_references", "convert_model"]
    assert table.loc["train_model"].tolist() == [2, 157.7, 78.8, 111.6, 1312.9]
    assert table.loc["score_references", "max_s"] == 8.2  # the repeat's last record, not 1.0
    assert table.loc["convert_model", "max_rss_mb"] == 200.4  # the "-" job is left out of the peak


def test_markdown_and_cli_print_the_same_table_as_before(tmp_path):
    run = make_run(tmp_path)
    assert markdown(summarize(run)) + "\n" == EXPECTED
    script = Path(__file__).resolve().parents[2] / "bench" / "benchmark_summary.py"
    printed = subprocess.run([sys.executable, str(script), str(run)], capture_output=True, text=True, check=True)
    assert printed.stdout == EXPECTED


def test_no_benchmark_files(tmp_path):
    assert summarize(tmp_path).empty
    assert markdown(summarize(tmp_path)) == "(no benchmark files)"


def write_jobs(run: Path, seconds: dict[str, float]) -> Path:
    for name, s in seconds.items():
        path = run / "benchmarks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + record(s, 100))
    return run


def test_compare_matches_jobs_by_benchmark_file(tmp_path):
    before = write_jobs(tmp_path / "old", {"train_model/t.tsv": 100.0, "train_model/s.tsv": 60.0,
                                           "train_cm/m0.tsv": 30.0, "train_cm/m1.tsv": 30.0})
    after = write_jobs(tmp_path / "new", {"train_model/t.tsv": 40.0, "train_model/s.tsv": 20.0,
                                          "train_model/extra.tsv": 50.0, "train_cm_models/all.tsv": 25.0})
    table = compare(before, after)
    assert list(table.index) == ["train_model", "train_cm", "train_cm_models"]
    assert table.loc["train_model"].tolist() == [2, 160.0, 3, 110.0, 2, 160.0, 60.0, 2.67]
    assert table.loc["train_cm"].tolist()[:5] == [2, 60.0, 0, 0.0, 0]  # renamed rule: nothing matched
    assert pd.isna(table.loc["train_cm", "ratio"]) and pd.isna(table.loc["train_cm_models", "ratio"])
    text = compare_markdown(table)
    assert "| train_model | 2 | 160 | 3 | 110 | 2 | 160 | 60 | 2.67 |" in text
    assert text.splitlines()[-1] == "| all benchmarked jobs | 4 | 220 | 4 | 135 | 2 | 160 | 60 | 2.67 |"
    script = Path(__file__).resolve().parents[2] / "bench" / "benchmark_compare.py"
    printed = subprocess.run([sys.executable, str(script), str(before), str(after)], capture_output=True, text=True,
                             check=True)
    assert printed.stdout == text + "\n"


def test_compare_with_a_run_without_benchmarks(tmp_path):
    after = write_jobs(tmp_path / "new", {"train_model/t.tsv": 40.0})
    table = compare(tmp_path / "empty", after)
    assert table.loc["train_model"].tolist()[:5] == [0, 0.0, 1, 40.0, 0] and pd.isna(table.loc["train_model", "ratio"])
    assert compare_markdown(table).splitlines()[-1] == "| all benchmarked jobs | 0 | 0 | 1 | 40 | 0 | 0 | 0 |  |"
