"""Quality estimation without a download: dual conditional cross-entropy (Junczys-Dowmunt, 2018).

For a pair (x, y), H_fwd = per-token cross-entropy of y given x under a forward model and H_bwd = of x
given y under a backward model. Pairs the two models agree are likely translations of each other
score low on |H_fwd - H_bwd| + (H_fwd + H_bwd) / 2; the estimate exp(-score) lies in (0, 1], higher
is better. The models here are the study's own teachers, so the estimate is in-sample for training
pairs (a memorized pair looks good); tables say so by naming the method.
"""

from __future__ import annotations

import math

QE_METHODS = {"dual_xent": "dual conditional cross-entropy, exp(-(|Hf-Hb| + (Hf+Hb)/2)), teachers {fwd} and {bwd}"}


def cross_entropy(sum_log_prob: float, n_tokens: int) -> float:
    """Per-token cross-entropy in nats from a summed natural-log probability."""
    if n_tokens <= 0:
        raise ValueError(f"a scored sequence needs at least one token, got {n_tokens}")
    return -sum_log_prob / n_tokens


def dual_xent_score(forward_xent: float, backward_xent: float) -> float:
    return abs(forward_xent - backward_xent) + 0.5 * (forward_xent + backward_xent)


def dual_xent_quality(forward_xent: float, backward_xent: float) -> float:
    """exp(-score) in (0, 1]; 1 only for two certain, agreeing models."""
    return math.exp(-dual_xent_score(forward_xent, backward_xent))
