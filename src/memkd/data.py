"""Token ids for (source, target) pairs and length-bucketed batches.

Batches hold sentences of similar length; padded lengths are rounded up to a multiple of 8 so that
the set of tensor shapes stays small (this matters for bf16 speed on CPU), and each batch holds at most
`max_tokens` padded tokens on its longer side.

A token store is a table's pairs tokenized once (rule tokenize_pairs) into a folder of flat binary arrays that every
job reading them maps into memory: the token ids of each side one after the other, and where each sentence starts.
Training jobs of any size read them without tokenizing again and share the pages the operating system caches.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from itertools import chain
from pathlib import Path

import numpy as np

from memkd.errors import InputError
from memkd.model import EOS_ID, IGNORE_INDEX, PAD_ID

# make_batches turns this many lengths at a time into Python ints for its greedy cut
_PACK_CHUNK = 1 << 20


def encode(processor, texts: list[str], max_len: int | None) -> list[list[int]]:
    """SentencePiece ids + </s>, truncated to max_len tokens (the </s> kept); None: not truncated."""
    if max_len is None:
        return [ids + [EOS_ID] for ids in processor.encode(texts)]
    return [ids[: max_len - 1] + [EOS_ID] for ids in processor.encode(texts)]


class TokenArrays:
    """Token-id sequences in two flat arrays (ids, and offsets where each sequence starts): about 4 bytes a token,
    where a list of Python ints costs ~36. Indexing gives a sequence's ids as a numpy array; `lengths` all lengths.

    `max_len` truncates as `encode` does (the first max_len - 1 ids, then </s>) when a sequence is read, so one
    stored copy serves models of any max_positions. `rows` makes the arrays a view of those sequences, in that
    order (a CM model's half of the study pairs), without copying them. `store` = (folder, side) of a token store
    the arrays map: such arrays pickle as that reference (data-parallel workers map the same files instead of
    receiving a copy)."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, max_len: int | None = None,
                 store: tuple[str, str] | None = None, rows: np.ndarray | None = None):
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError(f"offsets must run from 0 to len(ids) = {len(ids)}")
        if max_len is not None and max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {max_len}")
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= len(offsets) - 1)):
                raise ValueError(f"rows must be indices of the {len(offsets) - 1} sequences")
        self.ids, self.offsets, self.max_len, self.store, self.rows = ids, offsets, max_len, store, rows

    def __reduce__(self):
        if self.store is None:
            return TokenArrays, (self.ids, self.offsets, self.max_len, None, self.rows)
        return _open_side, (*self.store, self.max_len, self.rows)

    def select(self, rows) -> "TokenArrays":
        """The sequences at `rows` (indices into these arrays), as a view."""
        rows = np.asarray(rows, dtype=np.int64)
        return TokenArrays(self.ids, self.offsets, self.max_len, self.store,
                           rows if self.rows is None else self.rows[rows])

    @classmethod
    def from_lists(cls, sequences) -> "TokenArrays":
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sequences], out=offsets[1:])
        ids = np.fromiter((t for s in sequences for t in s), dtype=np.int32, count=int(offsets[-1]))
        return cls(ids, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1 if self.rows is None else len(self.rows)

    def __getitem__(self, i: int) -> np.ndarray:
        if self.rows is not None:
            i = self.rows[i]
        sequence = self.ids[self.offsets[i]: self.offsets[i + 1]]
        if self.max_len is not None and len(sequence) > self.max_len:
            return np.append(sequence[: self.max_len - 1], np.int32(EOS_ID))
        return sequence

    @property
    def lengths(self) -> np.ndarray:
        lengths = np.diff(self.offsets)
        if self.rows is not None:
            lengths = lengths[self.rows]
        return lengths if self.max_len is None else np.minimum(lengths, self.max_len)


STORE_FILE = "store.json"
STORE_SIDES = {"source": "src", "target": "tgt"}  # a store's sides and the table columns they come from
STORE_DTYPES = {"ids": "<i4", "offsets": "<i8"}  # little-endian, whatever the machine that reads them


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_token_store(processor, table: str | os.PathLike, folder: str | os.PathLike, tokenizer_path: str) -> dict:
    """Tokenize the src and tgt columns of a workflow table (untruncated, each sentence followed by </s>) into the
    token store `folder`, CHUNK_ROWS rows at a time: memory holds one chunk, whatever the table's size. The folder is
    built under a temporary name and renamed when complete. Returns its description (store.json)."""
    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = {(side, kind): open(staging / f"{side}.{kind}", "wb") for side in STORE_SIDES for kind in STORE_DTYPES}
    try:
        pairs, tokens = _write_sides(processor, table, files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        for handle in files.values():
            handle.close()
    description = {
        "table": str(table), "pairs": pairs, "tokens": tokens, "dtypes": STORE_DTYPES,
        "tokenizer": str(tokenizer_path), "tokenizer_sha256": file_digest(tokenizer_path),
        "vocab_size": processor.vocab_size(), "truncated": False,
    }
    (staging / STORE_FILE).write_text(json.dumps(description, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return description


def _write_sides(processor, table, files: dict) -> tuple[int, dict[str, int]]:
    """Both sides' ids and offsets into `files`, a chunk at a time; (pairs, tokens per side)."""
    from memkd.io import iter_chunks

    pairs, ends = 0, dict.fromkeys(STORE_SIDES, 0)
    for side in STORE_SIDES:
        np.zeros(1, dtype=STORE_DTYPES["offsets"]).tofile(files[side, "offsets"])
    for chunk in iter_chunks(table, list(STORE_SIDES.values())):
        pairs += len(chunk)
        for side, column in STORE_SIDES.items():
            sequences = encode(processor, chunk[column].astype(str).tolist(), None)
            lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
            np.fromiter(chain.from_iterable(sequences), dtype=STORE_DTYPES["ids"],
                        count=int(lengths.sum())).tofile(files[side, "ids"])
            (ends[side] + np.cumsum(lengths)).astype(STORE_DTYPES["offsets"]).tofile(files[side, "offsets"])
            ends[side] += int(lengths.sum())
    return pairs, ends


def _map(path: Path, dtype: str) -> np.ndarray:
    """A read-only memory map of a flat array file as a plain ndarray (an empty file cannot be mapped)."""
    if path.stat().st_size == 0:
        empty = np.zeros(0, dtype=dtype)
        empty.setflags(write=False)
        return empty
    return np.memmap(path, dtype=dtype, mode="r").view(np.ndarray)


def _open_side(folder: str, side: str, max_len: int | None = None, rows: np.ndarray | None = None) -> TokenArrays:
    folder = Path(folder)
    return TokenArrays(_map(folder / f"{side}.ids", STORE_DTYPES["ids"]),
                       _map(folder / f"{side}.offsets", STORE_DTYPES["offsets"]), max_len, (str(folder), side),
                       rows)


def read_token_store(folder: str | os.PathLike, max_len: int | None = None,
                     tokenizer_path: str | None = None) -> tuple[TokenArrays, TokenArrays]:
    """(sources, targets) of a token store, memory-mapped, truncated to max_len on reading. With `tokenizer_path`,
    the store must have been made with that tokenizer (same bytes)."""
    folder = Path(folder)
    try:
        description = json.loads((folder / STORE_FILE).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{folder}: not a token store ({STORE_FILE}: {error}); remake it with rule tokenize_pairs")
    if tokenizer_path is not None and description["tokenizer_sha256"] != file_digest(tokenizer_path):
        raise InputError(f"{folder} was tokenized with {description['tokenizer']}, whose contents differ from "
                         f"{tokenizer_path}; remake it with rule tokenize_pairs")
    try:
        sources, targets = (_open_side(folder, side, max_len) for side in STORE_SIDES)
    except (OSError, ValueError) as error:
        raise InputError(f"{folder}: unreadable token store ({error}); remake it with rule tokenize_pairs")
    for side, arrays in zip(STORE_SIDES, (sources, targets)):
        if len(arrays) != description["pairs"] or len(arrays.ids) != description["tokens"][side]:
            raise InputError(f"{folder}: {side} holds {len(arrays)} sentences and {len(arrays.ids)} tokens, "
                             f"{STORE_FILE} says {description['pairs']} and {description['tokens'][side]}; "
                             f"remake it with rule tokenize_pairs")
    return sources, targets


def design_half(design: str | os.PathLike, role: str, pairs: str | os.PathLike, rows: int) -> np.ndarray:
    """The row numbers of a CM model's half of the study pairs `pairs` (`rows` of them in its token store): those its
    column `role` of the CM design marks IN, in study order. The design must list exactly the pairs' ids."""
    from memkd.io import read_columns

    table = read_columns(design, ["id", role])
    if len(table) != rows:
        raise InputError(f"{design} has {len(table)} rows but the study pairs' token store has {rows}: "
                         f"rerun cm_design and tokenize_pairs")
    if not np.array_equal(table["id"].to_numpy(), read_columns(pairs, ["id"])["id"].to_numpy()):
        raise InputError(f"{design} is not the design of {pairs} (its ids differ): rerun cm_design")
    return np.flatnonzero(table[role].astype(int).to_numpy() == 1)


def lengths_of(sequences) -> np.ndarray:
    """Lengths of token-id sequences (lists or TokenArrays)."""
    if isinstance(sequences, TokenArrays):
        return sequences.lengths
    return np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))


def round_up(n, multiple: int):
    """n (an int or an integer array) rounded up to a multiple of `multiple`."""
    return -(-n // multiple) * multiple


def make_batches(source_lengths, target_lengths, max_tokens: int, multiple: int = 8) -> list[np.ndarray]:
    """Index arrays of examples, grouped by length so that padding is small.

    Deterministic: sorted by (padded source length, padded target length, index), then cut greedily where the next
    example would take the batch's padded tokens (its longest padded side times its size) past `max_tokens`.
    The order and the batches are numpy arrays (views into one order array): millions of pairs are never Python
    ints, lists or sort keys.
    """
    source = np.asarray(source_lengths, dtype=np.int64)
    target = np.asarray(target_lengths, dtype=np.int64)
    if source.shape != target.shape:
        raise ValueError(f"{len(source)} source lengths but {len(target)} target lengths")
    if source.size == 0:
        return []
    padded_source, padded_target = round_up(source, multiple), round_up(target, multiple)
    order = np.lexsort((padded_target, padded_source))  # stable: equal keys keep index order
    widths = np.maximum(padded_source, padded_target)[order]
    starts: list[int] = []
    size, longest = 0, 0
    for first in range(0, len(widths), _PACK_CHUNK):  # the greedy cut is sequential; Python ints a chunk at a time
        for position, width in enumerate(widths[first: first + _PACK_CHUNK].tolist(), start=first):
            if size and max(longest, width) * (size + 1) > max_tokens:
                starts.append(position)
                size, longest = 0, 0
            size += 1
            longest = max(longest, width)
    return np.split(order, starts)


def epoch_order(n_batches: int, seed: int, epoch: int) -> list[int]:
    """The batch order of one epoch: a function of (seed, epoch) only, so a resumed run sees the same data."""
    order = list(range(n_batches))
    random.Random(f"{seed}-{epoch}").shuffle(order)
    return order


def pad(sequences: list[list[int]], value: int, multiple: int = 8) -> torch.Tensor:
    import torch  # here, so that CTranslate2 jobs (encode, make_batches) do not import it

    width = round_up(max(len(s) for s in sequences), multiple)
    out = np.full((len(sequences), width), value, dtype=np.int64)  # filled in numpy: sequences may be read-only maps
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = seq
    return torch.from_numpy(out)


def collate(sources: list[list[int]], targets: list[list[int]] | None = None, multiple: int = 8) -> dict:
    """Model inputs; `labels` are padded with IGNORE_INDEX (the model shifts them into decoder inputs)."""
    input_ids = pad(sources, PAD_ID, multiple)
    batch = {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long()}
    if targets is not None:
        batch["labels"] = pad(targets, IGNORE_INDEX, multiple)
    return batch
