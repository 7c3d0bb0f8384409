import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.io import atomic_path, read_lines, read_tsv, write_tsv_atomic


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
