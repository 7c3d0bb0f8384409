import gzip
import hashlib
import importlib
import io
import tarfile
import unicodedata
import urllib.request

import pytest

from memkd.corpora import wmt20
from memkd.corpora.wmt20 import (
    DEFAULT_SOURCES,
    FORMATS,
    column_languages_from_name,
    download,
    read_parallel_plain,
    read_parallel_tsv,
    read_sgm,
    read_sgm_pair,
    read_wmt20,
)
from memkd.errors import InputError

EN_DE = ("en", "de")
SRC_SGM = (
    '<srcset setid="newstest2020" srclang="any">\n<doc sysid="ref" docid="d1" genre="news" origlang="en">\n'
    '<p>\n<seg id="1">Tom &amp; Jerry &quot;run&quot;</seg>\n<seg id="2">  Bye\tnow </seg>\n</p>\n</doc>\n'
    '<doc sysid="ref" docid="d2">\n<seg id="1">Third</seg>\n</doc>\n</srcset>\n'
)
REF_SGM = SRC_SGM.replace("srcset", "refset").replace("Bye\tnow", "Tschüss jetzt").replace("Third", "Drittens")


def _gz(path, text: str):
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def _tar(path, members: dict[str, str]):
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


# --- download ---------------------------------------------------------------------------------


def test_download_from_a_file_url_checks_the_checksum(tmp_path):
    source = tmp_path / "served" / "news.de-en.tsv.gz"
    source.parent.mkdir()
    source.write_bytes(b"hello\n")
    dest = tmp_path / "out" / "news.de-en.tsv.gz"
    assert download(source.as_uri(), dest, sha256=hashlib.sha256(b"hello\n").hexdigest()) == dest
    assert dest.read_bytes() == b"hello\n" and source.read_bytes() == b"hello\n"


def test_a_checksum_mismatch_names_the_url_and_leaves_no_file(tmp_path):
    source = tmp_path / "src.txt"
    source.write_bytes(b"hello\n")
    with pytest.raises(InputError, match=rf"download of {source.as_uri()}: sha256 .* does not match"):
        download(source.as_uri(), tmp_path / "bad.txt", sha256="0" * 64)
    assert [p.name for p in tmp_path.iterdir()] == ["src.txt"]  # no partial file either


def test_a_failed_download_names_the_url_and_keeps_an_older_copy(tmp_path):
    dest = tmp_path / "x.txt"
    dest.write_text("older")
    missing = (tmp_path / "missing.txt").as_uri()
    with pytest.raises(InputError, match=rf"download of {missing} failed"):
        download(missing, dest)
    assert dest.read_text() == "older"
    with pytest.raises(InputError, match="download of not-a-url failed"):
        download("not-a-url", tmp_path / "y.txt")


def test_a_truncated_download_is_refused(tmp_path, monkeypatch):
    class ShortResponse(io.BytesIO):
        headers = {"Content-Length": "100"}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: ShortResponse(b"only a part"))
    with pytest.raises(InputError, match=r"download of https://example\.org/f\.gz is truncated: got 11 of 100"):
        download("https://example.org/f.gz", tmp_path / "f.gz")
    assert not (tmp_path / "f.gz").exists()


def test_importing_the_module_downloads_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network used at import")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    importlib.reload(wmt20)


# --- two-column TSV ---------------------------------------------------------------------------


