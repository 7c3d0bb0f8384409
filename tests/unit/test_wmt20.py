import gzip
import hashlib

import pytest

from memkd.corpora.wmt20 import (
    DEFAULT_SOURCES,
    download,
    read_parallel_plain,
    read_parallel_tsv,
    read_sgm,
    read_wmt20,
)
from memkd.errors import InputError


def _gz(path, text):
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text)
    return path


def test_download_from_a_file_url_with_checksum(tmp_path):
    source = tmp_path / "src.txt"
    source.write_bytes(b"hello\n")
    dest = tmp_path / "out" / "src.txt"
    download(source.as_uri(), dest, sha256=hashlib.sha256(b"hello\n").hexdigest())
    assert dest.read_bytes() == b"hello\n"
    with pytest.raises(InputError, match="does not match"):
        download(source.as_uri(), tmp_path / "bad.txt", sha256="0" * 64)
    assert not (tmp_path / "bad.txt").exists()
    with pytest.raises(InputError, match="download of file:.*missing.txt failed"):
        download((tmp_path / "missing.txt").as_uri(), tmp_path / "x.txt")


def test_tsv_column_order_comes_from_the_file_name(tmp_path):
    path = _gz(tmp_path / "news-commentary-v15.de-en.tsv.gz", "Hallo Welt\tHello world\nZwei\tTwo\n")
    frame = read_parallel_tsv(path, ("en", "de"))
    assert frame.loc[0, "en"] == "Hello world" and frame.loc[0, "de"] == "Hallo Welt"
    assert frame.loc[1, "id"] == "news-commentary-v15.de-en.tsv.gz:2"
    bad = _gz(tmp_path / "x.de-en.tsv.gz", "Hallo\tHello\nonly one field\n")
    with pytest.raises(InputError, match=r"x\.de-en\.tsv\.gz, line 2: expected 2"):
        read_parallel_tsv(bad, ("en", "de"))


def test_plain_files_must_have_equal_line_counts(tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\n")
    (tmp_path / "a.de").write_text("eins\n")
    with pytest.raises(InputError, match=r"a\.en has 2 lines but .*a\.de has 1"):
        read_parallel_plain(tmp_path / "a.en", tmp_path / "a.de", ("en", "de"))


def test_sgm_test_set_pair(tmp_path):
    src = tmp_path / "newstest2020-ende-src.en.sgm"
    ref = tmp_path / "newstest2020-ende-ref.de.sgm"
    src.write_text('<srcset>\n<doc docid="d1">\n<seg id="1">Tom &amp; Jerry</seg>\n<seg id="2">Bye</seg>\n</doc>\n</srcset>\n')
    ref.write_text('<refset>\n<doc docid="d1">\n<seg id="1">Tom &amp; Jerry</seg>\n<seg id="2">Tschüss</seg>\n</doc>\n</refset>\n')
    assert read_sgm(src) == [("d1/1", "Tom & Jerry"), ("d1/2", "Bye")]
    (tmp_path / "train.de-en.tsv").write_text("Hallo\tHello\n")
    frame = read_wmt20(
        [
            {"format": "tsv", "path": tmp_path / "train.de-en.tsv"},
            {"format": "sgm", "path": src, "target_path": ref, "split": "test"},
        ],
        ("en", "de"),
    )
    assert list(frame["split"]) == ["", "test", "test"] and frame.loc[2, "de"] == "Tschüss"
    assert list(frame.columns) == ["id", "en", "de", "flags", "split"]


def test_default_sources_name_public_addresses():
    for pair, files in DEFAULT_SOURCES.items():
        assert files and all(f["url"].startswith("https://") for f in files), pair
