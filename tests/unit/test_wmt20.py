import copy
import gzip
import hashlib
import importlib
import io
import tarfile
import unicodedata
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config, validate

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
    read_translation_memory,
    read_wmt20,
)
from memkd.config import check_config
from memkd.errors import InputError

ROOT = Path(__file__).resolve().parents[2]

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


def test_iter_wmt20_streams_chunks_across_files_with_their_splits(tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\n\nthree\n")
    (tmp_path / "a.de").write_text("eins\nzwei\n\ndrei\n")
    path = _gz(tmp_path / "b.de-en.tsv.gz", "Vier\tFour\nFünf\tFive\n")
    files = [{"format": "plain", "path": tmp_path / "a.en", "target_path": tmp_path / "a.de"},
             {"format": "tsv", "path": path, "split": "dev"}]
    chunks = list(wmt20.iter_wmt20(files, EN_DE, chunk_rows=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    whole = read_wmt20(files, EN_DE)
    assert pd.concat(chunks, ignore_index=True).values.tolist() == whole.values.tolist()
    assert whole.values.tolist() == [
        ["a.en:1", "one", "eins", "-", ""], ["a.en:2", "two", "zwei", "-", ""], ["a.en:4", "three", "drei", "-", ""],
        ["b.de-en.tsv.gz:1", "Four", "Vier", "-", "dev"], ["b.de-en.tsv.gz:2", "Five", "Fünf", "-", "dev"]]


def test_read_wmt20_refuses_bad_items(tmp_path):
    path = _gz(tmp_path / "x.de-en.tsv.gz", "Hallo\tHello\n")
    with pytest.raises(InputError, match=r"x\.de-en\.tsv\.gz: unknown format 'csv'"):
        read_wmt20([{"format": "csv", "path": path}], EN_DE)
    with pytest.raises(InputError, match=r"format plain needs a second"):
        read_wmt20([{"format": "plain", "path": path}], EN_DE)
    with pytest.raises(InputError, match=r"'x\.de-en\.tsv\.gz' is listed twice \(items 1 and 2\)"):
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
                columns = item.get("columns") or column_languages_from_name(item["url"].rsplit("/", 1)[1])
                assert languages <= set(columns) and len(columns) >= 2, item
            elif item["format"] == "sgm":
                assert item["member"].endswith(".sgm") and item["target_member"].endswith(".sgm"), item
                assert item["split"] in ("dev", "test")
            elif item["format"] == "plain":  # Common Crawl: both sides are members of one tgz
                assert {item["member"].rsplit(".", 1)[1], item["target_member"].rsplit(".", 1)[1]} == languages
    # WMT20's whole en-de training list (translation-task.html): seven corpora and the test set
    en_de = [item["url"].rsplit("/", 1)[1] for item in DEFAULT_SOURCES["en-de"]]
    for name in ("europarl-v10", "en-de.txt.gz", "commoncrawl", "news-commentary-v15", "wikititles-v2",
                 "RAPID_2019", "WikiMatrix", "test.tgz"):
        assert sum(name in url for url in en_de) == 1, name


# --- tsv with more columns, and archives (WikiMatrix, ParaCrawl, Common Crawl, Rapid) ------------


def test_tsv_columns_other_than_the_languages_are_read_past(tmp_path):
    path = _gz(tmp_path / "WikiMatrix.v1.de-en.langid.tsv.gz", "1.25\tHallo Welt\tHello world\n1.04\tZwei\tTwo\n")
    frame = read_parallel_tsv(path, EN_DE, column_languages=["score", "de", "en"])
    assert frame.values.tolist() == [
        ["WikiMatrix.v1.de-en.langid.tsv.gz:1", "Hello world", "Hallo Welt", "-"],
        ["WikiMatrix.v1.de-en.langid.tsv.gz:2", "Two", "Zwei", "-"],
    ]
    # the file name (.langid.tsv) does not give the columns: the item must
    with pytest.raises(InputError, match=r"WikiMatrix\.v1\.de-en\.langid\.tsv\.gz: cannot tell the column languages"):
        read_parallel_tsv(path, EN_DE)
    with pytest.raises(InputError, match=r"w\.tsv\.gz, line 2: expected 3 tab-separated fields, found 2"):
        read_parallel_tsv(_gz(tmp_path / "w.tsv.gz", "1.1\tA\tB\nA\tB\n"), EN_DE, ["score", "de", "en"])
    with pytest.raises(InputError, match=r"columns are score-de-fr, the corpus is en-de"):
        read_parallel_tsv(path, EN_DE, ["score", "de", "fr"])
    with pytest.raises(InputError, match=r"columns are en-de-en, the corpus is en-de"):
        read_parallel_tsv(path, EN_DE, ["en", "de", "en"])


def test_paracrawl_txt_gz_with_its_column_order(tmp_path):
    path = _gz(tmp_path / "en-de.txt.gz", "Hello\tHallo\nGood  night\tGute Nacht\n")
    assert read_wmt20([{"format": "tsv", "path": path, "columns": ["en", "de"]}], ("de", "en")).values.tolist() == [
        ["en-de.txt.gz:1", "Hallo", "Hello", "-"],
        ["en-de.txt.gz:2", "Gute Nacht", "Good night", "-"],
    ]


def test_common_crawl_pairs_inside_one_tgz(tmp_path):
    archive = _tar(
        tmp_path / "training-parallel-commoncrawl.tgz",
        {
            "commoncrawl.fr-en.en": "not this\n",
            "commoncrawl.de-en.annotation": "x\n",
            "commoncrawl.de-en.de": "Eins\n\nDrei\n",
            "commoncrawl.de-en.en": "One\n\nThree\n",
        },
    )
    item = {"format": "plain", "path": archive, "target_path": archive,
            "member": "commoncrawl.de-en.en", "target_member": "commoncrawl.de-en.de"}
    assert read_wmt20([item], EN_DE).values.tolist() == [
        ["commoncrawl.de-en.en:1", "One", "Eins", "-"],
        ["commoncrawl.de-en.en:3", "Three", "Drei", "-"],
    ]
    with pytest.raises(InputError, match=r"commoncrawl\.tgz: the archive has no file 'commoncrawl\.pl-en\.en'"):
        read_wmt20([dict(item, member="commoncrawl.pl-en.en")], EN_DE)


def test_members_of_a_zip_archive(tmp_path):
    """Tilde ships Rapid as zips: line-aligned files (rapid2019.de-en.zip) or a TMX (rapid2019.en-pl.tmx.zip)."""
    archive = tmp_path / "rapid2019.de-en.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("rapid2019.de-en.de", "Pressemitteilung\n\nBrüssel\n")
        handle.writestr("rapid2019.de-en.en", "Press release\n\nBrussels\n")
    item = {"format": "plain", "path": archive, "target_path": archive,
            "member": "rapid2019.de-en.en", "target_member": "rapid2019.de-en.de"}
    assert read_wmt20([item], EN_DE).values.tolist() == [
        ["rapid2019.de-en.en:1", "Press release", "Pressemitteilung", "-"],
        ["rapid2019.de-en.en:3", "Brussels", "Brüssel", "-"],
    ]
    with pytest.raises(InputError, match=r"rapid2019\.de-en\.zip: the archive has no file 'rapid2019\.de-en\.fr'"):
        read_wmt20([dict(item, target_member="rapid2019.de-en.fr")], EN_DE)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:-30])  # end of central directory cut off: not a zip any more
    with pytest.raises(InputError, match=r"broken\.zip:rapid2019\.de-en\.en, after line 0: cannot read the file"):
        read_wmt20([dict(item, path=broken, target_path=broken)], EN_DE)


# --- TMX and XLIFF ----------------------------------------------------------------------------

TMX = """<?xml version="1.0" encoding="{encoding}"?>
<tmx version="1.4">
<header srclang="en" datatype="plaintext" segtype="sentence"><prop type="origin">test</prop></header>
<body>
<tu tuid="1"><prop type="doc">a</prop>
<tuv xml:lang="EN-GB"><seg>Press <bpt i="1">&lt;b&gt;</bpt>release<ept i="1">&lt;/b&gt;</ept> &amp; more</seg></tuv>
<tuv xml:lang="de-DE"><seg>Presse<ph>{{1}}</ph>mitteilung  &amp; mehr</seg></tuv>
</tu>
<tu><tuv lang="en"><seg>Only English</seg></tuv></tu>
<tu><tuv xml:lang="en"><seg>   </seg></tuv><tuv xml:lang="de"><seg></seg></tuv></tu>
<tu><tuv xml:lang="de"><seg>Nur <hi>Deutsch</hi></seg></tuv><tuv xml:lang="en"><seg>Only <hi>German</hi></seg></tuv></tu>
</body>
</tmx>
"""
TMX_ROWS = [
    ["RAPID_2019.UNIQUE.en-de.tmx:5", "Press release & more", "Pressemitteilung & mehr", "-"],
    ["RAPID_2019.UNIQUE.en-de.tmx:9", "Only English", "", "-"],  # one-sided: kept, the filter counts it
    ["RAPID_2019.UNIQUE.en-de.tmx:11", "Only German", "Nur Deutsch", "-"],  # empty unit (line 10) skipped
]
XLIFF = """<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
<file source-language="de" target-language="en" datatype="plaintext" original="rapid">
<body>
<trans-unit id="1"><source>Guten <g id="1">Tag</g><x id="2"/></source><target>Good day</target>
<alt-trans><source>Guten Tag</source><target>Hello</target></alt-trans><note>translator's note</note></trans-unit>
<trans-unit id="2">
<source xml:lang="de">Zwei &amp; drei</source>
<target xml:lang="en-GB">Two &amp; three</target>
</trans-unit>
</body>
</file>
</xliff>
"""


def test_tmx_units_inline_codes_and_language_subtags(tmp_path):
    path = tmp_path / "RAPID_2019.UNIQUE.en-de.tmx"
    path.write_text(TMX.format(encoding="UTF-8"), encoding="utf-8")
    assert read_translation_memory(path, EN_DE, "tmx").values.tolist() == TMX_ROWS
    assert read_translation_memory(path, ("de", "en"), "tmx")["de"].tolist() == ["Pressemitteilung & mehr", "", "Nur Deutsch"]


def test_a_utf16_tmx_inside_a_zip(tmp_path):
    archive = tmp_path / "rapid2019.en-de.tmx.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("RAPID_2019.UNIQUE.en-de.tmx", TMX.format(encoding="UTF-16").encode("utf-16"))
    item = {"format": "tmx", "path": archive, "member": "RAPID_2019.UNIQUE.en-de.tmx"}
    assert read_wmt20([item], EN_DE).values.tolist() == TMX_ROWS


def test_xliff_languages_from_the_file_or_the_segment(tmp_path):
    path = _gz(tmp_path / "RAPID_2019.de-en.xlf.gz", XLIFF)
    assert read_wmt20([{"format": "xliff", "path": path}], EN_DE).values.tolist() == [
        ["RAPID_2019.de-en.xlf.gz:5", "Good day", "Guten Tag", "-"],  # alternatives and notes are not the pair
        ["RAPID_2019.de-en.xlf.gz:7", "Two & three", "Zwei & drei", "-"],
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ('<tmx><body><tu><tuv xml:lang="en"><seg>x</seg></tuv>\n<tuv xml:lang="en-US"><seg>y</seg></tuv></tu></body></tmx>',
         r"x\.tmx, line 2: a second en segment in the unit of line 1"),
        ('<tmx><body>\n<tu><tuv xml:lang="fr"><seg>x</seg></tuv></tu></body></tmx>',
         r"x\.tmx, line 2: the unit has no en or de segment \(languages: fr\)"),
        ('<tmx><body>\n<tu><tuv xml:lang="en"><seg>x</seg></tuv>\n</body></tmx>', r"x\.tmx, line 3: not well-formed XML"),
        ("<tmx><body>\n</body></tmx>", r"x\.tmx: no <tu> translation units"),
        ("<tmx><body><tu>\n<tuv><seg>x</seg></tuv></tu></body></tmx>", r"x\.tmx, line 2: <seg> without a language"),
        ('<tmx><body><tu><tuv xml:lang="en"><seg>Gr\xfc\xdfe</seg></tuv></tu></body></tmx>', r"x\.tmx, line 1: not well-formed"),
    ],
)
def test_translation_memory_errors_name_file_and_line(tmp_path, text, message):
    (tmp_path / "x.tmx").write_bytes(text.encode("latin-1"))  # the last case: bytes that are not UTF-8
    with pytest.raises(InputError, match=message):
        read_translation_memory(tmp_path / "x.tmx", EN_DE, "tmx")


