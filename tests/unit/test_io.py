import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.io import (atomic_path, iter_chunks, read_columns, read_lines, read_rows, read_tsv, table_columns,
                      write_tsv_atomic, write_tsv_chunks_atomic)


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_file_until_the_new_one_is_complete(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError
    assert target.read_text() == "old"


def test_tsv_round_trip_and_required_columns(tmp_path):
    path = tmp_path / "t.tsv"
    write_tsv_atomic(path, pd.DataFrame({"id": ["1"], "en": ['say "hi"'], "flags": ["-"]}))
    assert read_tsv(path, columns=["id", "en"]).loc[0, "en"] == 'say "hi"'
    with pytest.raises(InputError, match=r"t\.tsv: missing column\(s\) \['es'\]"):
        read_tsv(path, columns=["es"])


def test_write_tsv_refuses_tabs_inside_texts(tmp_path):
    with pytest.raises(ValueError, match="tab or newline"):
        write_tsv_atomic(tmp_path / "t.tsv", pd.DataFrame({"en": ["a\tb"]}))
    assert not (tmp_path / "t.tsv").exists()


def test_read_lines_names_the_undecodable_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok\n".encode() + "niño\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt, line 2: not valid UTF-8"):
        read_lines(path)


def _table(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(rows)], "src": [f"source {i}" for i in range(rows)],
                         "tgt": [f"target {i}" for i in range(rows)], "n": list(range(rows))})


@pytest.mark.parametrize("rows", [0, 1, 7, 9])
def test_chunked_read_and_write_give_the_file_the_whole_table_gives(tmp_path, rows):
    """Chunks of 3 rows (the last short, or none at all): the same bytes as write_tsv_atomic of the selection."""
    write_tsv_atomic(tmp_path / "table.tsv", _table(rows))
    chunks = list(iter_chunks(tmp_path / "table.tsv", ["tgt", "id"], rows=3))
    assert all(len(chunk) <= 3 for chunk in chunks) and sum(map(len, chunks)) == rows
    assert write_tsv_chunks_atomic(tmp_path / "chunked.tsv", chunks) == rows
    write_tsv_atomic(tmp_path / "whole.tsv", read_tsv(tmp_path / "table.tsv")[["tgt", "id"]])
    assert (tmp_path / "chunked.tsv").read_bytes() == (tmp_path / "whole.tsv").read_bytes()
    assert read_columns(tmp_path / "table.tsv", ["tgt", "id"]).equals(read_tsv(tmp_path / "whole.tsv"))


def test_chunked_write_refuses_bad_chunks_and_leaves_no_file(tmp_path):
    good, bad_cell = _table(3), _table(3)
    bad_cell.loc[1, "tgt"] = "a\tb"
    with pytest.raises(ValueError, match="'tgt' has a tab or newline in row 4"):  # row 1 of the second chunk
        write_tsv_chunks_atomic(tmp_path / "out.tsv", [good, bad_cell])
    with pytest.raises(ValueError, match="columns"):
        write_tsv_chunks_atomic(tmp_path / "out.tsv", [good, good[["tgt", "id"]]])
    assert list(tmp_path.iterdir()) == []


def test_column_reads_name_the_file_and_the_missing_column(tmp_path):
    write_tsv_atomic(tmp_path / "table.tsv", _table(2))
    with pytest.raises(InputError, match=r"table\.tsv.*qe"):
        read_columns(tmp_path / "table.tsv", ["id", "qe"])
    with pytest.raises(InputError, match=r"table\.tsv.*qe"):
        next(iter_chunks(tmp_path / "table.tsv", ["qe"]))


@pytest.mark.parametrize("rows", [0, 1, 3, 7])
def test_whole_table_reads_parse_in_chunks_and_give_the_one_pass_frame(tmp_path, monkeypatch, rows):
    """read_tsv / read_columns parse CHUNK_ROWS rows at a time (here 3: none, one, exactly one, several chunks) and
    return what one pd.read_csv pass returns: same values, dtypes and a fresh RangeIndex."""
    import memkd.io

    from memkd.io import TSV_READ

    write_tsv_atomic(tmp_path / "table.tsv", _table(rows))
    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 3)
    pd.testing.assert_frame_equal(read_tsv(tmp_path / "table.tsv"), pd.read_csv(tmp_path / "table.tsv", **TSV_READ))
    pd.testing.assert_frame_equal(read_columns(tmp_path / "table.tsv", ["n", "src"]),
                                  pd.read_csv(tmp_path / "table.tsv", **TSV_READ)[["n", "src"]])


def test_reading_chosen_rows_chunk_by_chunk_gives_those_rows_of_the_table(tmp_path):
    """read_rows over chunks of 4 rows equals selecting the rows of the whole table (first, last, chunk edges, none);
    rows out of order or past the end are refused; table_columns gives the header."""
    table = pd.DataFrame({"id": [f"r{i}" for i in range(11)], "text": [f"t {i}" if i % 3 else "" for i in range(11)],
                          "flags": ["-"] * 11})
    path = tmp_path / "t.tsv"
    write_tsv_atomic(path, table)
    assert table_columns(path) == ["id", "text", "flags"]
    whole = read_columns(path, ["id", "text"])
    for rows in ([0, 10], [3, 4, 7, 8], list(range(11)), []):
        got = read_rows(path, ["id", "text"], rows, chunk_rows=4)
        pd.testing.assert_frame_equal(got, whole.iloc[rows].reset_index(drop=True))
    with pytest.raises(ValueError, match="ascending"):
        read_rows(path, ["id"], [4, 2])
    with pytest.raises(ValueError, match="11 rows"):
        read_rows(path, ["id"], [2, 11])


def test_read_table_reads_numbers_and_only_the_columns_asked_for(tmp_path):
    from memkd.io import read_table

    path = tmp_path / "cm.tsv"
    path.write_text("direction\tid\tcm\tscore\nen-es\ta\t0.25\tgeo\nes-en\tb\t\tgeo\n")
    whole = read_table(path)
    assert list(whole.columns) == ["direction", "id", "cm", "score"] and whole.cm.isna().tolist() == [False, True]
    some = read_table(path, ["direction", "cm"])
    assert list(some.columns) == ["direction", "cm"] and some.cm.iloc[0] == 0.25
    with pytest.raises(InputError, match=r"cm\.tsv: .*p_in"):
        read_table(path, ["direction", "p_in"])
