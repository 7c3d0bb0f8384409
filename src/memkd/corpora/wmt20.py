"""The WMT20 corpora of Dankers & Raunak (ACL 2025): download from their public addresses, and read.

Nothing downloads at import: `download` runs only when called (the workflow's download rule), and
tests serve the files they make through file:// addresses. Readers understand five layouts:

- `tsv`: one tab-separated file, gzipped or not, columns in the order of the file name's xx-yy
  (news-commentary-v15.de-en.tsv.gz holds German, then English), as WMT ships them, or as the
  item's `columns` name them; columns named other than the two languages are read past (the
  margin score that leads each WikiMatrix line: `columns: [score, de, en]`);
- `plain`: Moses-style line-aligned source and target files, gzipped or not (Common Crawl's
  training-parallel-commoncrawl.tgz holds such pairs for several languages);
- `sgm`: a WMT test set, source and reference SGML files with <seg id="N">text</seg> lines;
- `tmx`: a TMX translation memory, one <tu> per pair with a <tuv xml:lang=".."><seg> per language;
- `xliff`: an XLIFF 1.2 file, one <trans-unit> per pair with <source> and <target> (WMT20's
  RAPID_2019.de-en.xlf.gz); languages from xml:lang or the <file>'s source-/target-language.

Any file may also be a member of a tar or zip archive (WMT ships its dev and test sets as dev.tgz
and test.tgz, Common Crawl as a tgz, Tilde's Rapid as zips): the item then names `member` (and
`target_member` for the second file). Every reader streams: a file is read line by line (XML in
chunks of CHUNK_BYTES), never whole into memory.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import http.client
import re
import tarfile
import urllib.request
import zipfile
import zlib
from itertools import zip_longest
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, NamedTuple
from xml.parsers import expat

import pandas as pd

from memkd.preprocess import normalise_text
from memkd.errors import InputError
from memkd.io import CHUNK_ROWS, atomic_path

# Public WMT20 addresses for the paper's directions, as we understand them: users should check them
# against https://www.statmt.org/wmt20/translation-task.html (and the paper) before a real run.
# en-de is WMT20's whole en-de training list (Europarl v10, ParaCrawl v5.1, Common Crawl, News
# Commentary v15, Wiki Titles v2, Tilde Rapid 2019, WikiMatrix), the addresses and column orders as
# fairseq's examples/multilingual/data_scripts/download_wmt20.sh has them; pl-en likewise (its Rapid
# is Tilde's TMX); fr-de has News Commentary and Europarl only (its WMT20 list is not checked here).
# The official test sets are members of WMT's test.tgz (md5 3b1f777cfd2fb15ccf66e9bfdb2b1699 per
# sacrebleu); newsdev2020 (pl-en only) is in dev.tgz (md5 037f2b37aab74febbb1b2307dc2afb54). No
# sha256 is given because we have not verified one; add it once a download is checked.
WMT20_TEST = "https://data.statmt.org/wmt20/translation-task/test.tgz"
WMT20_DEV = "https://data.statmt.org/wmt20/translation-task/dev.tgz"
PARACRAWL = "https://s3.amazonaws.com/web-language-models/paracrawl/release5.1"
WIKIMATRIX = "https://data.statmt.org/wmt20/translation-task/WikiMatrix"
COMMONCRAWL = "https://www.statmt.org/wmt13/training-parallel-commoncrawl.tgz"


def _archived_pair(url: str, source: str, reference: str, split: str) -> dict:
    """A dev/test set whose source and reference SGML files are members of one archive."""
    return {
        "url": url,
        "target_url": url,
        "format": "sgm",
        "member": source,
        "target_member": reference,
        "split": split,
    }


DEFAULT_SOURCES: dict[str, list[dict]] = {
    "en-de": [
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.de-en.tsv.gz", "format": "tsv"},
        {"url": f"{PARACRAWL}/en-de.txt.gz", "format": "tsv", "columns": ["en", "de"]},
        {
            "url": COMMONCRAWL,
            "target_url": COMMONCRAWL,
            "format": "plain",
            "member": "commoncrawl.de-en.en",
            "target_member": "commoncrawl.de-en.de",
        },
        {
            "url": "https://data.statmt.org/news-commentary/v15/training/news-commentary-v15.de-en.tsv.gz",
            "format": "tsv",
        },
        {"url": "https://data.statmt.org/wikititles/v2/wikititles-v2.de-en.tsv.gz", "format": "tsv"},
        {"url": "https://data.statmt.org/wmt20/translation-task/rapid/RAPID_2019.de-en.xlf.gz", "format": "xliff"},
        {"url": f"{WIKIMATRIX}/WikiMatrix.v1.de-en.langid.tsv.gz", "format": "tsv", "columns": ["score", "de", "en"]},
        _archived_pair(WMT20_TEST, "sgm/newstest2020-ende-src.en.sgm", "sgm/newstest2020-ende-ref.de.sgm", "test"),
    ],
    "pl-en": [
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.pl-en.tsv.gz", "format": "tsv"},
        {"url": f"{PARACRAWL}/en-pl.txt.gz", "format": "tsv", "columns": ["en", "pl"]},
        {"url": "https://data.statmt.org/wikititles/v2/wikititles-v2.pl-en.tsv.gz", "format": "tsv"},
        {
            "url": "https://tilde-model.s3-eu-west-1.amazonaws.com/rapid2019.en-pl.tmx.zip",
            "format": "tmx",
            "member": "RAPID_2019.UNIQUE.en-pl.tmx",
        },
        {"url": f"{WIKIMATRIX}/WikiMatrix.v1.en-pl.langid.tsv.gz", "format": "tsv", "columns": ["score", "en", "pl"]},
        _archived_pair(WMT20_DEV, "dev/newsdev2020-plen-src.pl.sgm", "dev/newsdev2020-plen-ref.en.sgm", "dev"),
        _archived_pair(WMT20_TEST, "sgm/newstest2020-plen-src.pl.sgm", "sgm/newstest2020-plen-ref.en.sgm", "test"),
    ],
    "fr-de": [
        {
            "url": "https://data.statmt.org/news-commentary/v15/training/news-commentary-v15.de-fr.tsv.gz",
            "format": "tsv",
        },
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.de-fr.tsv.gz", "format": "tsv"},
        _archived_pair(WMT20_TEST, "sgm/newstest2020-frde-src.fr.sgm", "sgm/newstest2020-frde-ref.de.sgm", "test"),
    ],
}

FORMATS = ("tsv", "plain", "sgm", "tmx", "xliff")
# formats whose pairs come from two files (target_url, target_member)
TWO_FILE_FORMATS = ("plain", "sgm")
CHUNK_BYTES = 1 << 20
# WMT names two-column files like europarl-v10.de-en.tsv.gz: the pair gives the column order.
FILE_NAME_LANGUAGES = re.compile(r"\.([a-z]{2,3})-([a-z]{2,3})\.tsv(?:\.gz)?$")
SGM_DOC = re.compile(r'<doc\b[^>]*\bdocid\s*=\s*"([^"]*)"', re.IGNORECASE)
SGM_SEG = re.compile(r'<seg\b[^>]*?\bid\s*=\s*"?([^"\s>]+)"?[^>]*>(.*?)</seg>', re.IGNORECASE)
SGM_SEG_START = re.compile(r"<seg\b", re.IGNORECASE)


# --- download ---------------------------------------------------------------------------------


def download(url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch `url` (http, https or file) to `dest`, atomically; check its sha256 when given.

    `dest` appears only once the whole file arrived (and matched the checksum), so an interrupted
    or corrupt download never looks finished. Failures raise InputError naming the URL.
    """
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                expected_bytes = response.headers.get("Content-Length")
                received = 0
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
        except (OSError, ValueError, http.client.HTTPException) as err:  # URLError is an OSError
            raise InputError(f"download of {url} failed: {err}") from None
        if expected_bytes and expected_bytes.isdigit() and int(expected_bytes) != received:
            raise InputError(f"download of {url} is truncated: got {received} of {expected_bytes} bytes")
        if sha256 and digest.hexdigest() != sha256.strip().lower():
            raise InputError(f"download of {url}: sha256 {digest.hexdigest()} does not match the expected {sha256}")
    return dest