def test_xliff_errors_name_file_and_line(tmp_path):
    (tmp_path / "a.xlf").write_text('<xliff><file><body>\n<trans-unit id="1"><source>x</source></trans-unit></body></file></xliff>')
    with pytest.raises(InputError, match=r"a\.xlf, line 2: <source> without a language"):
        read_translation_memory(tmp_path / "a.xlf", EN_DE, "xliff")
    with pytest.raises(InputError, match=r"missing\.xlf\.gz: file not found"):
        read_translation_memory(tmp_path / "missing.xlf.gz", EN_DE, "xliff")


@pytest.mark.parametrize("file_format", ["tsv", "tmx"])
def test_readers_stream_rows_before_the_end_of_the_file(tmp_path, monkeypatch, file_format):
    """Rows come out while the file is read (in small chunks here): a fault near its end is met only after the
    rows before it were handed on, so no reader holds a whole file first."""
    monkeypatch.setattr(wmt20, "CHUNK_BYTES", 256)
    if file_format == "tsv":
        path = _gz(tmp_path / "x.de-en.tsv.gz", "\n" + "Hallo\tHello\n" * 500 + "broken\n")
        rows = wmt20.iter_parallel_tsv(path, EN_DE)
    else:
        units = '<tu><tuv xml:lang="en"><seg>Hello</seg></tuv><tuv xml:lang="de"><seg>Hallo</seg></tuv></tu>\n' * 500
        path = _gz(tmp_path / "x.tmx.gz", f"<tmx><body>\n{units}<tu></body></tmx>\n")
        rows = wmt20.iter_translation_memory(path, EN_DE, "tmx")
    assert next(rows)[1:] == ("Hello", "Hallo")
    read = 1
    with pytest.raises(InputError, match=r"x\.(de-en\.tsv|tmx)\.gz, line 502"):
        for _ in rows:
            read += 1
    assert 450 < read <= 500  # the XML reader hands on a chunk's units after parsing it: not those of the bad chunk


