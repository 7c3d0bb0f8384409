"""Token ids for (source, target) pairs and length-bucketed batches.

Batches hold sentences of similar length; padded lengths are rounded up to a multiple of 8 so that
the set of tensor shapes stays small (this matters for bf16 speed on CPU), and each batch holds at most
`max_tokens` padded tokens on its longer side.
"""

from __future__ import annotations

import random

from memkd.model import EOS_ID, IGNORE_INDEX, PAD_ID


def encode(processor, texts: list[str], max_len: int) -> list[list[int]]:
    """SentencePiece ids + </s>, truncated to max_len tokens (the </s> kept)."""
    return [ids[: max_len - 1] + [EOS_ID] for ids in processor.encode(texts)]


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def make_batches(
    source_lengths: list[int], target_lengths: list[int], max_tokens: int, multiple: int = 8
) -> list[list[int]]:
    """Index lists of examples, grouped by length so that padding is small.

    Deterministic: sorted by (padded source length, padded target length, index).
    """
    order = sorted(
        range(len(source_lengths)),
        key=lambda i: (round_up(source_lengths[i], multiple), round_up(target_lengths[i], multiple), i),
    )
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        length = round_up(max(source_lengths[i], target_lengths[i]), multiple)
        if current and max(longest, length) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        batches.append(current)
    return batches


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
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def collate(sources: list[list[int]], targets: list[list[int]] | None = None, multiple: int = 8) -> dict:
    """Model inputs; `labels` are padded with IGNORE_INDEX (the model shifts them into decoder inputs)."""
    input_ids = pad(sources, PAD_ID, multiple)
    batch = {"input_ids": input_ids, "attention_mask": (input_ids != PAD_ID).long()}
    if targets is not None:
        batch["labels"] = pad(targets, IGNORE_INDEX, multiple)
    return batch