# --- reading files ----------------------------------------------------------------------------


def describe(path: str | Path, member: str | None = None) -> str:
    """How messages name a file: its path, plus the archive member when there is one."""
    return f"{path}:{member}" if member else str(path)


def file_name(path: str | Path, member: str | None = None) -> str:
    """The file's own name (a member's base name inside an archive); ids start with it."""
    return Path(member).name if member else Path(path).name


def _archive_member(archive: tarfile.TarFile, path: str | Path, member: str) -> tarfile.TarInfo:
    """The member's entry, found by reading headers up to it (a tgz is not decompressed to its end)."""
    wanted = member.removeprefix("./")
    for info in archive:
        if info.isfile() and info.name.removeprefix("./") == wanted:
            return info
    raise InputError(f"{path}: the archive has no file {member!r}")


def _zip_member(archive: zipfile.ZipFile, path: str | Path, member: str) -> zipfile.ZipInfo:
    wanted = member.removeprefix("./")
    for info in archive.infolist():
        if not info.is_dir() and info.filename.removeprefix("./") == wanted:
            return info
    raise InputError(f"{path}: the archive has no file {member!r}")


@contextlib.contextmanager
def open_binary(path: str | Path, member: str | None = None) -> Iterator[BinaryIO]:
    """A binary stream of a plain or gzipped file, or of a member of a (compressed) tar or a zip archive."""
    with contextlib.ExitStack() as stack:
        if member and zipfile.is_zipfile(path):
            archive = stack.enter_context(zipfile.ZipFile(path))
            handle = stack.enter_context(archive.open(_zip_member(archive, path, member)))
        elif member:
            archive = stack.enter_context(tarfile.open(path))  # compression detected by tarfile
            handle = archive.extractfile(_archive_member(archive, path, member))
        else:
            handle = stack.enter_context(open(path, "rb"))
        if file_name(path, member).endswith(".gz"):
            handle = stack.enter_context(gzip.GzipFile(fileobj=handle, mode="rb"))
        yield handle


