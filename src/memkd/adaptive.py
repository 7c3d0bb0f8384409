"""Adaptive-SeqKD (Dankers & Raunak): which training pairs the teacher is briefly fine-tuned on before it
translates the sources again for its student, and the random control of the same size.

The official code keeps pairs whose teacher output has a high sentence chrF against the reference, whose teacher
confidence is high and whose source is longer than 5 words, then a fixed number of them; the paper describes the
selection by a quality estimator. Every criterion here is optional (a threshold of None is not applied)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sacrebleu

ARMS = ("quality", "random")
CRITERIA = {"chrf": "min_chrf", "confidence": "min_confidence", "qe": "min_qe", "source_words": "min_source_words"}


def sentence_chrf(hypotheses: list[str], references: list[str]) -> np.ndarray:
    """sacreBLEU sentence chrF (0-100) of each hypothesis against its reference."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    return np.array([sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hypotheses, references)], dtype=float)


def eligible(features: pd.DataFrame, settings: dict) -> np.ndarray:
    """Pairs that meet every threshold set in `settings` (min_chrf, min_confidence, min_qe, min_source_words).
    `min_source_words` asks for more words than the threshold, as "longer than 5 words" in the official code."""
    keep = np.ones(len(features), dtype=bool)
    for column, key in CRITERIA.items():
        threshold = settings.get(key)
        if threshold is None:
            continue
        values = features[column].astype(float).to_numpy()
        keep &= values > threshold if column == "source_words" else values >= threshold
    return keep


def select_high_quality(features: pd.DataFrame, settings: dict) -> np.ndarray:
    """The quality arm: eligible pairs, at most `max_pairs` of them, the highest by `rank_by` (ties keep the
    corpus order). Returns a boolean mask over `features`."""
    keep = eligible(features, settings)
    order = np.argsort(-features[settings["rank_by"]].astype(float).to_numpy(), kind="stable")
    chosen = [i for i in order if keep[i]][: settings["max_pairs"]]
    mask = np.zeros(len(features), dtype=bool)
    mask[chosen] = True
    return mask


def select_random(n_pairs: int, size: int, seed: int | list[int]) -> np.ndarray:
    """The control arm: `size` pairs drawn uniformly from all `n_pairs`, without replacement, seeded."""
    if size > n_pairs:
        raise ValueError(f"cannot draw {size} of {n_pairs} pairs")
    mask = np.zeros(n_pairs, dtype=bool)
    mask[np.random.default_rng(seed).choice(n_pairs, size=size, replace=False)] = True
    return mask
