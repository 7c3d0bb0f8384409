"""Subgroup buckets at their edges, and a per-bucket summary of a hand-made 6-row frame."""

import math

import pandas as pd
import pytest

from memkd.metrics.subgroups import (
    bucket_labels,
    random_bucket,
    repetition_buckets,
    subgroup_summary,
    top_bottom,
    value_buckets,
)


def test_bucket_labels():
    assert bucket_labels([0.2, 0.4, 0.6, 0.8]) == ["<0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", ">=0.8"]
    assert bucket_labels([0.2, 0.3, 0.4]) == ["<0.2", "0.2-0.3", "0.3-0.4", ">=0.4"]
    assert bucket_labels([5]) == ["<5", ">=5"]
    for bad in ([], [0.4, 0.2], [0.2, 0.2]):
        with pytest.raises(ValueError):
            bucket_labels(bad)


def test_value_at_an_edge_goes_up_and_nan_is_na():
    edges = [0.2, 0.4, 0.6, 0.8]
    values = [0.0, 0.19999, 0.2, 0.4, 0.79, 0.8, 1.0, float("nan")]
    assert value_buckets(values, edges) == ["<0.2", "<0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", ">=0.8", ">=0.8", "n/a"]
    assert value_buckets([-1.0], edges) == ["<0.2"]


def test_repetition_buckets():
    assert repetition_buckets([1, 2, 4, 5, 20]) == ["1", "2-4", "2-4", "5+", "5+"]
    with pytest.raises(ValueError):
        repetition_buckets([0])


def test_top_bottom_counts_and_ties():
    # floor(0.25 * 8) = 2 each side.
    values = [5.0, 1.0, 9.0, 3.0, 9.0, 1.0, 1.0, 7.0]
    assert top_bottom(values, 0.25) == [None, "bottom", "top", None, "top", "bottom", None, None]
    # Three tied 1.0 for two bottom places: the earlier positions (1, 5) win, not 6.
    # Ties at the top too: three 2.0 for one top place, the first (0) wins.
    assert top_bottom([2.0, 2.0, 2.0, 0.0], 0.25) == ["top", None, None, "bottom"]
    assert top_bottom([1.0, 2.0, 3.0], 0.3) == [None, None, None]  # floor(0.9) = 0
    assert top_bottom([3.0, float("nan"), 1.0], 0.5) == ["top", None, "bottom"]  # n = 2 ranked values
    for bad in (0.0, 0.51, -0.1):
        with pytest.raises(ValueError):
            top_bottom(values, bad)


def test_random_bucket_exact_count_and_seeded():
    picked = random_bucket(10, 0.3, seed=0)
    assert len(picked) == 10 and sum(picked) == 3
    assert random_bucket(10, 0.3, seed=0) == picked
    assert sum(random_bucket(1000, 0.1, seed=1)) == 100
    assert random_bucket(1000, 0.1, seed=1) != random_bucket(1000, 0.1, seed=2)
    assert random_bucket(4, 0.0, seed=0) == [False] * 4
    assert random_bucket(4, 1.0, seed=0) == [True] * 4


def _frame() -> pd.DataFrame:
    same = ["the cat sat on the mat today", "a dog ran in the park again"]
    return pd.DataFrame(
        {
            "bucket": ["low", "low", "high", "high", "high", None],
            "duplicate": [True, False, True, None, False, True],
            "memorized": [True, False, True, True, False, True],
            "qe": [0.5, float("nan"), 0.1, 0.2, 0.3, 0.9],
            "hyp": [same[0], same[1], "x y z w", "one two three four five", "q r s t", "gone"],
            "ref": [same[0], same[1], "completely other words here", "one two three four six", "a b c d", "gone"],
        }
    )


def test_subgroup_summary_value_buckets():
    table = subgroup_summary(_frame(), "bucket", ["memorized"], ["qe"], "hyp", "ref")
    assert list(table.columns) == ["subgroup", "bucket", "size", "memorized_rate", "qe_mean", "bleu", "chrf"]
    assert list(table["bucket"]) == ["high", "low"]  # sorted by string; the None row is in no bucket
    assert list(table["subgroup"]) == ["bucket", "bucket"]
    high, low = table.iloc[0], table.iloc[1]
    assert (high["size"], low["size"]) == (3, 2)
    assert high["memorized_rate"] == pytest.approx(200.0 / 3)
    assert low["memorized_rate"] == 50.0
    assert high["qe_mean"] == pytest.approx(0.2)  # (0.1 + 0.2 + 0.3) / 3
    assert low["qe_mean"] == 0.5  # NaN ignored
    assert low["bleu"] == 100.0 and low["chrf"] == 100.0  # hypotheses equal references
    assert 0.0 <= high["bleu"] < 100.0 and high["chrf"] < 100.0


def test_subgroup_summary_boolean_column_keeps_yes_only():
    table = subgroup_summary(_frame(), "duplicate", ["memorized"], [])
    assert list(table.columns) == ["subgroup", "bucket", "size", "memorized_rate"]
    assert list(table["bucket"]) == ["yes"]
    assert table.iloc[0]["size"] == 3  # rows 0, 2, 5: the None row is neither yes nor no
    assert table.iloc[0]["memorized_rate"] == 100.0


def test_subgroup_summary_of_a_strict_bool_column_and_no_rows():
    frame = pd.DataFrame({"flag": [False, True, True], "m": [True, False, False]})
    table = subgroup_summary(frame, "flag", ["m"], [])
    assert list(table["bucket"]) == ["yes"] and table.iloc[0]["size"] == 2
    assert table.iloc[0]["m_rate"] == 0.0
    empty = subgroup_summary(frame.assign(flag=False), "flag", ["m"], [])
    assert empty.empty and list(empty.columns) == ["subgroup", "bucket", "size", "m_rate"]


def test_subgroup_summary_all_nan_mean_is_nan():
    frame = pd.DataFrame({"g": ["a", "a"], "qe": [float("nan"), float("nan")]})
    assert math.isnan(subgroup_summary(frame, "g", [], ["qe"]).iloc[0]["qe_mean"])
