import unicodedata

import numpy as np
import pandas as pd
import pytest

from memkd.corpora.usertsv import first_repeat, iter_user_tsv, read_user_tsv
from memkd.digests import text_keys
from memkd.errors import InputError

LANGS = ("en", "es")


def _write(tmp_path, content: bytes, name="pairs.tsv"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_reads_rows_in_order_and_cleans_texts(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Adiós")
    path = _write(tmp_path, f"a\t Hello \u00a0  world \tHola mundo\r\n\n  \nb\tBye\t{decomposed}\n".encode())
    frame, report = read_user_tsv(path, LANGS)
    assert list(frame.columns) == ["id", "en", "es", "flags"]
    assert frame.to_dict("records") == [
        {"id": "a", "en": "Hello world", "es": "Hola mundo", "flags": "-"},
        {"id": "b", "en": "Bye", "es": "Adiós", "flags": "-"},
    ]
    assert frame.loc[1, "es"] == unicodedata.normalize("NFC", "Adiós")
    assert report == {"lines": 4, "blank_skipped": 2, "undecodable_skipped": 0, "rows": 2}


def test_input_file_is_not_modified(tmp_path):
    content = b"a\t Hello   world \tHola\n"
    path = _write(tmp_path, content)
    read_user_tsv(path, LANGS)
    assert path.read_bytes() == content


def test_a_leading_byte_order_mark_is_not_part_of_the_first_id(tmp_path):
    frame, _ = read_user_tsv(_write(tmp_path, "\ufeffa\tx\ty\n".encode()), LANGS)
    assert frame.loc[0, "id"] == "a"


@pytest.mark.parametrize(
    "content,message",
    [
        (b"a\tHello\tHola\nb\tonly two\n", r"pairs\.tsv, line 2: expected 3 tab-separated fields .*found 2"),
        (b"a\tHello\tHola\textra\n", r"pairs\.tsv, line 1: expected 3 .*found 4"),
        (b"\n\na single field\n", r"pairs\.tsv, line 3: expected 3 .*found 1"),
        (b"a\tHello\tHola\nb\tNi\xf1o\tNi\xf1o\n", r"pairs\.tsv, line 2: not valid UTF-8"),
        (b"", r"pairs\.tsv: file is empty"),
        (b"\n  \n", r"pairs\.tsv: file is empty"),
        (b"a\tx\ty\nb\tu\tv\n\na\tz\tw\n", r"pairs\.tsv, line 4: id 'a' already used on line 1"),
        (b"a\tx\ty\n \tz\tw\n", r"pairs\.tsv, line 2: the id .* is empty"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, content, message):
    with pytest.raises(InputError, match=message):
        read_user_tsv(_write(tmp_path, content), LANGS)


def test_undecodable_lines_can_be_skipped_and_counted(tmp_path):
    path = _write(tmp_path, b"a\tHello\tHola\nb\tNi\xf1o\tNi\xf1o\nc\tYes\tS\xc3\xad\n")
    frame, report = read_user_tsv(path, LANGS, on_undecodable="skip")
    assert list(frame["id"]) == ["a", "c"] and frame.loc[1, "es"] == "Sí"
    assert report == {"lines": 3, "blank_skipped": 0, "undecodable_skipped": 1, "rows": 2}


def test_a_file_of_only_undecodable_lines_is_empty(tmp_path):
    with pytest.raises(InputError, match=r"pairs\.tsv: file is empty .*1 undecodable"):
        read_user_tsv(_write(tmp_path, b"a\t\xff\tb\n"), LANGS, on_undecodable="skip")


def test_missing_file_and_unknown_policy(tmp_path):
    with pytest.raises(InputError, match=r"nope\.tsv: file not found"):
        read_user_tsv(tmp_path / "nope.tsv", LANGS)
    with pytest.raises(InputError, match=r"pairs\.tsv: on_undecodable must be one of"):
        read_user_tsv(_write(tmp_path, b"a\tb\tc\n"), LANGS, on_undecodable="ignore")


def test_chunks_are_the_file_in_order_and_the_report_comes_after_the_last(tmp_path):
    lines = "".join(f"r{i}\tsource {i}\ttarget {i}\n" + ("\n" if i == 3 else "") for i in range(7))
    path = _write(tmp_path, lines.encode())
    report = {}
    chunks = iter_user_tsv(path, LANGS, report=report, chunk_rows=3)
    first = next(chunks)
    assert list(first["id"]) == ["r0", "r1", "r2"] and report == {}
    rest = list(chunks)
    assert [len(chunk) for chunk in rest] == [3, 1]
    whole, _ = read_user_tsv(path, LANGS)
    pd.testing.assert_frame_equal(pd.concat([first, *rest], ignore_index=True), whole)
    assert report == {"lines": 8, "blank_skipped": 1, "undecodable_skipped": 0, "rows": 7}


def test_a_repeated_id_in_a_later_chunk_names_both_lines(tmp_path):
    path = _write(tmp_path, b"a\tx\ty\nb\tu\tv\nc\tu\tv\n\nb \tz\tw\n")
    with pytest.raises(InputError, match=r"pairs\.tsv, line 5: id 'b' already used on line 2"):
        list(iter_user_tsv(path, LANGS, chunk_rows=2))


def test_first_repeat_is_the_earliest_row_that_repeats_and_its_first_copy():
    assert first_repeat(text_keys([])) is None
    assert first_repeat(text_keys(["a", "b", "c"])) is None
    assert first_repeat(text_keys(["a", "b", "c", "b", "a"])) == (3, 1)
    assert first_repeat(text_keys(["x", "y", "y", "x", "y"])) == (2, 1)
    rng = np.random.default_rng(0)
    for _ in range(300):
        ids = [str(v) for v in rng.integers(0, 40, size=rng.integers(0, 30))]
        seen, expected = {}, None
        for row, identifier in enumerate(ids):
            if identifier in seen:
                expected = (row, seen[identifier])
                break
            seen[identifier] = row
        assert first_repeat(text_keys(ids)) == expected