def test_tsv_column_order_comes_from_the_file_name(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Grüße")
    path = _gz(
        tmp_path / "news-commentary-v15.de-en.tsv.gz", f"Hallo  Welt \tHello world\n\t\n\nZwei\tTwo\r\n{decomposed}\t\n"
    )
    frame = read_parallel_tsv(path, EN_DE)
    assert frame.values.tolist() == [
        ["news-commentary-v15.de-en.tsv.gz:1", "Hello world", "Hallo Welt", "-"],
        ["news-commentary-v15.de-en.tsv.gz:4", "Two", "Zwei", "-"],
        ["news-commentary-v15.de-en.tsv.gz:5", "", "Grüße", "-"],  # one-sided: kept, the filter counts it
    ]
    assert frame.loc[2, "de"] == unicodedata.normalize("NFC", "Grüße")
    assert list(read_parallel_tsv(path, ("de", "en")).columns) == ["id", "de", "en", "flags"]


def test_tsv_plain_file_and_explicit_column_languages(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("Hello\tHallo\n", encoding="utf-8")
    frame = read_parallel_tsv(path, ("de", "en"), column_languages=("en", "de"))
    assert frame.loc[0, "de"] == "Hallo" and frame.loc[0, "en"] == "Hello"
    with pytest.raises(InputError, match=r"pairs\.tsv: cannot tell the column languages"):
        read_parallel_tsv(path, EN_DE)
    assert column_languages_from_name("europarl-v10.pl-en.tsv.gz") == ("pl", "en")


@pytest.mark.parametrize(
    "text,message",
    [
        ("Hallo\tHello\nonly one field\n", r"x\.de-en\.tsv\.gz, line 2: expected 2 tab-separated fields, found 1"),
        ("Hallo\tHello\nA\tB\tC\n", r"x\.de-en\.tsv\.gz, line 2: expected 2 .*found 3"),
    ],
)
def test_tsv_bad_lines_name_file_and_line(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_parallel_tsv(_gz(tmp_path / "x.de-en.tsv.gz", text), EN_DE)


def test_tsv_undecodable_corrupt_or_wrong_language_files(tmp_path):
    bad_bytes = tmp_path / "x.de-en.tsv.gz"
    with gzip.open(bad_bytes, "wb") as handle:
        handle.write(b"Hallo\tHello\nGr\xfc\xdfe\tGreetings\n")
    with pytest.raises(InputError, match=r"x\.de-en\.tsv\.gz, line 2: not valid UTF-8"):
        read_parallel_tsv(bad_bytes, EN_DE)
    corrupt = tmp_path / "y.de-en.tsv.gz"
    corrupt.write_bytes(b"this is not gzip")
    with pytest.raises(InputError, match=r"y\.de-en\.tsv\.gz, after line 0: cannot read"):
        read_parallel_tsv(corrupt, EN_DE)
    with pytest.raises(InputError, match=r"x\.de-en\.tsv\.gz: columns are de-en, the corpus is pl-en"):
        read_parallel_tsv(bad_bytes, ("pl", "en"))
    with pytest.raises(InputError, match=r"missing\.de-en\.tsv\.gz: file not found"):
        read_parallel_tsv(tmp_path / "missing.de-en.tsv.gz", EN_DE)


# --- line-aligned plain files -----------------------------------------------------------------


def test_plain_pairs_gzipped_or_not(tmp_path):
    source = _gz(tmp_path / "train.en.gz", "one\n\nthree  \n")
    (tmp_path / "train.de").write_text("eins\n\ndrei\n", encoding="utf-8")
    frame = read_parallel_plain(source, tmp_path / "train.de", EN_DE)
    assert frame.values.tolist() == [["train.en.gz:1", "one", "eins", "-"], ["train.en.gz:3", "three", "drei", "-"]]


@pytest.mark.parametrize(
    "en_text,de_text,counts", [("one\ntwo\n", "eins\n", (2, 1)), ("one\n", "eins\nzwei\ndrei\n", (1, 3))]
)
def test_plain_files_must_have_equal_line_counts(tmp_path, en_text, de_text, counts):
    (tmp_path / "a.en").write_text(en_text)
    (tmp_path / "a.de").write_text(de_text)
    with pytest.raises(
        InputError, match=rf"a\.en has {counts[0]} lines but .*a\.de has {counts[1]}: .*not line-aligned"
    ):
        read_parallel_plain(tmp_path / "a.en", tmp_path / "a.de", EN_DE)


# --- SGML test sets ---------------------------------------------------------------------------


def test_read_sgm_unescapes_and_tracks_documents(tmp_path):
    path = tmp_path / "newstest2020-ende-src.en.sgm"
    path.write_text(SRC_SGM, encoding="utf-8")
    segments = read_sgm(path)
    assert [(s.line, s.doc_id, s.seg_id, s.text) for s in segments] == [
        (4, "d1", "1", 'Tom & Jerry "run"'),
        (5, "d1", "2", "Bye now"),
        (9, "d2", "1", "Third"),
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ('<doc docid="d">\n<seg id="1">ok</seg>\n<seg id="2">broken\n</doc>\n', r"bad\.sgm, line 3: malformed <seg>"),
        ("<srcset>\n</srcset>\n", r"bad\.sgm: no <seg> elements"),
    ],
)
def test_read_sgm_errors_name_file_and_line(tmp_path, text, message):
    (tmp_path / "bad.sgm").write_text(text)
    with pytest.raises(InputError, match=message):
        read_sgm(tmp_path / "bad.sgm")


def test_sgm_pair_must_match_segment_by_segment(tmp_path):
    (tmp_path / "src.sgm").write_text(SRC_SGM)
    (tmp_path / "ref.sgm").write_text(REF_SGM.replace('<seg id="2">', '<seg id="7">'))
    with pytest.raises(InputError, match=r"src\.sgm, line 5 \(doc 'd1', seg 2\) does not match .*ref\.sgm, line 5"):
        read_sgm_pair(tmp_path / "src.sgm", tmp_path / "ref.sgm", EN_DE)
    (tmp_path / "short.sgm").write_text('<doc docid="d1">\n<seg id="1">x</seg>\n</doc>\n')
    with pytest.raises(InputError, match=r"src\.sgm has 3 segments but .*short\.sgm has 1"):
        read_sgm_pair(tmp_path / "src.sgm", tmp_path / "short.sgm", EN_DE)


# --- the whole corpus -------------------------------------------------------------------------


def test_read_wmt20_concatenates_files_and_marks_official_splits(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _gz(served / "news-commentary-v15.de-en.tsv.gz", "Hallo\tHello\n")
    (served / "newstest2020-ende-src.en.sgm").write_text(SRC_SGM, encoding="utf-8")
    (served / "newstest2020-ende-ref.de.sgm").write_text(REF_SGM, encoding="utf-8")
    local = tmp_path / "downloads"
    for name in ("news-commentary-v15.de-en.tsv.gz", "newstest2020-ende-src.en.sgm", "newstest2020-ende-ref.de.sgm"):
        download((served / name).as_uri(), local / name)
    frame = read_wmt20(
        [
            {"format": "tsv", "path": local / "news-commentary-v15.de-en.tsv.gz"},
            {
                "format": "sgm",
                "path": local / "newstest2020-ende-src.en.sgm",
                "target_path": local / "newstest2020-ende-ref.de.sgm",
                "split": "test",
            },
        ],
        EN_DE,
    )
    assert list(frame.columns) == ["id", "en", "de", "flags", "split"]
    assert frame.values.tolist() == [
        ["news-commentary-v15.de-en.tsv.gz:1", "Hello", "Hallo", "-", ""],
        ["newstest2020-ende-src.en.sgm:4", 'Tom & Jerry "run"', 'Tom & Jerry "run"', "-", "test"],
        ["newstest2020-ende-src.en.sgm:5", "Bye now", "Tschüss jetzt", "-", "test"],
        ["newstest2020-ende-src.en.sgm:9", "Third", "Drittens", "-", "test"],
    ]


def test_read_wmt20_without_splits_has_exactly_the_contract_columns(tmp_path):
    (tmp_path / "a.en").write_text("one\n")
    (tmp_path / "a.de").write_text("eins\n")
    frame = read_wmt20([{"format": "plain", "path": tmp_path / "a.en", "target_path": tmp_path / "a.de"}], EN_DE)
    assert list(frame.columns) == ["id", "en", "de", "flags"]
    assert frame.values.tolist() == [["a.en:1", "one", "eins", "-"]]


def test_test_sets_inside_a_tar_archive(tmp_path):
    archive = _tar(
        tmp_path / "test.tgz",
        {
            "sgm/newstest2020-ende-src.en.sgm": SRC_SGM,
            "sgm/newstest2020-ende-ref.de.sgm": REF_SGM,
        },
    )
    item = {
        "format": "sgm",
        "path": archive,
        "target_path": archive,
        "split": "test",
        "member": "sgm/newstest2020-ende-src.en.sgm",
        "target_member": "sgm/newstest2020-ende-ref.de.sgm",
    }
    frame = read_wmt20([item], EN_DE)
    assert frame.loc[2, "id"] == "newstest2020-ende-src.en.sgm:9" and frame.loc[2, "de"] == "Drittens"
    with pytest.raises(InputError, match=r"test\.tgz: the archive has no file 'sgm/nope\.sgm'"):
        read_wmt20([dict(item, member="sgm/nope.sgm")], EN_DE)


def test_read_wmt20_refuses_bad_items(tmp_path):
    path = _gz(tmp_path / "x.de-en.tsv.gz", "Hallo\tHello\n")
    with pytest.raises(InputError, match=r"x\.de-en\.tsv\.gz: unknown format 'csv'"):
        read_wmt20([{"format": "csv", "path": path}], EN_DE)
    with pytest.raises(InputError, match=r"format plain needs a second"):
        read_wmt20([{"format": "plain", "path": path}], EN_DE)
    with pytest.raises(InputError, match=r"'x\.de-en\.tsv\.gz:1' occurs twice"):
        read_wmt20([{"format": "tsv", "path": path}, {"format": "tsv", "path": path}], EN_DE)
    with pytest.raises(InputError, match="no WMT20 files"):
        read_wmt20([], EN_DE)


def test_default_sources_are_public_addresses_of_the_right_pairs():
    assert set(DEFAULT_SOURCES) == {"en-de", "pl-en", "fr-de"}
    for pair, files in DEFAULT_SOURCES.items():
        languages = set(pair.split("-"))
        for item in files:
            assert item["url"].startswith("https://") and item["format"] in FORMATS, item
            if item["format"] == "tsv":
                assert set(column_languages_from_name(item["url"].rsplit("/", 1)[1])) == languages, item
            else:
                assert item["member"].endswith(".sgm") and item["target_member"].endswith(".sgm"), item
                assert item["split"] in ("dev", "test")
