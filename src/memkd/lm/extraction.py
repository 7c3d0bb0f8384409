"""Extractable memorization (Carlini et al.; Borkar et al.): prompt with the first P tokens of a training example,
decode S tokens greedily, and call the example memorized when they equal its true next S tokens exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memkd.lm.data import id_matrix
from memkd.lm.losses import per_example_nll
from memkd.lm.model import batched, greedy


def split(ids: np.ndarray, prefix: int, suffix: int) -> tuple[np.ndarray, np.ndarray]:
    """(prefixes, suffixes) of (examples, length) ids; examples need at least prefix + suffix tokens."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < prefix + suffix:
        raise ValueError(f"examples of shape {ids.shape} are shorter than prefix {prefix} + suffix {suffix} tokens")
    return ids[:, :prefix], ids[:, prefix:prefix + suffix]


def exact_match(continuations: np.ndarray, suffixes: np.ndarray) -> np.ndarray:
    """Per example: all S continuation tokens equal the suffix tokens."""
    continuations, suffixes = np.asarray(continuations), np.asarray(suffixes)
    if continuations.shape != suffixes.shape:
        raise ValueError(f"continuations {continuations.shape} and suffixes {suffixes.shape} differ in shape")
    return (continuations == suffixes).all(axis=1)


def matched_tokens(continuations: np.ndarray, suffixes: np.ndarray) -> np.ndarray:
    """Length of the common leading run of continuation and suffix (a graded view of near misses)."""
    equal = np.asarray(continuations) == np.asarray(suffixes)
    return np.where(equal.all(axis=1), equal.shape[1], np.argmin(equal, axis=1))


def continuations(model, ids: np.ndarray, prefix: int, suffix: int, batch_size: int) -> np.ndarray:
    prefixes, _ = split(ids, prefix, suffix)
    return batched(lambda p: greedy(model, p, suffix), prefixes, batch_size)


def memorized(model, ids: np.ndarray, prefix: int, suffix: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(memorized flags, matched leading tokens) per example."""
    _, suffixes = split(ids, prefix, suffix)
    generated = continuations(model, ids, prefix, suffix, batch_size)
    return exact_match(generated, suffixes), matched_tokens(generated, suffixes)


def score(model, examples: dict, prefix: int, suffix: int, batch_size: int):
    """Per example of each named set (split -> table with id, copies, ids): memorized, matched leading tokens and
    log-perplexity of the whole example."""
    frames = []
    for split, table in examples.items():
        ids = id_matrix(table)
        flags, matched = memorized(model, ids, prefix, suffix, batch_size)
        nll = batched(lambda x: per_example_nll(model(x).logits, x), ids, batch_size)
        frames.append(pd.DataFrame({"id": table["id"].to_numpy(), "split": split,
                                    "copies": table["copies"].astype(int).to_numpy(),
                                    "memorized": flags.astype(int), "matched_tokens": matched,
                                    "log_ppl": nll.round(6)}))
    return pd.concat(frames, ignore_index=True)


def hard_rows(teacher, examples_ids: np.ndarray, prefix: int, suffix: int, batch_size: int) -> np.ndarray:
    """The hard student's sequences: each example's prefix followed by the teacher's greedy continuation."""
    prefixes, _ = split(examples_ids, prefix, suffix)
    return np.concatenate([prefixes, continuations(teacher, examples_ids, prefix, suffix, batch_size)], axis=1)
