"""Token ids for (source, target) pairs and length-bucketed batches.

Batches hold sentences of similar length; padded lengths are rounded up to a multiple of 8 so that
the set of tensor shapes stays small (this matters for bf16 speed on CPU), and each batch holds at most
`max_tokens` padded tokens on its longer side.
"""

from __future__ import annotations

import random

import numpy as np

from memkd.model import EOS_ID, IGNORE_INDEX, PAD_ID

# make_batches turns this many lengths at a time into Python ints for its greedy cut
_PACK_CHUNK = 1 << 20


def encode(processor, texts: list[str], max_len: int) -> list[list[int]]:
    """SentencePiece ids + </s>, truncated to max_len tokens (the </s> kept)."""
    return [ids[: max_len - 1] + [EOS_ID] for ids in processor.encode(texts)]


class TokenArrays:
    """Token-id sequences in two flat arrays (ids, and offsets where each sequence starts): about 4 bytes a token,
    where a list of Python ints costs ~36. Indexing gives a sequence's ids as a numpy view; `lengths` all lengths."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray):
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError(f"offsets must run from 0 to len(ids) = {len(ids)}")
        self.ids, self.offsets = ids, offsets

    @classmethod
    def from_lists(cls, sequences) -> "TokenArrays":
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sequences], out=offsets[1:])
        ids = np.fromiter((t for s in sequences for t in s), dtype=np.int32, count=int(offsets[-1]))
        return cls(ids, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]: self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def encode_arrays(processor, texts, max_len: int, chunk: int = 65536) -> TokenArrays:
    """`encode` into TokenArrays, `chunk` texts at a time, so that a corpus is never held as Python lists of ids."""
    return concatenate([TokenArrays.from_lists(encode(processor, list(texts[start: start + chunk]), max_len))
                        for start in range(0, len(texts), chunk)])


def concatenate(parts: list[TokenArrays]) -> TokenArrays:
    """The sequences of `parts`, one after the other, as one TokenArrays."""
    if not parts:
        return TokenArrays(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64))
    ends = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
    offsets = np.concatenate([parts[0].offsets[:1]] + [p.offsets[1:] + end for p, end in zip(parts, ends)])
    return TokenArrays(np.concatenate([p.ids for p in parts]), offsets)


def encode_table(processor, path, max_len: int) -> tuple[TokenArrays, TokenArrays]:
    """The src and tgt columns of a workflow table, encoded as they are read (CHUNK_ROWS rows at a time): the
    texts of millions of pairs are never in memory at once, only their token ids."""
    from memkd.io import iter_chunks

    sources, targets = [], []
    for chunk in iter_chunks(path, ["src", "tgt"]):
        sources.append(encode_arrays(processor, chunk["src"], max_len))
        targets.append(encode_arrays(processor, chunk["tgt"], max_len))
    sources = concatenate(sources)  # one side's parts freed before the other side is joined
    return sources, concatenate(targets)


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
    out = torch.full((len(sequences), width), value, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def collate(sources: list[list[int]], targets: list[list[int]] | None = None, multiple: int = 8) -> dict:
    """Model inputs; `labels` are padded with IGNORE_INDEX (the model shifts them into decoder inputs)."""
    input_ids = pad(sources, PAD_ID, multiple)
    batch = {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long()}
    if targets is not None:
        batch["labels"] = pad(targets, IGNORE_INDEX, multiple)
    return batch
