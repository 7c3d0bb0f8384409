"""A user's parallel corpus: a tab-separated file without header, columns id, source, target."""

from __future__ import annotations

import os
import re
import unicodedata

import pandas as pd

from memkd.errors import InputError


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def read_user_tsv(path: str | os.PathLike, languages: tuple[str, str], on_undecodable: str = "error") -> tuple[pd.DataFrame, dict]:
    """(id, lang1, lang2, flags) rows and a small report; every problem names the file and line.

    Blank lines are skipped; a line that is not UTF-8 stops the read (on_undecodable="error") or is
    dropped and counted ("skip"). The file itself is only read.
    """
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    rows, seen, report = [], {}, {"lines": 0, "blank": 0, "undecodable_skipped": 0}
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            report["lines"] += 1
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as err:
                if on_undecodable == "skip":
                    report["undecodable_skipped"] += 1
                    continue
                raise InputError(f"{path}, line {number}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
            if not line.strip():
                report["blank"] += 1
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                raise InputError(f"{path}, line {number}: expected 3 tab-separated fields (id, source, target), found {len(fields)}")
            identifier = fields[0].strip()
            if identifier in seen:
                raise InputError(f"{path}, line {number}: id {identifier!r} already used on line {seen[identifier]}")
            seen[identifier] = number
            rows.append((identifier, clean(fields[1]), clean(fields[2]), "-"))
    if not rows:
        raise InputError(f"{path}: file is empty (no non-blank lines)")
    return pd.DataFrame(rows, columns=["id", languages[0], languages[1], "flags"]), report
