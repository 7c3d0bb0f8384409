import numpy as np
import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.io import read_tsv, write_tsv_atomic
from memkd.preprocess import (
    SPLITS,
    check_split_sizes,
    direction_view,
    drop_reason,
    fingerprint_codes,
    fingerprints,
    normalise_text,
    plan_splits,
    split_key,
    subsample,
    write_splits,
)
from memkd.study import check_study_size

from .reference_preprocess import assign_splits, preprocess as in_memory_preprocess, text_groups

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


def test_fingerprint_codes_are_equal_exactly_for_equal_texts():
    texts = ["a", "b", "a", "", "é", "e\u0301", "b"]
    codes = fingerprint_codes(fingerprints(texts))
    assert list(codes) == list(pd.factorize(pd.Series(texts))[0])
    assert fingerprints([]).shape == (0, 2)


def _frame(rows):
    return pd.DataFrame(rows, columns=["id", "en", "es", "flags"])


def preprocess(frame, lang1, lang2, settings, tmp_path, chunk_rows=None):
    """split_corpus's path on `frame`: written as the aligned table, planned and written a chunk at a time, read back
    ({split: table}, report)."""
    aligned = tmp_path / "aligned.tsv"
    write_tsv_atomic(aligned, frame)
    plan = plan_splits(aligned, lang1, lang2, settings, tmp_path / "kept.tsv", chunk_rows)
    paths = {name: tmp_path / f"{name}.tsv" for name in SPLITS}
    write_splits(plan, paths, chunk_rows)
    return {name: read_tsv(path) for name, path in paths.items()}, plan.report


def _as_written(tables):
    """Tables as the in-memory oracle would write and a job read them back (every cell text)."""
    return {name: table.astype(str) for name, table in tables.items()}


def test_identical_sources_never_straddle_splits_in_either_direction(tmp_path):
    rows = []
    for i in range(400):
        rows.append((f"r{i}", f"sentence {i % 50}", f"frase {i}", "-"))  # repeated English
        rows.append((f"s{i}", f"unique {i}", f"frase repetida {i % 30}", "-"))  # repeated Spanish
    tables, _ = preprocess(_frame(rows), "en", "es", SETTINGS, tmp_path, chunk_rows=64)
    split = pd.concat([table.assign(split=name) for name, table in tables.items()])
    assert len(split) == 800
    for side in ("en", "es"):
        assert (split.groupby(side)["split"].nunique() == 1).all()


def test_pairs_linked_through_either_side_share_a_group(tmp_path):
    rows = [("0", "a", "x", "-"), ("1", "b", "x", "-"), ("2", "c", "y", "-"), ("3", "C!", "z", "-")]
    tables, _ = preprocess(_frame(rows), "en", "es", SETTINGS, tmp_path, chunk_rows=1)
    group = pd.concat(tables.values()).set_index("id")["group"]
    assert group["0"] == group["1"] == "0" and group["2"] == group["3"] == "2"


def test_split_does_not_depend_on_row_order(tmp_path):
    frame = _frame([(f"r{i}", f"text {i}", f"texto {i}", "-") for i in range(300)])
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    tables, _ = preprocess(frame, "en", "es", SETTINGS, tmp_path / "a", chunk_rows=50)
    shuffled, _ = preprocess(frame.sample(frac=1.0, random_state=3), "en", "es", SETTINGS, tmp_path / "b")
    split_of = {name: set(table["id"]) for name, table in tables.items()}
    assert split_of == {name: set(table["id"]) for name, table in shuffled.items()}
    assert all(split_of.values())


def _tangled_corpus(rows: int, seed: int) -> pd.DataFrame:
    """Pairs that repeat whole, repeat one side, differ only in case or punctuation, link long chains of groups,
    get filtered, or carry a fixed split (some of them overlapping training texts)."""
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "delta", "Eps", "zeta", "eta", "theta"]
    records = []
    for i in range(rows):
        english = " ".join(rng.choice(words, size=rng.integers(1, 5)))
        spanish = " ".join(rng.choice([w.upper() for w in words], size=rng.integers(1, 5)))
        if rng.random() < 0.2:
            english = english.capitalize() + rng.choice(["!", "?", ",", ""])  # the same split key
        if rng.random() < 0.05:
            spanish = english  # identical: filtered
        fixed = rng.choice(["", "test", "dev", "other"], p=[0.94, 0.03, 0.02, 0.01])
        records.append((f"id{i}", english, spanish, rng.choice(["-", "shift"]), fixed))
    return pd.DataFrame(records, columns=["id", "en", "es", "flags", "split"])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limits", [(None, None), (40, 5)])
def test_the_chunked_split_equals_the_in_memory_one_table_for_table(tmp_path, seed, limits):
    """plan_splits / write_splits (a few rows in memory at a time, integer codes) write the very tables and report
    the in-memory implementation did, on corpora that tangle duplicates, shared keys, filters and fixed splits."""
    frame = _tangled_corpus(600, seed)
    settings = {**SETTINGS, "max_words": 4, "split_permille": {"dev": 100, "test": 150, "probe": 80},
                "max_train_pairs": limits[0], "max_eval_pairs": limits[1]}
    expected_tables, expected_report = in_memory_preprocess(frame.copy(), "en", "es", settings)
    tables, report = preprocess(frame, "en", "es", settings, tmp_path, chunk_rows=37)
    assert report == expected_report
    assert report["dropped_overlapping_fixed_splits"] > 0 and report["groups"]["largest"] > 10
    for name in SPLITS:
        pd.testing.assert_frame_equal(tables[name], expected_tables[name].astype(str), check_dtype=False)
    assert sum(len(t) for t in tables.values()) > 0


