"""The results page: the README block regenerated from a relative-change table, and a run published with its
summary (figure links rewritten), figures, tables and job times."""

import pandas as pd
import pytest

from memkd.results_page import END, START, headline, publish, replace_block


def changes(pooled: bool) -> pd.DataFrame:
    rows = [{"direction": "en-es", "seed": s, "metric": "replication", "student_pct": 40.0 + s,
             "baseline_pct": 20.0, "relative_change_pct": 100.0, "ci_low": 50.0, "ci_high": 150.0,
             "paper_relative_change_pct": 3.44} for s in (1, 2)]
    if pooled:
        rows.append({"direction": "en-es", "seed": "pooled", "seeds": 2, "metric": "replication",
                     "student_pct": 41.5, "student_pct_sd": 0.7, "baseline_pct": 20.0, "baseline_pct_sd": 0.0,
                     "pooled_change_pct": 107.5, "ci_low": 60.0, "ci_high": 160.0,
                     "paper_relative_change_pct": 3.44})
    return pd.DataFrame(rows)


def test_headline_judges_only_pooled_rows():
    block = headline(changes(pooled=True), "docs/results/default/")
    assert block.startswith(START) and block.endswith(END)
    assert "108 [60, 160]" in block  # the change of the pooled rates, whole percent
    assert "agrees in sign" in block and "41.50 +- 0.70" in block
    one_seed = headline(changes(pooled=False), "docs/results/default/")
    assert "one seed: no verdict" in one_seed and "agrees in sign" not in one_seed


def test_replace_block_keeps_the_rest_and_needs_the_markers():
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_block(text, f"{START}\nnew\n{END}") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError, match="results:start"):
        replace_block("no markers", "x")


def test_publish_copies_the_run_and_rewrites_figure_links(tmp_path):
    run = tmp_path / "run"
    (run / "results" / "summary").mkdir(parents=True)
    (run / "results" / "figures" / "bible").mkdir(parents=True)
    (run / "results" / "tables" / "bible").mkdir(parents=True)
    (run / "benchmarks" / "train_model").mkdir(parents=True)
    (run / "results" / "summary" / "bible.md").write_text("# S\n\n![m](../figures/bible/m.png)\n")
    (run / "results" / "figures" / "bible" / "m.png").write_bytes(b"png")
    changes(pooled=True).to_csv(run / "results" / "tables" / "bible" / "relative_change.tsv", sep="\t", index=False)
    for name, seconds in (("a", 10.0), ("b", 30.0)):
        (run / "benchmarks" / "train_model" / f"{name}.tsv").write_text(f"s\tmax_rss\n{seconds}\t100\n")
    page = publish(run, tmp_path / "page", "bible", "made by a test")
    text = page.read_text()
    assert "![m](figures/m.png)" in text and (tmp_path / "page" / "figures" / "m.png").exists()
    assert (tmp_path / "page" / "tables" / "relative_change.tsv").exists()
    assert "made by a test" in text and "| train_model | 2 | 40 | 20.0 | 30.0 |" in text


def test_the_commit_is_the_run_folders_own(tmp_path):
    import subprocess

    from memkd.results_page import run_commit

    assert run_commit(tmp_path) == "unknown"  # not a checkout
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "run"], check=True)
    made = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert run_commit(tmp_path) == made
