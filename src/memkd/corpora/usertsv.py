"""A user's parallel corpus: a UTF-8 tab-separated file without header, columns id, source, target.

Every problem raises InputError naming the file and, where there is one, the line, so a user can fix
the file without reading code. The file itself is only read.
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.io import iter_lines
from memkd.preprocess import normalise_text

FIELDS = ("id", "source", "target")
UNDECODABLE_POLICIES = ("error", "skip")
BYTE_ORDER_MARK = "\ufeff"


def numbered_lines(path: Path, on_undecodable: str) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of every line, one at a time; text is None for a line that is not UTF-8 when
    on_undecodable="skip". With on_undecodable="error" the first bad line raises InputError naming file and line."""
    if on_undecodable == "error":
        yield from enumerate(iter_lines(path), start=1)
        return
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None


def split_fields(path: Path, number: int, line: str) -> tuple[str, str, str]:
    """The three fields of a line; any other count raises InputError naming file, line and count."""
    fields = line.split("\t")
    if len(fields) != len(FIELDS):
        raise InputError(
            f"{path}, line {number}: expected {len(FIELDS)} tab-separated fields "
            f"({', '.join(FIELDS)}), found {len(fields)}"
        )
    return fields[0], fields[1], fields[2]


def parsed_rows(path: Path, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, str, str]]:
    """(line number, id, source, target) of the non-blank lines, texts cleaned. Ids are checked for
    uniqueness by check_unique_ids, over the whole column at once."""
    for number, line in lines:
        if number == 1:
            line = line.removeprefix(BYTE_ORDER_MARK)  # editors on Windows often add one
        if not line.strip():
            continue
        identifier, source, target = split_fields(path, number, line)
        identifier = identifier.strip()
        if not identifier:
            raise InputError(f"{path}, line {number}: the id (first field) is empty")
        yield number, identifier, normalise_text(source), normalise_text(target)


def check_unique_ids(path: Path, ids: pd.Series, line_numbers: np.ndarray) -> None:
    """InputError naming the first line whose id an earlier line already used, and that earlier line."""
    repeated = ids.duplicated().to_numpy()
    if repeated.any():
        row = int(repeated.argmax())
        first = int((ids == ids.iat[row]).to_numpy().argmax())
        raise InputError(f"{path}, line {line_numbers[row]}: id {ids.iat[row]!r} already used on line {line_numbers[first]}")


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
    # column by column as the lines stream in: a corpus of millions of lines is never held as a list of rows
    counts = {"lines": 0, "undecodable": 0}

    def decodable_lines() -> Iterator[tuple[int, str]]:
        for number, line in numbered_lines(path, on_undecodable):
            counts["lines"] = number
            if line is None:
                counts["undecodable"] += 1
            else:
                yield number, line

    numbers, ids, sources, targets = array("q"), [], [], []
    for number, identifier, source, target in parsed_rows(path, decodable_lines()):
        numbers.append(number)
        ids.append(identifier)
        sources.append(source)
        targets.append(target)
    undecodable = counts["undecodable"]
    if not ids:
        detail = f"; {undecodable} undecodable line(s) skipped" if undecodable else ""
        raise InputError(f"{path}: file is empty (no non-blank lines{detail})")
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=str)})
    del ids
    check_unique_ids(path, frame["id"], np.frombuffer(numbers, dtype=np.int64))
    frame[languages[0]] = pd.Series(sources, dtype=str)
    del sources
    frame[languages[1]] = pd.Series(targets, dtype=str)
    del targets
    frame["flags"] = "-"
    report = {
        "lines": counts["lines"],
        "blank_skipped": counts["lines"] - undecodable - len(frame),
        "undecodable_skipped": undecodable,
        "rows": len(frame),
    }
    return frame, report