def test_the_raw_corpus_is_left_as_it_was_and_the_scratch_is_the_callers(tmp_path):
    frame = _frame([("1", "  Hello   there ", "hola", "-"), ("2", "bye", "adiós", "-")])
    tables, _ = preprocess(frame, "en", "es", SETTINGS, tmp_path)
    assert (tmp_path / "aligned.tsv").read_text().splitlines()[1] == "1\t  Hello   there \thola\t-"
    assert sorted(pd.concat(tables.values())["en"]) == ["Hello there", "bye"]


def test_a_corpus_without_its_language_columns_is_named(tmp_path):
    aligned = tmp_path / "aligned.tsv"
    write_tsv_atomic(aligned, pd.DataFrame({"id": ["1"], "en": ["a"], "flags": ["-"]}))
    with pytest.raises(InputError, match=r"aligned.tsv: missing column\(s\) \['es'\]"):
        plan_splits(aligned, "en", "es", SETTINGS, tmp_path / "kept.tsv")


def test_subsample_is_deterministic_and_keeps_order():
    frame = _frame([(f"r{i}", f"t {i}", f"u {i}", "-") for i in range(100)])
    first, second = subsample(frame, 10, "s"), subsample(frame.iloc[::-1], 10, "s")
    assert list(first["id"]) == sorted(second["id"], key=lambda i: int(i[1:]))
    assert first.index.is_monotonic_increasing and len(first) == 10
    assert subsample(frame, None, "s") is frame


def test_preprocess_counts_reasons_and_duplicates_and_keeps_duplicates(tmp_path):
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
    tables, report = preprocess(frame, "en", "es", SETTINGS, tmp_path)
    assert report["dropped"] == {"empty": 1, "too_long": 1, "length_ratio": 1, "identical": 1}
    assert report["kept_pairs"] == 3
    kept = pd.concat(tables.values())
    assert sorted(kept["id"]) == ["1", "2", "7"]
    assert set(kept.loc[kept["id"].isin(["1", "2"]), "pair_count"]) == {"2"}
    assert kept.loc[kept["id"] == "7", "en"].item() == "spaced out"
    assert kept.loc[kept["id"] == "7", "flags"].item() == "shift"
    assert report["duplicates"]["distinct_duplicated_pairs"] == 1
    assert sum(report["splits"].values()) == 3


def test_direction_view_renames_sides(tmp_path):
    tables, _ = preprocess(_frame([("1", "hello there", "hola", "-")]), "en", "es", SETTINGS, tmp_path)
    table = pd.concat(tables.values())
    view = direction_view(table, "es", "en")
    assert view.loc[0, "src"] == "hola" and view.loc[0, "tgt"] == "hello there"
    assert list(view.columns[:3]) == ["id", "src", "tgt"]


def test_fixed_splits_are_kept_and_overlapping_training_pairs_dropped(tmp_path):
    frame = _frame([(f"r{i}", f"text {i}", f"texto {i}", "-") for i in range(50)]).assign(split="")
    frame.loc[50] = ("t1", "official test sentence", "frase oficial", "-", "test")
    frame.loc[51] = ("r51", "Official test sentence!", "otra traducción", "-", "")  # same source key
    tables, report = preprocess(frame, "en", "es", SETTINGS, tmp_path)
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


class _Words:
    """A stand-in for SentencePiece: one piece per whitespace word."""

    @staticmethod
    def encode(texts):
        return [text.split() for text in texts]


@pytest.mark.parametrize("max_subwords, max_pairs", [(3, 7), (3, None), (None, 7), (None, None), (3, 1000)])
def test_study_rows_read_in_chunks_are_the_short_pairs_lowest_hashes_in_corpus_order(max_subwords, max_pairs):
    from memkd.preprocess import id_rank
    from memkd.study import study_rows

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"id": [f"v{i}" for i in range(40)],
                          "en": [" ".join(["w"] * int(rng.integers(1, 6))) for _ in range(40)],
                          "es": [" ".join(["p"] * int(rng.integers(1, 6))) for _ in range(40)]})
    # the definition: short on both sides, then the max_pairs lowest id_rank, kept in corpus order
    short = [i for i in range(40) if max_subwords is None or
             (len(frame.en[i].split()) <= max_subwords and len(frame.es[i].split()) <= max_subwords)]
    if max_pairs is not None and len(short) > max_pairs:
        short = sorted(sorted(short, key=lambda i: id_rank(frame.id[i], "salt"))[:max_pairs])
    for rows in (1, 6, 40):
        chunks = (frame.iloc[k:k + rows].reset_index(drop=True) for k in range(0, 40, rows))
        chosen, total = study_rows(chunks, "en", "es", _Words, max_subwords, max_pairs, "salt")
        assert chosen.tolist() == short and total == 40
    assert 0 < len(short) < 40 or max_subwords is None
