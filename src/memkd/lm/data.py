"""Offline English text for the LM track, cut into equal-length token examples.

Chapters (not verses) are dealt to the pre-training part, the fine-tuning set and the held-out set by a salted hash,
so the three are disjoint in text. Each fine-tuning and held-out example is a window of exactly prefix + suffix tokens
of one chapter's token stream; identical windows are counted (`copies`) and kept, and a seeded fraction of the
fine-tuning examples is repeated `duplicates.copies` times, because repetition drives memorization."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

PARTS = ("pretrain", "finetune", "heldout")


def chapter_of(verse_id: str) -> str:
    """'Gen.1.1' -> 'Gen.1'; an id without a verse number is its own chapter."""
    return verse_id.rsplit(".", 1)[0] if verse_id.count(".") >= 2 else verse_id


def part_of(chapter: str, split_permille: dict, salt: str) -> str:
    """Deterministic part of a chapter: the first split_permille['finetune'] of 1000 hash buckets go to fine-tuning,
    the next split_permille['heldout'] to the held-out set, the rest to pre-training."""
    bucket = int(hashlib.sha256(f"{salt}|{chapter}".encode()).hexdigest(), 16) % 1000
    if bucket < split_permille["finetune"]:
        return "finetune"
    if bucket < split_permille["finetune"] + split_permille["heldout"]:
        return "heldout"
    return "pretrain"


def chapter_texts(verses: pd.DataFrame) -> pd.DataFrame:
    """One row per chapter (in corpus order): chapter, text (its verses joined by spaces)."""
    verses = verses.assign(chapter=verses["id"].map(chapter_of))
    grouped = verses.groupby("chapter", sort=False)["text"].apply(lambda t: " ".join(t.astype(str)))
    return grouped.reset_index()


def windows(ids: list[int], length: int) -> list[tuple[int, ...]]:
    """Non-overlapping windows of exactly `length` tokens; the short tail is dropped."""
    return [tuple(ids[i:i + length]) for i in range(0, len(ids) - length + 1, length)]


def blocks(streams: list[list[int]], length: int, eos: int) -> np.ndarray:
    """Pre-training blocks: the streams joined with an end-of-text token, cut into rows of `length` tokens."""
    joined: list[int] = []
    for stream in streams:
        joined.extend(stream)
        joined.append(eos)
    n = len(joined) // length
    if n == 0:
        raise ValueError(f"pre-training text of {len(joined)} tokens gives no block of {length} tokens")
    return np.asarray(joined[:n * length], dtype=np.int64).reshape(n, length)


def count_windows(all_windows: list[tuple[int, ...]]) -> pd.DataFrame:
    """Unique windows in order of first occurrence with their count of natural duplicates."""
    counts: dict[tuple[int, ...], int] = {}
    for window in all_windows:
        counts[window] = counts.get(window, 0) + 1
    return pd.DataFrame({"ids": list(counts), "natural_copies": list(counts.values())})


def sample_examples(unique: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """Up to n unique windows, drawn with a seeded generator and kept in corpus order."""
    if n is None or n >= len(unique):
        return unique.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(seed).choice(len(unique), size=n, replace=False))
    return unique.iloc[chosen].reset_index(drop=True)


def planted_copies(n: int, fraction: float, copies: int, seed: int) -> np.ndarray:
    """Per-example multiplier: round(fraction * n) seeded examples get `copies`, the rest 1."""
    multiplier = np.ones(n, dtype=int)
    k = int(round(fraction * n))
    if k:
        multiplier[np.random.default_rng(seed + 1).choice(n, size=k, replace=False)] = copies
    return multiplier


def ids_to_text(ids) -> str:
    return " ".join(str(int(i)) for i in ids)


def text_to_ids(text: str) -> list[int]:
    return [int(t) for t in str(text).split()]


def example_table(examples: pd.DataFrame, prefix: str, decode) -> pd.DataFrame:
    """The TSV form: id, copies (training repetitions), natural_copies, planted, ids, text."""
    return pd.DataFrame({
        "id": [f"{prefix}{i:05d}" for i in range(len(examples))],
        "copies": examples["copies"].astype(int),
        "natural_copies": examples["natural_copies"].astype(int),
        "planted": examples["planted"].astype(bool),
        "ids": [ids_to_text(w) for w in examples["ids"]],
        "text": [decode(list(w)) for w in examples["ids"]],
    })


def id_matrix(table: pd.DataFrame) -> np.ndarray:
    """The examples' token ids as an (examples, length) array; all rows must have one length."""
    rows = [text_to_ids(t) for t in table["ids"]]
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"examples of different lengths: {sorted(lengths)}")
    return np.asarray(rows, dtype=np.int64)


def training_rows(table: pd.DataFrame) -> np.ndarray:
    """Every example repeated `copies` times: the fine-tuning multiset."""
    return np.repeat(id_matrix(table), table["copies"].astype(int).to_numpy(), axis=0)