# What reading a damaged or missing file raises (gzip.BadGzipFile is an OSError)
READ_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile)


def numbered_lines(path: str | Path, member: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text without newline); bad UTF-8 or a corrupt archive raises InputError."""
    name = describe(path, member)
    number = 0
    try:
        with open_binary(path, member) as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as err:
                    raise InputError(
                        f"{name}, line {number}: not valid UTF-8 ({err.reason} at byte {err.start})"
                    ) from None
    except FileNotFoundError:
        raise InputError(f"{name}: file not found") from None
    except READ_ERRORS as err:
        raise InputError(f"{name}, after line {number}: cannot read the file ({err})") from None


def column_languages_from_name(name: str) -> tuple[str, str] | None:
    """('de', 'en') for news-commentary-v15.de-en.tsv.gz; None when the name does not say."""
    match = FILE_NAME_LANGUAGES.search(name)
    return (match.group(1), match.group(2)) if match else None


def _frame(ids: list[str], languages: tuple[str, str], left: list[str], right: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, languages[0]: left, languages[1]: right, "flags": ["-"] * len(ids)}, dtype=str)


def _frame_from_rows(rows: Iterable[tuple[str, str, str]], languages: tuple[str, str]) -> pd.DataFrame:
    """The table of a reader's (id, lang1 text, lang2 text) rows, gathered column by column."""
    ids, left, right = [], [], []
    for row_id, first, second in rows:
        ids.append(row_id)
        left.append(first)
        right.append(second)
    return _frame(ids, languages, left, right)


