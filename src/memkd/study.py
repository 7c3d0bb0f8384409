"""Choosing the training pairs of the study from the full training split.

On a 2-core CPU, memorization only shows when small models are trained to overfit a few thousand
short pairs (STUDY.md section 7); larger presets keep everything (max_pairs: null).
"""

from __future__ import annotations

import pandas as pd

from memkd.errors import InputError
from memkd.preprocess import subsample


def select_study_pairs(
    train: pd.DataFrame, lang1: str, lang2: str, processor, max_subwords: int | None, max_pairs: int | None, salt: str
) -> pd.DataFrame:
    """Pairs whose sides both have at most `max_subwords` pieces, then a deterministic subset."""
    if max_subwords is not None:
        short = [
            len(a) <= max_subwords and len(b) <= max_subwords
            for a, b in zip(processor.encode(train[lang1].tolist()), processor.encode(train[lang2].tolist()))
        ]
        train = train[short]
    return subsample(train, max_pairs, salt).reset_index(drop=True)


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
