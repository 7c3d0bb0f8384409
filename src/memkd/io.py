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
from typing import TYPE_CHECKING, Iterator

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


def write_tsv_atomic(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Tab-separated, header line, no quoting: our texts never contain tabs or newlines."""
    import pandas as pd  # here, not at the top: jobs that read and write no table skip its import (~0.3 s)

    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            bad = frame[column].astype(str).str.contains(r"[\t\n\r]", regex=True)
            if bad.any():
                raise ValueError(f"column {column!r} has a tab or newline in row {int(bad.idxmax())}")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_NONE, lineterminator="\n")


# How the workflow's tables are parsed: header line, every cell text, no quoting, nothing read as missing
TSV_READ = dict(sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, na_filter=False)


def read_tsv(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a table this workflow wrote (header line, all text). `columns` are required to exist."""
    import pandas as pd

    frame = pd.read_csv(path, **TSV_READ)
    missing = [c for c in columns or [] if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A tidy table with numbers as numbers and empty cells as NaN (what plots and the summary read)."""
    import pandas as pd

    return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE)


def iter_lines(path: str | os.PathLike) -> Iterator[str]:
    """Lines of a UTF-8 text file without their newline, one at a time; a bad byte names the line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                raise InputError(f"{path}, line {number}: not valid UTF-8 ({err.reason} at byte {err.start})") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 text file without their newline; a bad byte names the line."""
    return list(iter_lines(path))
