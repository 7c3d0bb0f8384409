"""English-X segments from Debian's LibreOffice offline help (MPL-2.0), aligned by paragraph id.

Every language's help pages are generated from the same .xhp sources and keep each paragraph's
and heading's source id (<p id="par_id3146957">, <h2 id="hd_id3143284">), so segments align
exactly by (page path, element id). The translations are human (LibreOffice's translation teams).

Input: the roots of the unpacked packages libreoffice-help-en-us and libreoffice-help-<lang>
(`dpkg-deb -x`), whose pages lie under usr/share/libreoffice/help/<language dir>/.

Every aligned segment is kept, repeats included: how often a pair recurs is what a memorization
study measures, so repeats are only flagged (`dup_pair` from the second occurrence on), as are
untranslated segments (`identical`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pandas as pd

from memkd.errors import InputError
from memkd.io import read_lines
from memkd.preprocess import normalise_text

HELP_DIR = Path("usr/share/libreoffice/help")
ENGLISH_PACKAGE = "libreoffice-help-en-us"
ENGLISH_LANGUAGE_DIR = "en-US"
# Paragraphs, headings, titles and bookmarks carry ids like par_id3146957 / hd_id3143284.
SEGMENT_ID = re.compile(r"^(?:par|hd|tit|bm)_id\w*$")
# Elements that never have an end tag, so they must not be pushed on the open-element stack.
VOID_TAGS = frozenset({"br", "img", "input", "meta", "link", "hr", "col", "area", "source", "wbr"})
NON_TEXT_TAGS = frozenset({"script", "style"})
# Zero-width space and direction marks: invisible, and they differ between languages' builds.


def help_package(language: str) -> str:
    """The Debian package holding the help pages of `language` (a code such as de or pt-br)."""
    return f"libreoffice-help-{language.lower()}"


class _SegmentParser(HTMLParser):
    """Collects the text of elements whose id is a help segment id, nested markup's text included.

    Keeps a stack of open elements with the text gathered inside each; closing an element hands
    its text to its parent, so a segment's text includes its children's. The first non-empty
    occurrence of an id on a page wins.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_elements: list[tuple[str, str | None, list[str]]] = []
        self.segments: dict[str, str] = {}
        self.non_text_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in NON_TEXT_TAGS:
            self.non_text_depth += 1
        if tag in VOID_TAGS:
            if tag == "br":
                self.handle_data(" ")  # a line break separates words
            return
        element_id = dict(attrs).get("id") or ""
        self.open_elements.append((tag, element_id if SEGMENT_ID.match(element_id) else None, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in NON_TEXT_TAGS:
            self.non_text_depth = max(0, self.non_text_depth - 1)
        if not any(open_tag == tag for open_tag, _, _ in self.open_elements):
            return  # a stray end tag
        # Close everything up to the matching element (browsers do the same with unclosed tags).
        while self.open_elements:
            open_tag, element_id, parts = self.open_elements.pop()
            text = "".join(parts)
            if element_id and element_id not in self.segments:
                cleaned = normalise_text(text)
                if cleaned:
                    self.segments[element_id] = cleaned
            if self.open_elements:
                self.open_elements[-1][2].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.non_text_depth and self.open_elements:
            self.open_elements[-1][2].append(data)


def page_segments(html: str) -> dict[str, str]:
    """{element id: cleaned text} of one help page, in page order; empty segments left out."""
    parser = _SegmentParser()
    parser.feed(html)
    parser.close()
    return parser.segments


def read_page(path: Path) -> dict[str, str]:
    """Segments of one page file; a bad UTF-8 byte raises InputError naming the file and line."""
    return page_segments("\n".join(read_lines(path)))


def find_help_dir(package_root: str | Path, package: str, language_dir: str | None = None) -> Path:
    """The folder of help pages inside an unpacked help package.

    `language_dir` (e.g. en-US) picks the folder; without it the package must hold exactly one
    language folder besides media/ (a language package ships only its own language).
    """
    base = Path(package_root) / HELP_DIR
    if language_dir:
        candidates = [base / language_dir]
    else:
        candidates = sorted(d for d in base.glob("*") if d.is_dir() and d.name != "media")
    with_pages = [d for d in candidates if d.is_dir() and next(d.rglob("*.html"), None) is not None]
    if not with_pages:
        raise InputError(
            f"no LibreOffice help pages under {base}: is the Debian package {package} unpacked at {package_root}?"
        )
    if len(with_pages) > 1:
        raise InputError(
            f"{base} holds help pages of several languages ({', '.join(d.name for d in with_pages)}); "
            f"expected only those of the Debian package {package}"
        )
    return with_pages[0]


def help_pages(help_dir: Path) -> list[str]:
    """Page paths relative to `help_dir` (posix, sorted so the output order is reproducible)."""
    return sorted(p.relative_to(help_dir).as_posix() for p in help_dir.rglob("*.html"))


def aligned_segments(english_dir: Path, other_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(page#element-id, English, other) for each segment present on both sides of a page.

    Pages or segments missing from the translation are skipped (partial translations exist).
    """
    for page in help_pages(english_dir):
        translated_page = other_dir / page
        if not translated_page.is_file():
            continue
        english = read_page(english_dir / page)
        other = read_page(translated_page)
        for element_id, english_text in english.items():
            other_text = other.get(element_id)
            if other_text:
                yield f"{page}#{element_id}", english_text, other_text


def pair_flags(pairs: list[tuple[str, str]]) -> list[str]:
    """Per pair: "dup_pair" when the same pair came earlier, "identical" when both sides match."""
    seen: set[tuple[str, str]] = set()
    flags = []
    for pair in pairs:
        names = []
        if pair in seen:
            names.append("dup_pair")
        if pair[0] == pair[1]:
            names.append("identical")  # untranslated text, numbers, function names
        seen.add(pair)
        flags.append(",".join(names) or "-")
    return flags


def read_lohelp(en_root: str | Path, other_root: str | Path, other_lang: str) -> pd.DataFrame:
    """Every aligned segment as rows (id, en, <other_lang>, flags); id = page#element-id.

    `en_root` and `other_root` are the unpacked libreoffice-help-en-us and
    libreoffice-help-<other_lang> packages. The files are only read.
    """
    english_dir = find_help_dir(en_root, ENGLISH_PACKAGE, ENGLISH_LANGUAGE_DIR)
    other_dir = find_help_dir(other_root, help_package(other_lang))
    rows = list(aligned_segments(english_dir, other_dir))
    ids = [identifier for identifier, _, _ in rows]
    pairs = [(english, other) for _, english, other in rows]
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=str),
            "en": pd.Series([e for e, _ in pairs], dtype=str),
            other_lang: pd.Series([o for _, o in pairs], dtype=str),
            "flags": pd.Series(pair_flags(pairs), dtype=str),
        }
    )
