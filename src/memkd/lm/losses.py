"""Causal-LM losses on (batch, length, vocab) logits of the whole sequence: position t predicts token t + 1."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def causal_ce(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over all predicted positions."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))


def soft_kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 KL(p_T^T || p_S^T): the KL of the temperature-softened teacher from the softened student, summed over the
    vocabulary, averaged over the predicting positions (all but the last); T^2 keeps gradient sizes comparable
    across temperatures (Hinton et al.)."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student and teacher logits differ in shape: {tuple(student_logits.shape)} vs "
                         f"{tuple(teacher_logits.shape)}")
    teacher = teacher_logits[:, :-1].float() / temperature
    s = F.log_softmax(student_logits[:, :-1].float() / temperature, dim=-1)
    t = F.log_softmax(teacher, dim=-1)
    kl = (F.softmax(teacher, dim=-1) * (t - s)).sum(-1)  # softmax, not t.exp(): torch's kernel, same bits every run
    return temperature ** 2 * kl.mean()


def per_example_nll(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean next-token negative log-likelihood of each sequence (its log-perplexity)."""
    nll = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), ids[:, 1:], reduction="none")
    return nll.mean(-1)


def per_example_kl(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Mean over predicting positions of KL(p || q) at temperature 1, per sequence."""
    p_logits = p_logits[:, :-1].float()
    p = F.log_softmax(p_logits, dim=-1)
    q = F.log_softmax(q_logits[:, :-1].float(), dim=-1)
    return (F.softmax(p_logits, dim=-1) * (p - q)).sum(-1).mean(-1)
