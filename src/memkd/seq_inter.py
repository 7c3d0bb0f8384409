"""Seq-Inter (Kim & Rush 2016, sequence-level interpolation): of the teacher's k-best list for a source, the candidate
closest to the reference by smoothed sentence BLEU becomes the training target (STUDY.md section 2). Free of torch, so
that rule seq_inter_data, which decodes with CTranslate2, does not load it."""

from __future__ import annotations

from sacrebleu.metrics import BLEU

_SENTENCE_BLEU = BLEU(effective_order=True)  # sentence_score smooths with 'exp' by default


def select_closest_candidate(candidates: list[str], reference: str) -> int:
    """Seq-Inter (Kim & Rush): index of the k-best candidate with the highest smoothed sentence BLEU against the
    reference. Ties go to the earliest, i.e. the teacher's higher-ranked output."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    scores = [_SENTENCE_BLEU.sentence_score(candidate, [reference]).score for candidate in candidates]
    return max(range(len(scores)), key=scores.__getitem__)  # max keeps the first of equal maxima


def seq_inter_targets(kbest: list[list[str]], references: list[str]) -> list[str]:
    """The Seq-Inter training target for every sentence: its k-best candidate closest to the reference."""
    if len(kbest) != len(references):
        raise ValueError(f"{len(kbest)} k-best lists but {len(references)} references")
    targets = []
    for i, (candidates, reference) in enumerate(zip(kbest, references)):
        if not candidates:
            raise ValueError(f"sentence {i}: empty k-best list")
        targets.append(candidates[select_closest_candidate(candidates, reference)])
    return targets
