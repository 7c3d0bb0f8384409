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

from memkd.digests import text_keys
from memkd.errors import InputError
from memkd.io import CHUNK_ROWS, iter_lines
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
    uniqueness by iter_user_tsv, over the whole file at once (as digests)."""
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


def first_repeat(keys: np.ndarray) -> tuple[int, int] | None:
    """(row, earlier row) of the first key, in order, that an earlier row already has; None when all differ.
    `keys` are 16-byte digests (memkd.digests): sorted as two 64-bit words, a stable sort of millions of keys takes
    a few bytes a key more, where np.unique on the digests takes a dozen times their size."""
    if not len(keys):
        return None
    words = np.ascontiguousarray(keys).view(np.uint64).reshape(len(keys), -1)
    order = np.lexsort(words.T[::-1])  # stable: equal keys stay in row order
    ordered = words[order]
    repeats = np.concatenate([[False], (ordered[1:] == ordered[:-1]).all(axis=1)])
    del ordered
    if not repeats.any():
        return None
    position = int(np.flatnonzero(repeats)[order[repeats].argmin()])  # the repeat of the smallest row
    run_start = position - int(np.flatnonzero(~repeats[: position + 1][::-1])[0])
    return int(order[position]), int(order[run_start])


def id_on_line(path: Path, number: int) -> str:
    """The id (first field, stripped) of line `number`: read again for an error message, not kept in memory."""
    with open(path, "rb") as handle:
        for current, raw in enumerate(handle, start=1):
            if current == number:
                text = raw.decode("utf-8").rstrip("\r\n")
                return text.removeprefix(BYTE_ORDER_MARK).split("\t")[0].strip()
    raise ValueError(f"{path} has no line {number}")


def iter_user_tsv(
    path: str | os.PathLike, languages: tuple[str, str], on_undecodable: str = "error", report: dict | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Rows (id, <languages[0]>, <languages[1]>, flags) in file order, `chunk_rows` at a time: a corpus of millions
    of lines is never held, only a 16-byte digest of each id (to find a repeated one). `report`, when given, is
    filled once the file is read (keys as read_user_tsv's).

    Blank lines are skipped and counted. A line that is not UTF-8 stops the read (on_undecodable="error") or is
    dropped and counted ("skip"). A repeated id or an empty file raises InputError after the last chunk, so a
    writer of the chunks (memkd.io.write_tsv_chunks_atomic) leaves nothing behind.
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
    counts = {"lines": 0, "undecodable": 0}

    def decodable_lines() -> Iterator[tuple[int, str]]:
        for number, line in numbered_lines(path, on_undecodable):
            counts["lines"] = number
            if line is None:
                counts["undecodable"] += 1
            else:
                yield number, line

    def chunk(ids: list[str], sources: list[str], targets: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"id": pd.Series(ids, dtype=str), languages[0]: pd.Series(sources, dtype=str),
                             languages[1]: pd.Series(targets, dtype=str), "flags": "-"})

    numbers, keys, rows = array("q"), [], 0
    ids, sources, targets = [], [], []
    for number, identifier, source, target in parsed_rows(path, decodable_lines()):
        numbers.append(number)
        ids.append(identifier)
        sources.append(source)
        targets.append(target)
        if len(ids) == chunk_rows:
            keys.append(text_keys(ids))
            rows += len(ids)
            yield chunk(ids, sources, targets)
            ids, sources, targets = [], [], []
    if ids:
        keys.append(text_keys(ids))
        rows += len(ids)
        yield chunk(ids, sources, targets)
    undecodable = counts["undecodable"]
    if not rows:
        detail = f"; {undecodable} undecodable line(s) skipped" if undecodable else ""
        raise InputError(f"{path}: file is empty (no non-blank lines{detail})")
    all_keys = np.concatenate(keys)
    keys.clear()
    repeat = first_repeat(all_keys)
    if repeat:
        line_numbers = np.frombuffer(numbers, dtype=np.int64)
        row, first = repeat
        raise InputError(f"{path}, line {line_numbers[row]}: id {id_on_line(path, int(line_numbers[row]))!r} "
                         f"already used on line {line_numbers[first]}")
    if report is not None:
        report.update({"lines": counts["lines"], "blank_skipped": counts["lines"] - undecodable - rows,
                       "undecodable_skipped": undecodable, "rows": rows})


def read_user_tsv(
    path: str | os.PathLike, languages: tuple[str, str], on_undecodable: str = "error"
) -> tuple[pd.DataFrame, dict]:
    """The whole of iter_user_tsv as one frame, and its report (keys lines, blank_skipped, undecodable_skipped,
    rows)."""
    report = {}
    frame = pd.concat(list(iter_user_tsv(path, languages, on_undecodable, report)), ignore_index=True)
    return frame, report
