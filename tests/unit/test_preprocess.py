import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.preprocess import (
    assign_splits,
    check_split_sizes,
    direction_view,
    drop_reason,
    normalise_text,
    preprocess,
    split_key,
    subsample,
    text_groups,
)
from memkd.study import check_study_size

SETTINGS = {
    "max_words": 5,
    "max_length_ratio": 2.0,
    "split_permille": {"dev": 300, "test": 300, "probe": 100},
    "split_salt": "t",
    "max_train_pairs": None,
    "max_eval_pairs": None,
}


def test_normalise_text_collapses_space_and_drops_invisibles():
    assert normalise_text("  a\u200b b\t\tc\u00a0 ") == "a b c"
    assert normalise_text("e\u0301") == "\u00e9"  # NFC


@pytest.mark.parametrize(
    "source,target,expected",
    [
        ("", "x", "empty"),
        ("a b c d e f", "a", "too_long"),  # too_long is checked before the ratio
        ("a b c", "x", "length_ratio"),
        ("a b", "x", None),  # ratio exactly 2.0 is kept
        ("a b", "a b", "identical"),
        ("a b", "c d", None),
    ],
)
def test_drop_reason(source, target, expected):
    assert drop_reason(source, target, max_words=5, max_ratio=2.0) == expected


def test_split_key_ignores_case_and_punctuation():
    assert split_key("Yahweh spoke to Moses, saying,") == split_key("yahweh spoke to moses saying")


def test_text_groups_join_through_either_side_transitively():
    left = ["a", "b", "c", "d"]
    right = ["x", "x", "y", "z"]  # 0-1 share a target
    left[3] = "C!"  # 2-3 share a source key
    groups = text_groups(left, right)
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[0] != groups[2]


def _frame(rows):
    return pd.DataFrame(rows, columns=["id", "en", "es", "flags"])


def test_identical_sources_never_straddle_splits_in_either_direction():
    rows = []
    for i in range(400):
        rows.append((f"r{i}", f"sentence {i % 50}", f"frase {i}", "-"))  # repeated English
        rows.append((f"s{i}", f"unique {i}", f"frase repetida {i % 30}", "-"))  # repeated Spanish
    frame = _frame(rows)
    split, _ = assign_splits(frame, "en", "es", SETTINGS["split_permille"], "t")
    for side in ("en", "es"):
        per_text = split.groupby(frame[side]).nunique()
        assert (per_text == 1).all()


def test_split_does_not_depend_on_row_order():
    frame = _frame([(f"r{i}", f"text {i}", f"texto {i}", "-") for i in range(300)])
    split, _ = assign_splits(frame, "en", "es", SETTINGS["split_permille"], "t")
    shuffled = frame.sample(frac=1.0, random_state=3)
    split_shuffled, _ = assign_splits(shuffled, "en", "es", SETTINGS["split_permille"], "t")
    assert split.to_dict() == split_shuffled.to_dict()
    assert set(split) == {"train", "dev", "test", "probe"}


def test_subsample_is_deterministic_and_keeps_order():
    frame = _frame([(f"r{i}", f"t {i}", f"u {i}", "-") for i in range(100)])
    first, second = subsample(frame, 10, "s"), subsample(frame.iloc[::-1], 10, "s")
    assert list(first["id"]) == sorted(second["id"], key=lambda i: int(i[1:]))
    assert first.index.is_monotonic_increasing and len(first) == 10
    assert subsample(frame, None, "s") is frame


def test_preprocess_counts_reasons_and_duplicates_and_keeps_duplicates():
    frame = _frame(
        [
            ("1", "the same words", "las mismas palabras", "-"),
            ("2", "the same words", "las mismas palabras", "-"),
            ("3", "", "vacío", "-"),
            ("4", "one two three four five six", "uno", "-"),
            ("5", "a b c", "x", "-"),
            ("6", "Amen.", "Amen.", "-"),
            ("7", "  spaced   out  ", "espaciado", "shift"),
        ]
    )
    tables, report = preprocess(frame, "en", "es", SETTINGS)
    assert report["dropped"] == {"empty": 1, "too_long": 1, "length_ratio": 1, "identical": 1}
    assert report["kept_pairs"] == 3
    kept = pd.concat(tables.values())
    assert sorted(kept["id"]) == ["1", "2", "7"]
    assert set(kept.loc[kept["id"].isin(["1", "2"]), "pair_count"]) == {2}
    assert kept.loc[kept["id"] == "7", "en"].item() == "spaced out"
    assert kept.loc[kept["id"] == "7", "flags"].item() == "shift"
    assert report["duplicates"]["distinct_duplicated_pairs"] == 1
    assert sum(report["splits"].values()) == 3


def test_direction_view_renames_sides():
    tables, _ = preprocess(_frame([("1", "hello there", "hola", "-")]), "en", "es", SETTINGS)
    table = pd.concat(tables.values())
    view = direction_view(table, "es", "en")
    assert view.loc[0, "src"] == "hola" and view.loc[0, "tgt"] == "hello there"
    assert list(view.columns[:3]) == ["id", "src", "tgt"]


def test_fixed_splits_are_kept_and_overlapping_training_pairs_dropped():
    frame = _frame([(f"r{i}", f"text {i}", f"texto {i}", "-") for i in range(50)]).assign(split="")
    frame.loc[50] = ("t1", "official test sentence", "frase oficial", "-", "test")
    frame.loc[51] = ("r51", "Official test sentence!", "otra traducción", "-", "")  # same source key
    tables, report = preprocess(frame, "en", "es", SETTINGS)
    assert "t1" in set(tables["test"]["id"])
    assert "r51" not in set(pd.concat(tables.values())["id"])
    assert report["dropped_overlapping_fixed_splits"] == 1
    assert "split" not in tables["train"].columns


def test_a_split_too_small_for_the_study_names_the_split_and_the_setting():
    permille = {"dev": 20, "test": 30, "probe": 10}
    check_split_sizes({"train": 420, "dev": 9, "test": 14, "probe": 12}, 455, permille, {"test": 10, "probe": 10})
    with pytest.raises(InputError) as error:
        check_split_sizes({"train": 440, "dev": 9, "test": 2, "probe": 0}, 456, permille, {"test": 10, "probe": 10})
    message = str(error.value)
    assert "split 'test' holds 2 pairs" in message
    assert "preprocess.split_permille.test = 30 per mille of 456 pairs" in message
    assert "raise preprocess.split_permille.test to about 44" in message  # 2 x 10 / 456, in per mille
    with pytest.raises(InputError, match="use a larger corpus"):
        check_split_sizes({"test": 0, "probe": 0}, 5, permille, {"test": 10, "probe": 10})


def test_too_few_study_pairs_name_the_filter():
    check_study_size(20, 400, {"min_pairs": 20, "max_subwords": 30})
    with pytest.raises(InputError, match=r"keeps 3 of 400 training pairs.*study.max_subwords = 30"):
        check_study_size(3, 400, {"min_pairs": 20, "max_subwords": 30})