def tsv_layout(
    name: str, languages: tuple[str, str], column_languages: tuple[str, ...] | list[str] | None = None
) -> tuple[int, int, int]:
    """(column of languages[0], column of languages[1], number of columns) of a TSV called `name`.

    The columns are `column_languages` when given (other names than the two languages are columns
    read past, e.g. WikiMatrix's leading score), else the file name's xx-yy.
    """
    order = tuple(column_languages) if column_languages else column_languages_from_name(name)
    if order is None:
        raise InputError(
            f"{name}: cannot tell the column languages from the file name; expected a name like "
            f"corpus.{languages[0]}-{languages[1]}.tsv.gz, or give the item's columns (e.g. [{languages[0]}, {languages[1]}])"
        )
    if len(order) < 2 or any(order.count(language) != 1 for language in languages) or languages[0] == languages[1]:
        raise InputError(f"{name}: columns are {'-'.join(order)}, the corpus is {languages[0]}-{languages[1]}")
    return order.index(languages[0]), order.index(languages[1]), len(order)


def iter_parallel_tsv(
    path: str | Path,
    languages: tuple[str, str],
    column_languages: tuple[str, ...] | list[str] | None = None,
    member: str | None = None,
) -> Iterator[tuple[str, str, str]]:
    """(id, lang1 text, lang2 text) per line of a WMT TSV, id = <file name>:<line>, streamed.

    Lines empty on both sides (document breaks) are skipped; a line with another number of fields
    than the layout's columns is an error naming file and line.
    """
    name = file_name(path, member)
    where = describe(path, member)
    try:
        first_column, second_column, n_columns = tsv_layout(name, languages, column_languages)
    except InputError as err:
        raise InputError(str(err).replace(name, where, 1)) from None
    for number, line in numbered_lines(path, member):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != n_columns:
            raise InputError(
                f"{where}, line {number}: expected {n_columns} tab-separated fields, found {len(fields)}"
            )
        first, second = normalise_text(fields[first_column]), normalise_text(fields[second_column])
        if first or second:
            yield f"{name}:{number}", first, second


def read_parallel_tsv(
    path: str | Path,
    languages: tuple[str, str],
    column_languages: tuple[str, ...] | list[str] | None = None,
    member: str | None = None,
) -> pd.DataFrame:
    """Rows (id, lang1, lang2, flags) of a WMT TSV (iter_parallel_tsv), id = <file name>:<line>."""
    return _frame_from_rows(iter_parallel_tsv(path, languages, column_languages, member), languages)


def _count_rest(lines: Iterator[tuple[int, str]], counted: int) -> int:
    """The last line number of a partly consumed numbered_lines iterator."""
    for counted, _ in lines:
        pass
    return counted


def iter_parallel_plain(
    src_path: str | Path,
    tgt_path: str | Path,
    languages: tuple[str, str],
    src_member: str | None = None,
    tgt_member: str | None = None,
) -> Iterator[tuple[str, str, str]]:
    """(id, lang1 text, lang2 text) of line-aligned files, streamed: line n of `src_path` (languages[0]) translates
    line n of `tgt_path`.

    id = <source file name>:<line>. Lines blank on both sides are skipped. Files with different
    line counts raise InputError naming both files and their counts.
    """
    name = file_name(src_path, src_member)
    source_lines = numbered_lines(src_path, src_member)
    target_lines = numbered_lines(tgt_path, tgt_member)
    last_number = 0
    for source, target in zip_longest(source_lines, target_lines):
        if source is None or target is None:
            # One file ended early: count the rest of the other so the message gives both sizes.
            if source is None:
                n_source, n_target = last_number, _count_rest(target_lines, target[0])
            else:
                n_source, n_target = _count_rest(source_lines, source[0]), last_number
            raise InputError(
                f"{describe(src_path, src_member)} has {n_source} lines but {describe(tgt_path, tgt_member)} "
                f"has {n_target}: the files are not line-aligned"
            )
        number = last_number = source[0]
        first, second = normalise_text(source[1]), normalise_text(target[1])
        if first or second:
            yield f"{name}:{number}", first, second


def read_parallel_plain(
    src_path: str | Path,
    tgt_path: str | Path,
    languages: tuple[str, str],
    src_member: str | None = None,
    tgt_member: str | None = None,
) -> pd.DataFrame:
    """Rows (id, lang1, lang2, flags) of line-aligned files (iter_parallel_plain)."""
    return _frame_from_rows(iter_parallel_plain(src_path, tgt_path, languages, src_member, tgt_member), languages)


