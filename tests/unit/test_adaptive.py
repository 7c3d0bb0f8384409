"""Adaptive-SeqKD selection on hand-made pairs: the confidence of the teacher's own output, thresholds, the
shuffle and the cap, the ranking options and the random control; the minimum-steps and no-verdict rules."""

import math
import random
from functools import partial

import numpy as np
import pandas as pd
import pytest
import sentencepiece as spm

from memkd.adaptive import (
    VERDICT_MIN_STEPS,
    confidence,
    eligible,
    no_verdict_reason,
    select_high_quality,
    select_random,
    sentence_chrf,
    teacher_confidence,
)
from memkd.decode import score, translate
from memkd.model import build_model
from memkd.train import fine_tuning_steps
from memkd.tokenizer import train_sentencepiece

WORDS = "the man woman king went to city river house field and said saw".split()

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
    # the official code keeps pairs strictly above each threshold: chrF 85 and confidence 0.85 do not pass
    at = features(chrf=[85.0, 85.01, 90], confidence=[0.9, 0.9, 0.85])
    assert eligible(at, SETTINGS).tolist() == [False, True, False]
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


def test_confidence_is_two_to_the_mean_log_probability_or_the_geometric_mean():
    # two pairs: 4 tokens with ln p summing to -0.4 (mean -0.1), 2 tokens summing to -2 (mean -1)
    assert confidence([-0.4, -2.0], [4, 2], 2) == pytest.approx([2 ** -0.1, 0.5])
    assert confidence([-0.4, -2.0], [4, 2], "e") == pytest.approx([math.exp(-0.1), math.exp(-1)])
    # the official quirk lets more pairs pass: a true geometric mean of 0.8 is 0.857 in base 2, above 0.85
    assert confidence([4 * math.log(0.8)], [4], 2)[0] > 0.85 > confidence([4 * math.log(0.8)], [4], "e")[0]
    with pytest.raises(ValueError, match="base"):
        confidence([-1.0], [1], 10)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A small untrained Marian model and a tokenizer: real teacher-forced scores with a known greedy output."""
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 8))) for _ in range(200)]
    path = tmp_path_factory.mktemp("spm") / "spm.model"
    train_sentencepiece(texts, path, {"vocab_size": 32, "model_type": "unigram", "character_coverage": 1.0}, seed=1)
    processor = spm.SentencePieceProcessor(model_file=str(path))
    preset = {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "heads": 2, "ffn_dim": 64, "dropout": 0.0,
              "max_positions": 32}
    return build_model(preset, vocab_size=32, seed=0).eval(), processor, texts


def test_the_default_confidence_is_the_teachers_own_greedy_output_scored_by_the_teacher(teacher):
    model, processor, texts = teacher
    sources, references = texts[:12], texts[12:24]
    greedy = [h[0] for h in translate(model, processor, sources, beam=1, max_len_a=1.0, max_len_b=5)[0]]
    scorer = partial(score, model, processor, max_len=32)
    settings = {"confidence_of": "greedy_output", "confidence_base": 2}
    own = teacher_confidence(scorer, sources, references, greedy, settings)
    scored = score(model, processor, sources, greedy, max_len=32)
    assert own == pytest.approx([2 ** (lp / n) for n, lp in scored])
    of_reference = teacher_confidence(scorer, sources, references, greedy, {**settings, "confidence_of": "reference"})
    # greedy picks the likeliest token at every step, so its output is likelier than unrelated references
    assert own.mean() > of_reference.mean() and not np.allclose(own, of_reference)
    true_mean = teacher_confidence(scorer, sources, references, greedy, {**settings, "confidence_base": "e"})
    assert (true_mean < own).all()
    with pytest.raises(ValueError, match="greedy_output"):
        teacher_confidence(scorer, sources, references, greedy[:-1], settings)


def test_shuffle_keeps_passing_pairs_only_and_is_deterministic_by_seed():
    frame = features(chrf=[90.0] * 30 + [50.0] * 10)  # 30 pass, 10 fail on chrF
    settings = {**SETTINGS, "rank_by": "shuffle", "max_pairs": 12}
    first, again, other = (select_high_quality(frame, settings, seed) for seed in ([1, 1, 1], [1, 1, 1], [2, 1, 1]))
    assert first.sum() == 12 and not first[30:].any()  # the cap; failing pairs never chosen
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(40) < 12)  # a shuffle, not the corpus order
    # fewer pass than the cap: every passing pair is kept, in any seed
    assert select_high_quality(frame, {**settings, "max_pairs": 100}, [3]).tolist() == [True] * 30 + [False] * 10
    with pytest.raises(ValueError, match="seed"):
        select_high_quality(frame, settings)


def test_a_fine_tuning_takes_at_least_min_steps_by_repeating_passes():
    assert fine_tuning_steps(1, 1, 20) == 20  # 6 pairs in one batch: 20 passes, not one step
    assert fine_tuning_steps(3, 1, 20) == 20
    assert fine_tuning_steps(25, 1, 20) == 25  # one pass is already enough
    assert fine_tuning_steps(8, 3, 20) == 24
    assert fine_tuning_steps(2, 1, None) == 2
    with pytest.raises(ValueError):
        fine_tuning_steps(0, 1, 20)


def test_an_arm_with_too_few_pairs_or_steps_carries_no_verdict_and_says_why():
    assert no_verdict_reason(40, 20, 20) is None
    assert VERDICT_MIN_STEPS == 20
    few_pairs = no_verdict_reason(6, 20, 20)
    assert "6 fine-tuning pairs" in few_pairs and "min_pairs: 20" in few_pairs and "steps" not in few_pairs
    one_step = no_verdict_reason(40, 1, 20)
    assert "1 optimizer steps" in one_step and "fewer than 20" in one_step
    assert "pairs" in no_verdict_reason(6, 1, 20) and "steps" in no_verdict_reason(6, 1, 20)


def test_teacher_drift_counts_sources_answered_with_a_fine_tuning_target():
    from memkd.adaptive import teacher_drift

    references = ["a b", "c d", "e f", "g h"]
    selected = np.array([1, 0, 0, 0])
    teacher = ["a b", "c x", "e f", "g y"]
    collapsed = ["a b", "a b", "a b", "g y"]  # two other sources answered with the selected pair's target
    drift = teacher_drift(teacher, collapsed, references, selected)
    assert drift == {"teacher_distinct_outputs": 4, "tuned_distinct_outputs": 2, "unchanged_outputs_pct": 50.0,
                     "copied_selected_target_pct": round(200 / 3, 2), "teacher_copied_selected_target_pct": 0.0}
    assert teacher_drift(teacher, teacher, references, selected)["copied_selected_target_pct"] == 0.0
    with pytest.raises(ValueError, match="length"):
        teacher_drift(teacher, collapsed[:3], references, selected)
