"""Adaptive-SeqKD selection on hand-made pairs: thresholds, the cap, the ranking and the random control."""

import numpy as np
import pandas as pd
import pytest

from memkd.adaptive import eligible, select_high_quality, select_random, sentence_chrf

SETTINGS = {"min_chrf": 85, "min_confidence": 0.85, "min_qe": None, "min_source_words": 5, "max_pairs": 10,
            "rank_by": "chrf"}


def features(**columns):
    n = len(next(iter(columns.values())))
    base = {"id": [f"p{i}" for i in range(n)], "chrf": [100.0] * n, "confidence": [0.9] * n, "qe": [0.5] * n,
            "source_words": [8] * n}
    return pd.DataFrame({**base, **columns})


def test_sentence_chrf_is_100_for_an_exact_copy_and_lower_otherwise():
    scores = sentence_chrf(["in the beginning god created", "in the end"], ["in the beginning god created"] * 2)
    assert scores[0] == 100.0 and 0 < scores[1] < 60
    with pytest.raises(ValueError):
        sentence_chrf(["a"], ["a", "b"])


def test_every_threshold_applies_and_a_null_threshold_does_not():
    frame = features(chrf=[90, 80, 90, 90, 90], confidence=[0.9, 0.9, 0.5, 0.9, 0.9], source_words=[8, 8, 8, 5, 6],
                     qe=[-1.0, 0.5, 0.5, 0.5, 0.5])
    # pair 1: chrF 80 < 85; pair 2: confidence; pair 3: 5 words is not longer than 5
    assert eligible(frame, SETTINGS).tolist() == [True, False, False, False, True]
    assert eligible(frame, {**SETTINGS, "min_qe": 0.0}).tolist() == [False, False, False, False, True]
    nothing = {key: None for key in ("min_chrf", "min_confidence", "min_qe", "min_source_words")}
    assert eligible(frame, nothing).all()


def test_the_quality_arm_keeps_the_best_ranked_eligible_pairs_up_to_the_cap():
    frame = features(chrf=[86, 99, 90, 99, 50, 95])
    chosen = select_high_quality(frame, {**SETTINGS, "max_pairs": 3})
    # eligible: all but the chrF-50 pair; the three highest chrF are 99, 99 (corpus order breaks the tie), 95
    assert chosen.tolist() == [False, True, False, True, False, True]
    by_confidence = select_high_quality(features(confidence=[0.86, 0.99, 0.9]), {**SETTINGS, "max_pairs": 1,
                                                                                 "rank_by": "confidence"})
    assert by_confidence.tolist() == [False, True, False]
    assert not select_high_quality(features(chrf=[10.0, 20.0]), SETTINGS).any()


def test_the_random_arm_has_the_same_size_and_depends_only_on_its_seed():
    first, again, other = (select_random(100, 17, seed) for seed in ([1, 1], [1, 1], [2, 1]))
    assert first.sum() == 17 and np.array_equal(first, again) and not np.array_equal(first, other)
    with pytest.raises(ValueError):
        select_random(5, 6, 0)