class SgmSegment(NamedTuple):
    line: int
    doc_id: str
    seg_id: str
    text: str


def read_sgm(path: str | Path, member: str | None = None) -> list[SgmSegment]:
    """Every <seg> of a WMT SGML file (one per line, as WMT writes them), text html-unescaped.

    WMT's SGML is not well-formed XML (bare & in some years), hence a line-wise regex rather than
    an XML parser. A line opening a <seg> it does not close, or a file without segments, raises
    InputError naming file and line.
    """
    segments: list[SgmSegment] = []
    doc_id = ""
    for number, line in numbered_lines(path, member):
        doc = SGM_DOC.search(line)
        if doc:
            doc_id = doc.group(1)
        starts = len(SGM_SEG_START.findall(line))
        found = SGM_SEG.findall(line)
        if starts != len(found):
            raise InputError(
                f'{describe(path, member)}, line {number}: malformed <seg> element (expected <seg id="N">text</seg> on one line)'
            )
        for seg_id, text in found:
            segments.append(SgmSegment(number, doc_id, seg_id, normalise_text(html.unescape(text))))
    if not segments:
        raise InputError(f"{describe(path, member)}: no <seg> elements")
    return segments


def read_sgm_pair(
    src_path: str | Path,
    ref_path: str | Path,
    languages: tuple[str, str],
    src_member: str | None = None,
    ref_member: str | None = None,
) -> pd.DataFrame:
    """A test set's source (languages[0]) and reference (languages[1]) paired segment by segment.

    id = <source file name>:<line>. Both files must list the same (document, segment) ids in the
    same order; the first difference raises InputError naming both files and lines.
    """
    source, reference = read_sgm(src_path, src_member), read_sgm(ref_path, ref_member)
    src_name, ref_name = describe(src_path, src_member), describe(ref_path, ref_member)
    for left, right in zip(source, reference):
        if (left.doc_id, left.seg_id) != (right.doc_id, right.seg_id):
            raise InputError(
                f"{src_name}, line {left.line} (doc {left.doc_id!r}, seg {left.seg_id}) does not match "
                f"{ref_name}, line {right.line} (doc {right.doc_id!r}, seg {right.seg_id})"
            )
    if len(source) != len(reference):
        raise InputError(f"{src_name} has {len(source)} segments but {ref_name} has {len(reference)}")
    name = file_name(src_path, src_member)
    return _frame(
        [f"{name}:{s.line}" for s in source], languages, [s.text for s in source], [r.text for r in reference]
    )


# --- translation memories: TMX and XLIFF -------------------------------------------------------

# Inline codes inside a segment (formatting tags of the original document): their text is markup,
# not the sentence. Alternatives and notes inside a unit are not the unit's pair either.
XML_INLINE_CODES = frozenset({"bpt", "ept", "ph", "it", "ut"})
XML_SKIPPED = {"tmx": frozenset({"note", "prop"}), "xliff": frozenset({"alt-trans", "seg-source", "note"})}
XML_UNIT = {"tmx": "tu", "xliff": "trans-unit"}


def language_code(tag: str | None) -> str:
    """'en' for en, EN-GB, en_US: the primary subtag, lower-cased."""
    return re.split(r"[-_]", (tag or "").strip(), maxsplit=1)[0].lower()


