"""Shards of a split's sentences: which rows each shard job translates, and the gather that puts the shards' outputs
back together as the unsharded job would have written them.

With `sharding.sentences` = N a split of n rows is cut into ceil(n / N) shards of consecutive rows (the last one
shorter); null or 0 is one shard of all rows. Only splits whose translations have a fixed length limit are cut (the
training and probe sources: memkd.decode.MEMORIZATION_SPLITS): there a sentence's translation does not depend on the
other sentences of its batch, so the concatenated shards equal the unsharded output byte for byte. The test set's
limit is a * (longest source of the batch) + b, so cutting it would change translations: it stays one shard (it is
small at any scale).

A plan (rule shard_plan, a checkpoint) is a JSON file {"sentences": n, "sentences_per_shard": N or null,
"shards": [[start, stop], ...]}; shard i translates rows start..stop-1 of the split. A plan made from its table also
holds "offsets" (the byte offset of each shard's first row) and "table_bytes" (the table's size): a shard job seeks
to its rows instead of parsing every row before them, which made the shards of a split cost O(rows^2 / shard size)
in all (at 40M pairs, a 10 GB table parsed about 200 times over per sharded stage and model).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np

from memkd.decode import MEMORIZATION_SPLITS
from memkd.errors import InputError
from memkd.io import CHUNK_ROWS, atomic_path, iter_chunks, iter_lines, write_json_atomic



def shard_ranges(sentences: int, per_shard: int | None) -> list[tuple[int, int]]:
    """[start, stop) row ranges of consecutive shards covering `sentences` rows; one shard when `per_shard` is None
    or 0 (also for an empty split: one empty shard, so that the gathered file exists as before)."""
    if sentences < 0 or (per_shard is not None and per_shard < 0):
        raise ValueError(f"sentences ({sentences}) and per_shard ({per_shard}) must not be negative")
    if not per_shard or sentences <= per_shard:
        return [(0, sentences)]
    return [(start, min(start + per_shard, sentences)) for start in range(0, sentences, per_shard)]


def sentences_per_shard(split: str, sentences: int | None) -> int | None:
    """The shard size of `split` for the config's `sharding.sentences`: None (one shard) for a split whose length
    limit depends on the batch (the test set) or when sharding is off."""
    return (sentences or None) if split in MEMORIZATION_SPLITS else None


def make_plan(sentences: int, per_shard: int | None, table: str | os.PathLike | None = None) -> dict:
    """The plan of `sentences` rows in shards of `per_shard`; with `table` (the table of those rows) also the byte
    offsets of the shards' first rows, unless its lines are not its rows one to one (then shard jobs scan)."""
    plan = {
        "sentences": sentences,
        "sentences_per_shard": per_shard,
        "shards": [list(r) for r in shard_ranges(sentences, per_shard)],
    }
    if table is not None:
        offsets = row_offsets(table, [start for start, _ in plan["shards"]], sentences)
        if offsets is not None:
            plan.update(offsets=offsets, table_bytes=os.path.getsize(table))
    return plan


def write_plan(path: str | os.PathLike, sentences: int, per_shard: int | None,
               table: str | os.PathLike | None = None) -> dict:
    plan = make_plan(sentences, per_shard, table)
    write_json_atomic(path, plan)
    return plan


def read_plan(path: str | os.PathLike) -> dict:
    plan = json.loads(Path(path).read_text())
    ranges = [tuple(r) for r in plan["shards"]]
    if ranges != shard_ranges(plan["sentences"], plan["sentences_per_shard"]):
        raise InputError(f"{path}: the shard ranges do not cover {plan['sentences']} rows in order")
    if "offsets" in plan and len(plan["offsets"]) != len(ranges):
        raise InputError(f"{path}: {len(plan['offsets'])} offsets for {len(ranges)} shards")
    return plan


_BLOCK_BYTES = 1 << 24


def _newline_scan(path: str | os.PathLike):
    """(block's byte offset, block) of a file in blocks of _BLOCK_BYTES (16 MiB): newlines are counted at memchr
    speed (about 1.5 GB/s here, three times pandas' parse) and located with numpy only in the blocks that hold a
    wanted line."""
    with open(path, "rb") as handle:
        offset = 0
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            yield offset, block
            offset += len(block)


