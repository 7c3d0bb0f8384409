"""The LM track's data cutting: chapters to parts, windows, blocks, duplicates."""

import pandas as pd
import pytest

from memkd.lm import data


def test_chapter_and_part_are_deterministic_and_follow_the_permille():
    assert data.chapter_of("Gen.1.1") == "Gen.1"
    assert data.chapter_of("solo") == "solo"
    split = {"finetune": 100, "heldout": 50}
    parts = [data.part_of(f"Book.{i}", split, "salt") for i in range(4000)]
    assert parts == [data.part_of(f"Book.{i}", split, "salt") for i in range(4000)]
    share = pd.Series(parts).value_counts(normalize=True)
    assert share["finetune"] == pytest.approx(0.10, abs=0.02)
    assert share["heldout"] == pytest.approx(0.05, abs=0.015)
    assert parts != [data.part_of(f"Book.{i}", split, "other salt") for i in range(4000)]


def test_windows_drop_the_short_tail_and_blocks_join_with_eos():
    assert data.windows([1, 2, 3, 4, 5], 2) == [(1, 2), (3, 4)]
    assert data.blocks([[1, 2], [3]], 2, eos=0).tolist() == [[1, 2], [0, 3]]
    with pytest.raises(ValueError, match="no block"):
        data.blocks([[1]], 8, eos=0)


def test_duplicates_are_counted_and_kept_and_planted_copies_repeat_rows():
    unique = data.count_windows([(1, 2), (3, 4), (1, 2)])
    assert unique["ids"].tolist() == [(1, 2), (3, 4)]
    assert unique["natural_copies"].tolist() == [2, 1]
    multiplier = data.planted_copies(10, 0.3, 4, seed=1)
    assert sorted(multiplier.tolist()) == [1] * 7 + [4] * 3
    table = data.example_table(unique.assign(copies=[2, 3], planted=[False, True]), "ft", lambda ids: "x")
    assert data.training_rows(table).tolist() == [[1, 2]] * 2 + [[3, 4]] * 3
    assert data.id_matrix(table).tolist() == [[1, 2], [3, 4]]


def test_sampling_keeps_corpus_order_and_is_seeded():
    unique = pd.DataFrame({"ids": [(i,) for i in range(50)], "natural_copies": 1})
    a, b = data.sample_examples(unique, 10, 1), data.sample_examples(unique, 10, 1)
    assert a["ids"].tolist() == b["ids"].tolist() == sorted(a["ids"].tolist())
    assert len(data.sample_examples(unique, None, 1)) == 50
