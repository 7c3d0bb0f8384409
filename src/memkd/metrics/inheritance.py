"""Inheritance sets (after the LM memorization-inheritance study): which of the teacher's memorized examples a student
memorizes too, split by whether the baseline -- the student's architecture trained on the references -- does.

The first three partition the teacher's memorized examples:
  teacher_only  memorized by T, by neither S nor B
  inherited     memorized by T and S, not by B (what distillation passed on)
  easy          memorized by T and B (a model of the student's size memorizes them without a teacher)
and one more set lies outside them:
  student_only  memorized by S, not by T
"""

from __future__ import annotations

import numpy as np

SETS = ("teacher_only", "inherited", "easy", "student_only")


def inheritance_sets(teacher, baseline, student) -> dict[str, np.ndarray]:
    """Boolean masks of the four sets, from per-example 'memorized' flags of T, B and S (same examples, same order)."""
    t, b, s = (np.asarray(flags, dtype=bool) for flags in (teacher, baseline, student))
    if not t.shape == b.shape == s.shape:
        raise ValueError(f"teacher, baseline and student flags differ in length: {t.shape}, {b.shape}, {s.shape}")
    return {
        "teacher_only": t & ~s & ~b,
        "inherited": t & s & ~b,
        "easy": t & b,
        "student_only": s & ~t,
    }


def student_kind(role: str, variants: dict) -> str:
    """How a student learnt from the teacher: hard (SeqKD targets), soft (token distributions), or both."""
    if role == "student":
        return "hard: SeqKD"
    spec = variants[role]
    if "prune" in spec:
        return f"pruned {spec['prune']['from']} (sparsity {spec['prune']['sparsity']:g})"
    if spec["data"] == "seq_inter":
        kind = f"hard: Seq-Inter (k={spec['seq_inter_k']})"
        kind += f", fine-tuned from {spec['finetune']['from']}" if "finetune" in spec else ""
        return kind + (f" + {spec['distillation']['method']}" if "distillation" in spec else "")
    if spec["data"] == "adaptive_seqkd":  # SeqKD from a teacher fine-tuned on selected or random pairs
        return f"hard: Adaptive-SeqKD ({spec['selection']} arm)"
    if "distillation" not in spec:
        return f"hard: SeqKD from {spec.get('seqkd_decoding', 'decoding.seqkd')}" if spec["data"] == "seqkd" else "none: references"
    soft = spec["distillation"]["method"]
    return f"hard+soft: SeqKD + {soft}" if spec["data"] == "seqkd" else f"soft: {soft} on references"