def line_starts(path: str | os.PathLike, lines, whole: bool = True) -> tuple[list[int], int | None, bool | None]:
    """Byte offsets where the 0-based lines `lines` (ascending) of a file start, the file's line count (a last line
    without its newline counts) and whether any line is empty; a line past the last gets the file's size. With
    `whole` False the scan stops at the last line asked for (then count and emptiness are None)."""
    lines = np.asarray(lines, dtype=np.int64)
    starts = np.full(len(lines), -1, dtype=np.int64)
    starts[lines == 0] = 0
    newlines, size, empty_line, previous_end = 0, 0, False, b"\n"  # as if a newline came before the file
    for offset, block in _newline_scan(path):
        if not whole and (starts >= 0).all():
            return starts.tolist(), None, None
        count = block.count(b"\n")
        # line k starts after newline k-1: the lines whose start follows a newline of this block
        low, high = np.searchsorted(lines, [newlines + 1, newlines + count + 1])
        if high > low:
            positions = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A)
            starts[low:high] = offset + positions[lines[low:high] - newlines - 1] + 1
        if whole:  # a second pass over the block, slower than the count: only the plan needs it
            empty_line = empty_line or b"\n\n" in block or (previous_end == b"\n" and block[:1] == b"\n")
        previous_end, newlines, size = block[-1:], newlines + count, offset + len(block)
    line_count = newlines + (1 if size and previous_end != b"\n" else 0)
    starts[starts < 0] = size
    return starts.tolist(), line_count, empty_line


def row_offsets(table: str | os.PathLike, rows: list[int], sentences: int) -> list[int] | None:
    """Byte offsets of rows `rows` of a table this workflow wrote (row i is line i + 1, after the header), or None
    when lines are not rows one to one: the parser skips empty lines, so a table with one is left to the scan."""
    starts, line_count, empty_line = line_starts(table, [row + 1 for row in rows])
    if empty_line or line_count != sentences + 1:
        return None
    return starts


def _chunks(path: str | os.PathLike, column: str):
    """`column` of a table this workflow wrote, CHUNK_ROWS rows at a time, parsed as memkd.io.read_tsv parses it."""
    for chunk in iter_chunks(path, [column], CHUNK_ROWS):
        yield chunk[column].tolist()


def count_rows(path: str | os.PathLike, column: str = "src") -> int:
    """Rows of a table (as read_tsv counts them), read in chunks: the table is never held whole."""
    return sum(len(chunk) for chunk in _chunks(path, column))


def read_row_range(path: str | os.PathLike, start: int, stop: int, columns: list[str]):
    """`columns` of rows start..stop-1 (read_tsv(path)[columns][start:stop], renumbered from 0) in one pass over
    the file, holding one chunk at a time."""
    import pandas as pd

    parts, offset = [], 0
    for chunk in iter_chunks(path, columns, CHUNK_ROWS):
        if offset + len(chunk) > start:
            parts.append(chunk.iloc[max(start - offset, 0):max(stop - offset, 0)])
        offset += len(chunk)
        if offset >= stop:
            break
    rows = pd.concat(parts, ignore_index=True) if parts else chunk.iloc[:0]
    if len(rows) != stop - start:
        raise InputError(f"{path}: rows {start}..{stop - 1} asked for, the table has {offset}")
    return rows


def read_shard_rows(path: str | os.PathLike, plan: dict, shard: int, columns: list[str]):
    """`columns` of shard `shard`'s rows of `plan` in `path`, the table the plan was made from (read_row_range's
    frame): read from the shard's byte offset when the plan has offsets for a table of this size, else scanned."""
    import pandas as pd

    from memkd.io import TSV_READ, table_columns

    start, stop = plan["shards"][shard]
    if plan.get("offsets") is None or plan.get("table_bytes") != os.path.getsize(path):
        return read_row_range(path, start, stop, columns)
    header = table_columns(path)
    if missing := [c for c in columns if c not in header]:
        raise InputError(f"{path}: missing column(s) {missing}; found {header}")
    if stop == start:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    offset = plan["offsets"][shard]
    with open(path, "rb") as handle:
        handle.seek(offset - 1)
        if handle.read(1) != b"\n":
            raise InputError(f"{path}: byte {offset} does not start a line; its shard plan was made from another "
                             f"table of the same size (remake the plan)")
        rows = pd.read_csv(handle, **TSV_READ, header=None, names=header, usecols=columns, nrows=stop - start)
    rows = rows[columns].reset_index(drop=True)
    if len(rows) != stop - start:
        raise InputError(f"{path}: rows {start}..{stop - 1} asked for, the table ends after {start + len(rows)}")
    return rows


def row_chunks(path: str | os.PathLike, columns: list[str], plan: str | os.PathLike | None = None,
               shard: int | None = None):
    """`columns` of a table as frames: one shard's rows of `plan` (a job of a sharded rule), or else every row,
    CHUNK_ROWS at a time (the unsharded job, streaming), so that one script serves both rules."""
    if plan is None:
        yield from iter_chunks(path, columns, CHUNK_ROWS)
        return
    yield read_shard_rows(path, read_plan(plan), shard, columns)