class _UnitReader:
    """expat handlers that collect the translation units of a TMX or XLIFF file as they are parsed.

    `units` holds the (line, {language: text}) pairs completed since the caller last emptied it.
    """

    def __init__(self, file_format: str, where: str, parser: expat.XMLParserType):
        self.format, self.where, self.parser = file_format, where, parser
        self.units: list[tuple[int, dict[str, str]]] = []
        self.unit_line: int | None = None  # line of the open unit's start tag
        self.sides: dict[str, str] = {}
        self.language: str | None = None  # language of the variant (tuv) or side being read
        self.text: list[str] | None = None  # pieces of the segment being read, else None
        self.skip = 0  # depth inside an element whose text is not the segment's
        self.file_languages: dict[str, str | None] = {}  # XLIFF <file source-language target-language>

    def fail(self, message: str):
        raise InputError(f"{self.where}, line {self.parser.CurrentLineNumber}: {message}")

    def start(self, tag: str, attrs: dict[str, str]):
        if self.skip:
            self.skip += 1
        elif tag == XML_UNIT[self.format]:
            if self.unit_line is not None:
                self.fail(f"<{tag}> inside another <{tag}>")
            self.unit_line, self.sides = self.parser.CurrentLineNumber, {}
        elif self.unit_line is None:
            if tag == "file":
                self.file_languages = {side: attrs.get(f"{side}-language") for side in ("source", "target")}
        elif tag in XML_SKIPPED[self.format] or (self.text is not None and tag in XML_INLINE_CODES):
            self.skip = 1
        elif self.format == "tmx" and tag == "tuv":
            self.language = attrs.get("xml:lang") or attrs.get("lang")
        elif self.text is None and ((self.format == "tmx" and tag == "seg") or
                                    (self.format == "xliff" and tag in ("source", "target"))):
            if self.format == "xliff":
                self.language = attrs.get("xml:lang") or self.file_languages.get(tag)
            if not self.language:
                self.fail(f"<{tag}> without a language (xml:lang)")
            self.text = []

    def end(self, tag: str):
        if self.skip:
            self.skip -= 1
        elif self.text is not None and tag in ("seg", "source", "target"):
            language = language_code(self.language)
            if language in self.sides:
                self.fail(f"a second {language} segment in the unit of line {self.unit_line}")
            self.sides[language] = "".join(self.text)
            self.text = None
        elif tag == XML_UNIT[self.format] and self.unit_line is not None:
            self.units.append((self.unit_line, self.sides))
            self.unit_line = None

    def characters(self, data: str):
        if self.text is not None and not self.skip:
            self.text.append(data)


def iter_translation_memory(
    path: str | Path, languages: tuple[str, str], file_format: str, member: str | None = None
) -> Iterator[tuple[str, str, str]]:
    """(id, lang1 text, lang2 text) per unit of a TMX or XLIFF file, id = <file name>:<unit's line>.

    Parsed in chunks by expat (which also decodes UTF-16 files), so memory stays flat. Language tags
    match by their primary subtag (EN-GB is en). A unit with one of the two languages only is kept
    one-sided (the preprocessing filter counts it); a unit with neither, a language given twice, or
    XML that is not well-formed raises InputError naming file and line.
    """
    name, where = file_name(path, member), describe(path, member)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    reader = _UnitReader(file_format, where, parser)
    parser.StartElementHandler, parser.EndElementHandler = reader.start, reader.end
    parser.CharacterDataHandler = reader.characters
    units = 0
    try:
        with open_binary(path, member) as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                parser.Parse(chunk, False)
                yield from _unit_rows(reader, name, where, languages)
                units += len(reader.units)
                reader.units.clear()
            parser.Parse(b"", True)
    except FileNotFoundError:
        raise InputError(f"{where}: file not found") from None
    except expat.ExpatError as err:
        raise InputError(f"{where}, line {err.lineno}: not well-formed XML ({expat.ErrorString(err.code)})") from None
    except READ_ERRORS as err:
        raise InputError(f"{where}, after line {parser.CurrentLineNumber}: cannot read the file ({err})") from None
    yield from _unit_rows(reader, name, where, languages)
    if not units + len(reader.units):
        raise InputError(f"{where}: no <{XML_UNIT[file_format]}> translation units")


def _unit_rows(
    reader: _UnitReader, name: str, where: str, languages: tuple[str, str]
) -> Iterator[tuple[str, str, str]]:
    for line, sides in reader.units:
        if not any(language in sides for language in languages):
            found = ", ".join(sorted(sides)) or "none"
            raise InputError(
                f"{where}, line {line}: the unit has no {languages[0]} or {languages[1]} segment (languages: {found})"
            )
        first, second = normalise_text(sides.get(languages[0], "")), normalise_text(sides.get(languages[1], ""))
        if first or second:
            yield f"{name}:{line}", first, second


