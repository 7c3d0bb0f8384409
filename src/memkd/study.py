"""Choosing the training pairs of the study from the full training split.

On a 2-core CPU, memorization only shows when small models are trained to overfit a few thousand
short pairs (STUDY.md section 7); larger presets keep everything (max_pairs: null).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.preprocess import id_ranks


def study_rows(chunks: Iterable[pd.DataFrame], lang1: str, lang2: str, processor, max_subwords: int | None,
               max_pairs: int | None, salt: str) -> tuple[np.ndarray, int]:
    """(ascending row positions of the study pairs, training pairs read) from the training split's chunks (columns
    id, lang1, lang2): pairs whose sides both have at most `max_subwords` pieces, then at most `max_pairs` of them,
    those with the lowest salted id hashes (memkd.preprocess.id_rank), in corpus order. Holds 20 bytes of hash and
    8 of position per kept pair, never the texts."""
    positions, hashes, start = [], [], 0
    for chunk in chunks:
        keep = np.ones(len(chunk), dtype=bool)
        if max_subwords is not None:
            keep = np.array([len(a) <= max_subwords and len(b) <= max_subwords for a, b in
                             zip(processor.encode(chunk[lang1].tolist()), processor.encode(chunk[lang2].tolist()))],
                            dtype=bool)
        kept = np.flatnonzero(keep)
        positions.append(kept + start)
        if max_pairs is not None:
            ids = chunk["id"].to_numpy()[kept]
            hashes.append(id_ranks(ids, salt))
        start += len(chunk)
    rows = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    if max_pairs is None or len(rows) <= max_pairs:
        return rows, start
    # the lowest hashes (bytes order = id_rank's hex order), ties in corpus order
    lowest = np.argsort(np.concatenate(hashes), kind="stable")[:max_pairs]
    return np.sort(rows[lowest]), start


def check_study_size(chosen: int, training_pairs: int, settings: dict) -> None:
    """Raise InputError when too few training pairs pass the study's filters (every model, the CM halves and the
    predictor's folds train or fit on them)."""
    if chosen >= settings["min_pairs"]:
        return
    raise InputError(
        f"the study keeps {chosen} of {training_pairs} training pairs, fewer than study.min_pairs = "
        f"{settings['min_pairs']}; pairs are kept when both sides have at most study.max_subwords = "
        f"{settings['max_subwords']} SentencePiece pieces. Raise study.max_subwords (null keeps every length), "
        f"use a larger corpus, or lower study.min_pairs."
    )
