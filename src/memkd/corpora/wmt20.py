"""The WMT20 corpora of Dankers & Raunak (ACL 2025): download from their public addresses and read.

Nothing downloads at import or in tests: tests serve files they make through file:// addresses.
Formats: `tsv` (one gzipped or plain two-column file, languages in the order of the file name's
xx-yy, as WMT ships them), `plain` (line-aligned source and target files, gzipped or not) and
`sgm` (a WMT test set: source and reference SGML files, <seg id="N">text</seg>).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
import shutil
import urllib.request
from pathlib import Path

import pandas as pd

from memkd.corpora.usertsv import clean
from memkd.errors import InputError
from memkd.io import atomic_path

# Public addresses of the WMT20 news-task training data used for the paper's directions (check the
# WMT20 news-task page for the full list; ParaCrawl and CommonCrawl are large and left out here).
# Test sets come from the WMT20 release (sacrebleu -t wmt20 knows the same files).
DEFAULT_SOURCES = {
    "en-de": [
        {"url": "https://data.statmt.org/news-commentary/v15/training/news-commentary-v15.de-en.tsv.gz", "format": "tsv"},
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.de-en.tsv.gz", "format": "tsv"},
    ],
    "pl-en": [
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.pl-en.tsv.gz", "format": "tsv"},
        {"url": "https://data.statmt.org/wikititles/v2/wikititles-v2.pl-en.tsv.gz", "format": "tsv"},
    ],
    "fr-de": [
        {"url": "https://data.statmt.org/news-commentary/v15/training/news-commentary-v15.de-fr.tsv.gz", "format": "tsv"},
        {"url": "https://www.statmt.org/europarl/v10/training/europarl-v10.de-fr.tsv.gz", "format": "tsv"},
    ],
}


def download(url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0) -> None:
    """Fetch `url` (http, https or file) to `dest` atomically, checking sha256 when given."""
    with atomic_path(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out, length=1 << 20)
        except OSError as err:  # URLError is an OSError
            raise InputError(f"download of {url} failed: {err}") from None
        if sha256:
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            if digest != sha256:
                raise InputError(f"download of {url}: sha256 {digest} does not match the configured {sha256}")


def _lines(path: str | Path) -> list[str]:
    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                out.append(raw.decode("utf-8").rstrip("\r\n"))
            except UnicodeDecodeError as err:
                raise InputError(f"{path}, line {number}: not valid UTF-8 ({err.reason})") from None
    return out


def file_languages(path: str | Path) -> tuple[str, str] | None:
    """('de', 'en') from names like news-commentary-v15.de-en.tsv.gz."""
    match = re.search(r"\.([a-z]{2,3})-([a-z]{2,3})\.tsv", Path(path).name)
    return (match.group(1), match.group(2)) if match else None


def read_parallel_tsv(path: str | Path, languages: tuple[str, str]) -> pd.DataFrame:
    """Rows (id, lang1, lang2) of a two-column WMT TSV; the column order comes from the file name."""
    order = file_languages(path) or languages
    if set(order) != set(languages):
        raise InputError(f"{path}: file name says languages {order}, the corpus has {languages}")
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(f"{path}, line {number}: expected 2 tab-separated fields, found {len(fields)}")
        texts = dict(zip(order, (clean(fields[0]), clean(fields[1]))))
        rows.append((f"{Path(path).name}:{number}", texts[languages[0]], texts[languages[1]]))
    return pd.DataFrame(rows, columns=["id", *languages])


def read_parallel_plain(source: str | Path, target: str | Path, languages: tuple[str, str]) -> pd.DataFrame:
    """Line-aligned files: line n of `source` (languages[0]) translates line n of `target`."""
    left, right = _lines(source), _lines(target)
    if len(left) != len(right):
        raise InputError(f"{source} has {len(left)} lines but {target} has {len(right)}: not line-aligned")
    ids = [f"{Path(source).name}:{n}" for n in range(1, len(left) + 1)]
    return pd.DataFrame({"id": ids, languages[0]: map(clean, left), languages[1]: map(clean, right)})


def read_sgm(path: str | Path) -> list[tuple[str, str]]:
    """(doc id/seg id, text) of every <seg> in a WMT SGML file."""
    segments, document = [], ""
    for number, line in enumerate(_lines(path), start=1):
        doc = re.search(r'<doc[^>]*\bdocid="([^"]*)"', line)
        if doc:
            document = doc.group(1)
        seg = re.search(r'<seg[^>]*\bid="?([^"> ]+)"?[^>]*>(.*)</seg>', line)
        if "<seg" in line and not seg:
            raise InputError(f"{path}, line {number}: malformed <seg> element")
        if seg:
            segments.append((f"{document}/{seg.group(1)}", clean(html.unescape(seg.group(2)))))
    if not segments:
        raise InputError(f"{path}: no <seg> elements")
    return segments


def read_sgm_pair(source: str | Path, reference: str | Path, languages: tuple[str, str]) -> pd.DataFrame:
    left, right = read_sgm(source), read_sgm(reference)
    if [i for i, _ in left] != [i for i, _ in right]:
        raise InputError(f"{source} and {reference} do not have the same segments")
    ids = [f"{Path(source).name}:{i}" for i, _ in left]
    return pd.DataFrame({"id": ids, languages[0]: [t for _, t in left], languages[1]: [t for _, t in right]})


def read_wmt20(files: list[dict], languages: tuple[str, str]) -> pd.DataFrame:
    """Concatenate the configured files (each with a local `path`, and `target_path` for plain/sgm).

    A file with a `split` (e.g. an official test set) keeps that split in the `split` column.
    """
    frames = []
    for item in files:
        if item["format"] == "tsv":
            frame = read_parallel_tsv(item["path"], languages)
        elif item["format"] == "plain":
            frame = read_parallel_plain(item["path"], item["target_path"], languages)
        else:
            frame = read_sgm_pair(item["path"], item["target_path"], languages)
        frames.append(frame.assign(flags="-", split=item.get("split", "")))
    return pd.concat(frames, ignore_index=True)
