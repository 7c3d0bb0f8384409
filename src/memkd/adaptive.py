"""Adaptive-SeqKD (Dankers & Raunak): which training pairs the teacher is briefly fine-tuned on before it
translates the sources again for its student, and the random control of the same size.

The default follows the official code: the teacher's confidence is 2 ** (mean ln p) of its *own greedy output*; a pair
is kept when the sentence chrF of that output against the reference is above 85, the confidence above 0.85 and the
source longer than 5 words; the passing pairs are shuffled (seeded) and capped at a fixed number. The paper describes
the selection by a quality estimator; the earlier choices (confidence of the reference, ranking by a score) stay as
options. Every threshold is optional (None: not applied)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sacrebleu

ARMS = ("quality", "random")
CRITERIA = {"chrf": "min_chrf", "confidence": "min_confidence", "qe": "min_qe", "source_words": "min_source_words"}
# An arm fine-tuned for fewer optimizer steps than this carries no verdict: at the first default (6 pairs, one
# batch, one pass) each arm was a single step of a fresh Adam, a push of every weight by about lr whatever the pairs.
VERDICT_MIN_STEPS = 20


def sentence_chrf(hypotheses: list[str], references: list[str]) -> np.ndarray:
    """sacreBLEU sentence chrF (0-100) of each hypothesis against its reference."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    return np.array([sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hypotheses, references)], dtype=float)


def confidence(log_prob, tokens, base: str | int = 2) -> np.ndarray:
    """Teacher confidence per pair from teacher-forced scores (summed natural-log probability, token count):
    base ** (mean ln p). Base 2 is the official code's quirk (higher than the true geometric mean, exp, for every
    p < 1); base "e" is the true geometric-mean token probability."""
    mean = np.asarray(log_prob, dtype=float) / np.asarray(tokens, dtype=float)
    if str(base) == "e":
        return np.exp(mean)
    if str(base) == "2":
        return np.power(2.0, mean)
    raise ValueError(f"confidence base must be 2 or 'e', not {base!r}")


def teacher_confidence(scorer, sources: list[str], references: list[str], hypotheses: list[str],
                       settings: dict) -> np.ndarray:
    """Per pair, the teacher's confidence in its own greedy output (`confidence_of: greedy_output`, the official
    code) or in the reference. `scorer(sources, targets)` gives (tokens, summed ln p) per pair, teacher-forced
    (memkd.decode.score with the teacher)."""
    targets = {"greedy_output": hypotheses, "reference": references}[settings["confidence_of"]]
    if len(targets) != len(sources):
        raise ValueError(f"{len(targets)} {settings['confidence_of']} lines for {len(sources)} sources")
    scored = scorer(sources, targets)
    return confidence([lp for _, lp in scored], [n for n, _ in scored], settings["confidence_base"])


def eligible(features: pd.DataFrame, settings: dict) -> np.ndarray:
    """Pairs above every threshold set in `settings` (min_chrf, min_confidence, min_qe: more than the value;
    min_source_words: more words than the value, "longer than 5 words" in the official code)."""
    keep = np.ones(len(features), dtype=bool)
    for column, key in CRITERIA.items():
        threshold = settings.get(key)
        if threshold is None:
            continue
        keep &= features[column].astype(float).to_numpy() > threshold
    return keep


def select_high_quality(features: pd.DataFrame, settings: dict, seed: int | list[int] | None = None) -> np.ndarray:
    """The quality arm: eligible pairs, at most `max_pairs` of them. rank_by `shuffle` (the official code) keeps the
    first `max_pairs` of a seeded shuffle; `chrf`, `confidence` or `qe` keep the highest (ties in corpus order).
    Returns a boolean mask over `features`."""
    keep = eligible(features, settings)
    if settings["rank_by"] == "shuffle":
        if seed is None:
            raise ValueError("rank_by shuffle needs a seed")
        order = np.random.default_rng(seed).permutation(len(features))
    else:
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


def no_verdict_reason(pairs: int, steps: int, min_pairs: int) -> str | None:
    """Why an arm's comparison with the SeqKD student carries no verdict (None when it may carry one): fewer
    fine-tuning pairs than `min_pairs` (adaptive_seqkd.min_pairs), or fewer than VERDICT_MIN_STEPS optimizer steps."""
    reasons = []
    if pairs < min_pairs:
        reasons.append(f"only {pairs} fine-tuning pairs (adaptive_seqkd.min_pairs: {min_pairs})")
    if steps < VERDICT_MIN_STEPS:
        reasons.append(f"only {steps} optimizer steps (fewer than {VERDICT_MIN_STEPS})")
    return "; ".join(reasons) or None


def teacher_drift(teacher_outputs: list[str], tuned_outputs: list[str], references: list[str],
                  selected: np.ndarray) -> dict:
    """How far an arm's fine-tuning moved the teacher, from both teachers' translations of the study sources (in
    study order): distinct outputs of each, the share of outputs unchanged, and the share of the sources NOT
    fine-tuned on that the tuned teacher answers with the target of a pair it was fine-tuned on (the collapse a
    few repeated steps on a few pairs cause; the teacher's own rate of that is given for comparison)."""
    selected = np.asarray(selected, dtype=bool)
    if not len(teacher_outputs) == len(tuned_outputs) == len(references) == len(selected):
        raise ValueError("teacher outputs, tuned outputs, references and selection differ in length")
    targets = {ref.strip() for ref, chosen in zip(references, selected) if chosen}
    others = [i for i in range(len(selected)) if not selected[i]]

    def copied(outputs: list[str]) -> float | None:
        if not others:
            return None
        hits = sum(outputs[i].strip() in targets and outputs[i].strip() != references[i].strip() for i in others)
        return round(100.0 * hits / len(others), 2)

    return {"teacher_distinct_outputs": len(set(teacher_outputs)),
            "tuned_distinct_outputs": len(set(tuned_outputs)),
            "unchanged_outputs_pct": round(100.0 * float(np.mean([a == b for a, b in zip(teacher_outputs,
                                                                                           tuned_outputs)])), 2),
            "copied_selected_target_pct": copied(tuned_outputs),
            "teacher_copied_selected_target_pct": copied(teacher_outputs)}
