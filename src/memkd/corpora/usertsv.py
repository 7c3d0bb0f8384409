"""A user's parallel corpus: a UTF-8 tab-separated file without header, columns id, source, target.

Every problem raises InputError naming the file and, where there is one, the line, so a user can fix
the file without reading code. The file itself is only read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pandas as pd

from memkd.errors import InputError
from memkd.io import read_lines
from memkd.preprocess import normalise_text

FIELDS = ("id", "source", "target")
UNDECODABLE_POLICIES = ("error", "skip")
BYTE_ORDER_MARK = "\ufeff"


def numbered_lines(path: Path, on_undecodable: str) -> tuple[list[tuple[int, str]], int]:
    """(line number, text) of every UTF-8 line, and how many undecodable lines were skipped.

    With on_undecodable="error" the first bad line raises InputError naming file and line.
    """
    if on_undecodable == "error":
        return list(enumerate(read_lines(path), start=1)), 0
    lines, skipped = [], 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                lines.append((number, raw.decode("utf-8").rstrip("\r\n")))
            except UnicodeDecodeError:
                skipped += 1
    return lines, skipped


def split_fields(path: Path, number: int, line: str) -> tuple[str, str, str]:
    """The three fields of a line; any other count raises InputError naming file, line and count."""
    fields = line.split("\t")
    if len(fields) != len(FIELDS):
        raise InputError(
            f"{path}, line {number}: expected {len(FIELDS)} tab-separated fields "
            f"({', '.join(FIELDS)}), found {len(fields)}"
        )
    return fields[0], fields[1], fields[2]


def parsed_rows(path: Path, lines: list[tuple[int, str]]) -> Iterator[tuple[int, str, str, str]]:
    """(line number, id, source, target) of the non-blank lines, texts cleaned, ids unique."""
    first_line_of: dict[str, int] = {}
    for number, line in lines:
        if number == 1:
            line = line.removeprefix(BYTE_ORDER_MARK)  # editors on Windows often add one
        if not line.strip():
            continue
        identifier, source, target = split_fields(path, number, line)
        identifier = identifier.strip()
        if not identifier:
            raise InputError(f"{path}, line {number}: the id (first field) is empty")
        if identifier in first_line_of:
            raise InputError(
                f"{path}, line {number}: id {identifier!r} already used on line {first_line_of[identifier]}"
            )
        first_line_of[identifier] = number
        yield number, identifier, normalise_text(source), normalise_text(target)


def read_user_tsv(
    path: str | os.PathLike, languages: tuple[str, str], on_undecodable: str = "error"
) -> tuple[pd.DataFrame, dict]:
    """Rows (id, <languages[0]>, <languages[1]>, flags) in file order, and a small report.

    Blank lines are skipped and counted. A line that is not UTF-8 stops the read
    (on_undecodable="error") or is dropped and counted ("skip"). Report keys: lines (lines in the
    file), blank_skipped, undecodable_skipped, rows.
    """
    path = Path(path)
    if on_undecodable not in UNDECODABLE_POLICIES:
        raise InputError(f"{path}: on_undecodable must be one of {UNDECODABLE_POLICIES}, got {on_undecodable!r}")
    if len(languages) != 2 or languages[0] == languages[1]:
        raise InputError(f"{path}: languages must be two different codes, got {languages!r}")
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    lines, undecodable = numbered_lines(path, on_undecodable)
    rows = list(parsed_rows(path, lines))
    if not rows:
        detail = f"; {undecodable} undecodable line(s) skipped" if undecodable else ""
        raise InputError(f"{path}: file is empty (no non-blank lines{detail})")
    report = {
        "lines": len(lines) + undecodable,
        "blank_skipped": len(lines) - len(rows),
        "undecodable_skipped": undecodable,
        "rows": len(rows),
    }
    frame = pd.DataFrame(
        {
            "id": [r[1] for r in rows],
            languages[0]: [r[2] for r in rows],
            languages[1]: [r[3] for r in rows],
            "flags": ["-"] * len(rows),
        },
        dtype=str,
    )
    return frame, report
