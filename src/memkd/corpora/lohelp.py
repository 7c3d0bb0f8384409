"""English-X segments from Debian's LibreOffice offline help (MPL-2.0), aligned by paragraph id.

Every language's help pages are generated from the same sources and keep each paragraph's and
heading's id (<p id="par_id3146957">, <h2 id="hd_id3143284">), so segments align exactly by
(page path, element id). Each unique (English, X) pair is kept once, in page order; pairs that occur
on several pages are flagged `dup_pair`, untranslated ones `identical`.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from memkd.errors import InputError

SEGMENT_ID = re.compile(r"^(?:par|hd|tit|bm)_id\w*$")
VOID_TAGS = {"br", "img", "input", "meta", "link", "hr", "col", "area", "source", "wbr"}


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\u200b\u200e\u200f\ufeff]", "", text)
    return re.sub(r"\s+", " ", text).strip()


class _SegmentParser(HTMLParser):
    """Collects the text of elements whose id is a help paragraph or heading id (nested text included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None, list[str]]] = []
        self.segments: dict[str, str] = {}
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag in VOID_TAGS:
            if tag == "br":
                self.handle_data(" ")
            return
        element_id = dict(attrs).get("id") or ""
        self.stack.append((tag, element_id if SEGMENT_ID.match(element_id) else None, []))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        if not any(open_tag == tag for open_tag, _, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            open_tag, element_id, parts = self.stack.pop()
            text = "".join(parts)
            if element_id and clean(text) and element_id not in self.segments:
                self.segments[element_id] = clean(text)
            if self.stack:
                self.stack[-1][2].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self.skip and self.stack:
            self.stack[-1][2].append(data)


def page_segments(html: str) -> dict[str, str]:
    """{element id: text} of one help page, in page order."""
    parser = _SegmentParser()
    parser.feed(html)
    parser.close()
    return parser.segments


def help_tree(package_root: str | Path, language_dir: str | None, package: str) -> Path:
    """The folder of help pages inside an unpacked libreoffice-help-* package."""
    base = Path(package_root) / "usr" / "share" / "libreoffice" / "help"
    if language_dir:
        candidates = [base / language_dir]
    else:
        candidates = [d for d in base.glob("*") if d.is_dir() and d.name != "media"] if base.is_dir() else []
    candidates = [d for d in candidates if d.is_dir() and any(d.rglob("*.html"))]
    if len(candidates) != 1:
        raise InputError(f"no help pages under {base} (is the Debian package {package} unpacked at {package_root}?)")
    return candidates[0]


def read_lohelp(en_root: str | Path, other_root: str | Path, other_lang: str) -> pd.DataFrame:
    """(id, en, <other_lang>, flags) unique segment pairs; id = page#element-id of the first occurrence."""
    english = help_tree(en_root, "en-US", "libreoffice-help-en-us")
    other = help_tree(other_root, None, f"libreoffice-help-{other_lang}")
    first: dict[tuple[str, str], str] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for page in sorted(english.rglob("*.html")):
        relative = page.relative_to(english)
        translated = other / relative
        if not translated.exists():
            continue
        source = page_segments(page.read_text(encoding="utf-8"))
        target = page_segments(translated.read_text(encoding="utf-8"))
        for element_id, text in source.items():
            if element_id in target:
                pair = (text, target[element_id])
                first.setdefault(pair, f"{relative.as_posix()}#{element_id}")
                occurrences[pair] = occurrences.get(pair, 0) + 1
    rows = []
    for (en, tgt), identifier in first.items():
        flags = [name for name, on in (("dup_pair", occurrences[(en, tgt)] > 1), ("identical", en == tgt)) if on]
        rows.append((identifier, en, tgt, ",".join(flags) or "-"))
    return pd.DataFrame(rows, columns=["id", "en", other_lang, "flags"])