# --- the preset -------------------------------------------------------------------------------


def layered(*presets: str) -> dict:
    """config.yaml with configs/<preset>.yaml files layered on top, as Snakemake merges --configfile files."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for preset in presets:
        update_config(config, yaml.safe_load((ROOT / "configs" / f"{preset}.yaml").read_text()))
    validate(copy.deepcopy(config), schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    check_config(config)
    return config


@pytest.mark.parametrize(
    "presets,pair,directions",
    [(["wmt20_en_de"], "en-de", ["en-de", "de-en"]), (["wmt20_en_de", "wmt20_pl_en"], "pl-en", ["pl-en", "en-pl"])],
)
def test_the_wmt20_presets_are_valid_and_read_the_default_sources(presets, pair, directions):
    config = layered(*presets)
    assert config["corpora"][config["corpus"]]["files"] == DEFAULT_SOURCES[pair]
    assert config["corpora"][config["corpus"]]["languages"] == pair.split("-")
    assert config["directions"] == directions
    assert not any(config["variants"].values())  # the paper's core study: variants off
    assert config["tokenizer"]["vocab_size"] == 32000 and config["tokenizer"]["model_type"] == "unigram"
    assert config["models"]["teacher"]["d_model"] == 2 * config["models"]["student"]["d_model"] == 1024


def test_the_documented_projection_is_what_the_bench_script_prints_for_the_preset():
    """The paper-scale GPU-hour table (docs/cluster.md) follows the preset and the measured speeds in bench/results."""
    import subprocess
    import sys

    printed = subprocess.run([sys.executable, str(ROOT / "bench" / "wmt20_projection.py")], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert "| **total per direction** |" in printed and printed in (ROOT / "docs" / "cluster.md").read_text()
