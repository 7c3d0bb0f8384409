"""Subgroup buckets at their edges, and a per-bucket summary of a hand-made 6-row frame."""

import math

import numpy as np
import pandas as pd
import sacrebleu
import pytest

from memkd.metrics.subgroups import (
    bucket_labels,
    corpus_scores_from_statistics,
    random_bucket,
    repetition_buckets,
    sentence_statistics,
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


def test_subgroup_summary_orders_value_buckets_low_to_high():
    # quintile edges of a QE that can be negative (dual cross-entropy): str() would put "-0.5-0.2" first and "<-1.3"
    # near the end; the subgroups table passes the labels' own order, "n/a" (no QE) last
    edges = [-1.3, -0.5, 0.2, 10.0]
    qe = [12.0, 0.0, -2.0, float("nan"), 3.0, -1.0, -0.7, 5.0]
    frame = pd.DataFrame({"qe_bucket": value_buckets(qe, edges), "m": [True] * len(qe)})
    labels = bucket_labels(edges)
    assert labels == ["<-1.3", "-1.3--0.5", "-0.5-0.2", "0.2-10", ">=10"]
    table = subgroup_summary(frame, "qe_bucket", ["m"], [], order=[*labels, "n/a"])
    assert list(table["bucket"]) == [*labels, "n/a"] and list(table["size"]) == [1, 2, 1, 2, 1, 1]
    assert list(subgroup_summary(frame, "qe_bucket", ["m"], [])["bucket"]) == sorted([*labels, "n/a"])  # no order
    partial = subgroup_summary(frame, "qe_bucket", ["m"], [], order=[">=10", "<-1.3"])  # the rest follow by str
    assert list(partial["bucket"]) == [">=10", "<-1.3", "-0.5-0.2", "-1.3--0.5", "0.2-10", "n/a"]


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


def _translations(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Reference sentences and hypotheses that copy, drop, swap or replace words (any overlap from none to all),
    with punctuation, casing, an empty hypothesis and non-ASCII text."""
    rng = np.random.default_rng(seed)
    words = "der Herr sprach zu Mose und Aaron , sagt : Höre Israel ! das Volk zog aus Ägypten . in the land".split()
    references, hypotheses = [], []
    for i in range(n):
        ref = [str(w) for w in rng.choice(words, rng.integers(1, 25))]
        hyp = [w if rng.random() < 0.7 else str(rng.choice(words)) for w in ref if rng.random() < 0.9]
        if rng.random() < 0.3:
            rng.shuffle(hyp)
        references.append(" ".join(ref))
        hypotheses.append("" if i == 3 else " ".join(hyp))
    return hypotheses, references


def test_bucket_scores_from_summed_statistics_equal_sacrebleu_corpus_scores():
    """Exactly (not approximately) sacreBLEU's corpus_bleu and corpus_chrf of every bucket, and of all rows."""
    hypotheses, references = _translations(300, seed=0)
    bleu_rows, chrf_rows = sentence_statistics(hypotheses, references)
    labels = np.random.default_rng(1).integers(0, 7, len(hypotheses))
    labels[:2] = 7  # a two-sentence bucket
    for bucket in [*range(8), None]:
        chosen = np.ones(len(labels), bool) if bucket is None else labels == bucket
        hyps = [h for h, c in zip(hypotheses, chosen) if c]
        refs = [r for r, c in zip(references, chosen) if c]
        bleu, chrf = corpus_scores_from_statistics(bleu_rows[chosen], chrf_rows[chosen])
        assert bleu == sacrebleu.corpus_bleu(hyps, [refs]).score
        assert chrf == sacrebleu.corpus_chrf(hyps, [refs]).score
        assert 0 < bleu < 100 and 0 < chrf < 100  # real scores, not degenerate ones


def test_subgroup_summary_scores_buckets_as_sacrebleu_does():
    hypotheses, references = _translations(120, seed=2)
    frame = pd.DataFrame({"hyp": hypotheses, "ref": references, "g": np.arange(120) % 3, "m": np.arange(120) % 2 == 0})
    statistics = sentence_statistics(hypotheses, references)
    table = subgroup_summary(frame, "g", ["m"], [], "hyp", "ref")
    assert table.equals(subgroup_summary(frame, "g", ["m"], [], "hyp", "ref", statistics=statistics))
    for _, row in table.iterrows():
        members = frame[frame["g"] == row["bucket"]]
        assert row["bleu"] == round(sacrebleu.corpus_bleu(members["hyp"].tolist(), [members["ref"].tolist()]).score, 2)
        assert row["chrf"] == round(sacrebleu.corpus_chrf(members["hyp"].tolist(), [members["ref"].tolist()]).score, 2)
    with pytest.raises(ValueError, match="statistics cover"):
        subgroup_summary(frame, "g", ["m"], [], "hyp", "ref", statistics=(statistics[0][:5], statistics[1][:5]))


def test_sentence_statistics_of_no_sentences():
    bleu_rows, chrf_rows = sentence_statistics([], [])
    assert bleu_rows.shape == (0, 10) and chrf_rows.shape == (0, 18)
    with pytest.raises(ValueError, match="references"):
        sentence_statistics(["a"], [])


def test_sentence_statistics_in_chunks_equal_the_statistics_at_once(monkeypatch):
    """Chunks (that bound sacreBLEU's reference caches) change no row: 7-sentence chunks, the last one short, counted
    in this process or by three workers."""
    hypotheses, references = _translations(300, seed=4)
    at_once = sentence_statistics(hypotheses, references)
    monkeypatch.setattr("memkd.metrics.subgroups.STATISTICS_CHUNK", 7)
    for processes in (1, 3):  # the chunks counted here, or by worker processes
        chunked = sentence_statistics(hypotheses, references, processes=processes)
        for whole, parts in zip(at_once, chunked):
            assert whole.dtype == parts.dtype == np.int32
            assert np.array_equal(whole, parts) and whole.sum() > 0


@pytest.mark.parametrize("rows", [0, 2, 7])
def test_table_statistics_read_in_chunks_equal_the_whole_columns_and_summarise_without_texts(tmp_path, monkeypatch,
                                                                                             rows):
    import memkd.io
    from memkd.io import write_tsv_atomic
    from memkd.metrics.subgroups import table_statistics

    references = [f"the {i} cat sat on the mat {i % 3}" for i in range(rows)]
    outputs = [text if i % 2 else text.rsplit(" ", 2)[0] for i, text in enumerate(references)]
    ids = [f"p{i}" for i in range(rows)]
    write_tsv_atomic(tmp_path / "pairs.tsv", pd.DataFrame({"id": ids, "tgt": references}))
    write_tsv_atomic(tmp_path / "examples.tsv", pd.DataFrame({"id": ids, "output": outputs}))
    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 3)  # chunks of 3 rows: none, one, several
    streamed = table_statistics(tmp_path / "examples.tsv", "output", tmp_path / "pairs.tsv", "tgt")
    whole = sentence_statistics(outputs, references)
    assert all(np.array_equal(a, b) for a, b in zip(streamed, whole))
    if rows:
        frame = pd.DataFrame({"g": "all", "m": [i % 2 for i in range(rows)]})
        with_texts = subgroup_summary(frame.assign(hyp=outputs, ref=references), "g", ["m"], [], "hyp", "ref")
        assert subgroup_summary(frame, "g", ["m"], [], statistics=streamed).equals(with_texts)


def test_table_statistics_refuse_tables_of_other_pairs_naming_the_row(tmp_path, monkeypatch):
    import memkd.io
    from memkd.errors import InputError
    from memkd.io import write_tsv_atomic
    from memkd.metrics.subgroups import table_statistics

    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 3)
    write_tsv_atomic(tmp_path / "pairs.tsv", pd.DataFrame({"id": [f"p{i}" for i in range(7)], "tgt": ["a b"] * 7}))
    for name, ids in {"swapped": ["p0", "p1", "p2", "p4", "p3", "p5", "p6"], "short": [f"p{i}" for i in range(6)],
                      "long": [f"p{i}" for i in range(8)]}.items():
        write_tsv_atomic(tmp_path / f"{name}.tsv", pd.DataFrame({"id": ids, "output": ["a b"] * len(ids)}))
        with pytest.raises(InputError, match=f"{name}.tsv: its rows from row (4|7) on do not follow"):
            table_statistics(tmp_path / f"{name}.tsv", "output", tmp_path / "pairs.tsv", "tgt")