def read_translation_memory(
    path: str | Path, languages: tuple[str, str], file_format: str, member: str | None = None
) -> pd.DataFrame:
    """Rows (id, lang1, lang2, flags) of a TMX or XLIFF file (iter_translation_memory)."""
    return _frame_from_rows(iter_translation_memory(path, languages, file_format, member), languages)


# --- whole corpus -----------------------------------------------------------------------------


def iter_file_item(item: dict, languages: tuple[str, str]) -> Iterator[tuple[str, str, str]]:
    """(id, lang1 text, lang2 text) of one configured file (or file pair): keys format, path, and target_path for
    plain and sgm; optionally member / target_member (inside an archive) and columns (a tsv's column names).
    Streamed, but for sgm (a test set's two files of a few thousand segments, compared segment by segment)."""
    file_format = item.get("format")
    where = item.get("url") or item.get("path")
    if file_format not in FORMATS:
        raise InputError(f"{where}: unknown format {file_format!r}; expected one of {FORMATS}")
    if file_format == "tsv":
        columns = tuple(item["columns"]) if item.get("columns") else None
        return iter_parallel_tsv(item["path"], languages, columns, item.get("member"))
    if file_format in ("tmx", "xliff"):
        return iter_translation_memory(item["path"], languages, file_format, item.get("member"))
    if not item.get("target_path"):
        raise InputError(f"{where}: format {file_format} needs a second (target) file")
    if file_format == "plain":
        return iter_parallel_plain(item["path"], item["target_path"], languages, item.get("member"),
                                   item.get("target_member"))
    frame = read_sgm_pair(item["path"], item["target_path"], languages, item.get("member"), item.get("target_member"))
    return zip(frame["id"], frame[languages[0]], frame[languages[1]])


def read_file_item(item: dict, languages: tuple[str, str]) -> pd.DataFrame:
    """Rows (id, lang1, lang2, flags) of one configured file (iter_file_item)."""
    return _frame_from_rows(iter_file_item(item, languages), languages)


def iter_wmt20(files: list[dict], languages: tuple[str, str], chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The configured files' rows, in order, `chunk_rows` at a time: columns id, lang1, lang2, flags. Tens of
    millions of pairs are read without holding them.

    When any file carries a `split` (an official dev or test set), a `split` column is added
    ("" for the other rows) so that preprocessing keeps those rows in that split.
    """
    if not files:
        raise InputError(f"no WMT20 files given for {languages[0]}-{languages[1]}")
    # ids are <file name>:<line>: a name given twice would repeat ids (checked before anything is read)
    names = [file_name(item.get("path", ""), item.get("member")) for item in files]
    for position, name in enumerate(names):
        if name in names[:position]:
            raise InputError(f"WMT20 files: {name!r} is listed twice (items {names.index(name) + 1} and "
                             f"{position + 1}), so its ids ({name}:<line>) would occur twice")
    with_split = any(item.get("split") for item in files)
    ids, left, right, splits = [], [], [], []

    def chunk() -> pd.DataFrame:
        frame = _frame(ids, languages, left, right)
        if with_split:
            frame["split"] = pd.Series(splits, dtype=str)
        return frame

    for item in files:
        split = item.get("split") or ""
        for row_id, first, second in iter_file_item(item, languages):
            ids.append(row_id)
            left.append(first)
            right.append(second)
            splits.append(split)
            if len(ids) == chunk_rows:
                yield chunk()
                ids, left, right, splits = [], [], [], []
    if ids:
        yield chunk()


def read_wmt20(files: list[dict], languages: tuple[str, str]) -> pd.DataFrame:
    """The whole of iter_wmt20 as one frame."""
    chunks = list(iter_wmt20(files, languages))
    if not chunks:
        return _frame([], languages, [], [])
    return pd.concat(chunks, ignore_index=True)