def count_lines(path: str | os.PathLike) -> int:
    return sum(block.count(b"\n") for _, block in _newline_scan(path))


def gather_text(parts: list[str | os.PathLike], path: str | os.PathLike, plan: dict) -> None:
    """Concatenate the shards' hypothesis files (one line per row, in the plan's order) into `path`, atomically,
    after checking that every shard has exactly its rows' lines."""
    if len(parts) != len(plan["shards"]):
        raise InputError(f"{len(parts)} shard files for a plan of {len(plan['shards'])} shards")
    for part, (start, stop) in zip(parts, plan["shards"]):
        if (lines := count_lines(part)) != stop - start:
            raise InputError(f"{part}: {lines} lines, expected {stop - start} (rows {start}..{stop - 1})")
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)


def timing_record(sentences: int, seconds: float, threads: int, device: str, decoding: str, **extra) -> dict:
    """The timing record written beside a translation: rule translate_shard's, with the shard's index and rows as
    `extra`; scripts/translate.py writes the same fields for a whole split (it keeps its own code: an edit of it would
    rerun every finished translation; tests/unit/test_shards.py checks that they agree). Decoding seconds and
    sentences per second (None without a measurable time), with the threads, device and decoding signature."""
    return {
        "sentences": sentences,
        "seconds": round(seconds, 3),
        "sentences_per_s": round(sentences / seconds, 2) if seconds > 0 else None,
        "threads": threads,
        "device": device,
        "decoding": decoding,
        **extra,
    }


def gather_timing(timings: list[dict]) -> dict:
    """One timing record for the whole split from the shards' records (scripts/translate.py's fields): sentences and
    seconds summed (decoding time, summed over the shard jobs), sentences_per_s from those sums; threads, device and
    decoding signature must agree; `shards` counts the shard jobs."""
    if not timings:
        raise ValueError("no shard timings to gather")
    for key in ("threads", "decoding"):
        if len({t[key] for t in timings}) != 1:
            raise InputError(f"the shards disagree on {key}: {sorted({str(t[key]) for t in timings})}")
    sentences = sum(t["sentences"] for t in timings)
    seconds = round(sum(t["seconds"] for t in timings), 3)
    return {
        "sentences": sentences,
        "seconds": seconds,
        "sentences_per_s": round(sentences / seconds, 2) if seconds > 0 else None,
        "threads": timings[0]["threads"],
        "device": ",".join(dict.fromkeys(t["device"] for t in timings)),
        "decoding": timings[0]["decoding"],
        "shards": len(timings),
    }


def read_line_range(path: str | os.PathLike, start: int, stop: int) -> list[str]:
    """Lines start..stop-1 of a text file (memkd.io.read_lines(path)[start:stop]): the lines before them are
    counted, not decoded (line_starts), and only the range is read."""
    (offset,), _, _ = line_starts(path, [start], whole=False)
    rows = list(itertools.islice(iter_lines(path, offset, first_line=start + 1), stop - start))
    if len(rows) != stop - start:
        _, line_count, _ = line_starts(path, [], whole=True)
        raise InputError(f"{path}: lines {start + 1}..{stop} asked for, the file has {line_count}")
    return rows


def gather_tables(parts: list[str | os.PathLike], path: str | os.PathLike, plan: dict, per_row: str = "one") -> None:
    """Concatenate the shards' TSV tables (a header line, then the lines of the shard's range, in the plan's order)
    into `path`, atomically, with the header once, after checking every shard's header and line count: one line per
    row of its range (`per_row` "one"), or at least one (`per_row` "some": a k-best list's hypotheses per source)."""
    if per_row not in ("one", "some"):
        raise ValueError(f"per_row is 'one' or 'some', not {per_row!r}")
    if len(parts) != len(plan["shards"]):
        raise InputError(f"{len(parts)} shard files for a plan of {len(plan['shards'])} shards")
    header = None
    for part, (start, stop) in zip(parts, plan["shards"]):
        with open(part, "rb") as handle:
            first = handle.readline()
        if header is None:
            header = first
        elif first != header:
            raise InputError(f"{part}: header {first!r} differs from the first shard's {header!r}")
        rows = count_lines(part) - 1
        if rows < stop - start or (per_row == "one" and rows != stop - start):
            expected = f"{stop - start}" if per_row == "one" else f"at least {stop - start}"
            raise InputError(f"{part}: {rows} rows, expected {expected} (rows {start}..{stop - 1})")
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(header)
        for part in parts:
            with open(part, "rb") as handle:
                handle.readline()
                shutil.copyfileobj(handle, out, 1 << 20)
