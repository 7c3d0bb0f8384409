"""Reading and writing the workflow's plain-text tables.

Every writer is atomic: it writes a sibling temporary file and renames it into place, so an
interrupted job never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from memkd.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def _check_cells(frame: pd.DataFrame, first_row: int = 0) -> None:
    """A tab or newline inside a cell would shift the columns of every later row: refuse it, naming the row."""
    import pandas as pd  # here, not at the top: jobs that read and write no table skip its import (~0.3 s)

    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            bad = frame[column].astype(str).str.contains(r"[\t\n\r]", regex=True)
            if bad.any():
                raise ValueError(f"column {column!r} has a tab or newline in row {first_row + int(bad.to_numpy().argmax())}")


def write_tsv_atomic(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Tab-separated, header line, no quoting: our texts never contain tabs or newlines."""
    _check_cells(frame)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_NONE, lineterminator="\n")


def write_tsv_chunks_atomic(path: str | os.PathLike, frames: Iterable[pd.DataFrame]) -> int:
    """write_tsv_atomic of the frames concatenated, one frame in memory at a time (a table of millions of rows
    written as it is computed); the columns of every frame must equal the first's. Returns the rows written."""
    rows, columns, header_written = 0, None, False
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        for frame in frames:
            if columns is None:
                columns = list(frame.columns)
            elif list(frame.columns) != columns:
                raise ValueError(f"a chunk has columns {list(frame.columns)}, the first had {columns}")
            _check_cells(frame, rows)
            # the header once, with the first chunk (written even when it is empty, as write_tsv_atomic writes it)
            frame.to_csv(out, sep="\t", index=False, header=not header_written, quoting=csv.QUOTE_NONE,
                         lineterminator="\n")
            rows, header_written = rows + len(frame), True
        if columns is None:
            raise ValueError(f"{path}: no chunk to write (not even an empty one with the columns)")
    return rows


CHUNK_ROWS = 100_000  # rows a streaming read or write holds at once

# How the workflow's tables are parsed: header line, every cell text, no quoting, nothing read as missing
TSV_READ = dict(sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, na_filter=False)


def _read_in_chunks(path: str | os.PathLike, **options) -> pd.DataFrame:
    """pd.read_csv(path, **TSV_READ, **options), parsed CHUNK_ROWS rows at a time and concatenated: the same
    frame, but the parser's buffers hold one chunk, not the whole file (a third less peak memory at a million rows)."""
    import pandas as pd

    with pd.read_csv(path, **TSV_READ, **options, chunksize=CHUNK_ROWS) as reader:
        chunks = list(reader)
    if not chunks:  # a header without rows
        return pd.read_csv(path, **TSV_READ, **options)
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def read_tsv(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a table this workflow wrote (header line, all text). `columns` are required to exist."""
    import pandas as pd

    frame = _read_in_chunks(path)
    missing = [c for c in columns or [] if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def read_columns(path: str | os.PathLike, columns: list[str]) -> pd.DataFrame:
    """Only `columns` of a table this workflow wrote (read_tsv(path, columns)[columns], without ever holding the
    other columns: what jobs over millions of rows read)."""
    import pandas as pd

    try:
        return _read_in_chunks(path, usecols=columns)[columns]
    except ValueError as err:  # usecols names a column the header lacks
        raise InputError(f"{path}: {err}") from None


def iter_chunks(path: str | os.PathLike, columns: list[str], rows: int | None = None) -> Iterator[pd.DataFrame]:
    """read_columns(path, columns) `rows` rows at a time (CHUNK_ROWS by default); an empty table gives one empty
    frame with the columns, so that a writer downstream still writes its header."""
    import pandas as pd

    try:
        reader = pd.read_csv(path, **TSV_READ, usecols=columns, chunksize=rows or CHUNK_ROWS)
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None
    empty = True
    with reader:
        for chunk in reader:
            empty = False
            yield chunk[columns].reset_index(drop=True)
    if empty:
        yield pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})


def table_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a table this workflow wrote (its header line)."""
    with open(path, encoding="utf-8") as handle:
        return handle.readline().rstrip("\n").split("\t")


def read_rows(path: str | os.PathLike, columns: list[str], rows, chunk_rows: int | None = None) -> pd.DataFrame:
    """read_columns(path, columns).iloc[rows] for ascending row positions `rows`, read a chunk at a time: a job
    that chose its rows on a few light columns reads the texts of those rows only, never of the whole table."""
    import numpy as np
    import pandas as pd

    rows = np.asarray(rows, dtype=np.int64)
    if rows.size and (np.diff(rows) <= 0).any():
        raise ValueError("read_rows needs strictly ascending row positions")
    parts, start = [], 0
    for chunk in iter_chunks(path, columns, chunk_rows):
        low, high = np.searchsorted(rows, [start, start + len(chunk)])
        parts.append(chunk.iloc[rows[low:high] - start])
        start += len(chunk)
    if rows.size and rows[-1] >= start:
        raise ValueError(f"{path}: row {rows[-1]} asked for, but the table has {start} rows")
    return pd.concat(parts, ignore_index=True)


def read_table(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """A tidy table with numbers as numbers and empty cells as NaN (what plots and the summary read); `columns`: only
    those (a per-pair table of millions of rows without the columns a reader does not use)."""
    import pandas as pd

    try:
        return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, usecols=columns)
    except ValueError as err:  # usecols names a column the header lacks
        if columns is None:
            raise
        raise InputError(f"{path}: {err}") from None


def iter_lines(path: str | os.PathLike, offset: int = 0, first_line: int = 1) -> Iterator[str]:
    """Lines of a UTF-8 text file without their newline, one at a time, from byte `offset` (the start of line
    number `first_line`); a bad byte names the line."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        for number, raw in enumerate(handle, start=first_line):
            try:
                yield raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise InputError(f"{path}, line {number}: not valid UTF-8 ({err.reason} at byte {err.start})") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 text file without their newline; a bad byte names the line."""
    return list(iter_lines(path))
