"""Counterfactual memorization (CM) from M models each trained on half of the training set.

Balanced design: every example is IN for exactly M/2 models and OUT for the other M/2. Per example,
p is the geometric-mean token probability of the reference under teacher forcing; CM = mean p over IN
models - mean p over OUT models. The paper's code computes 2 ** (mean natural-log probability), a
quirk offered as `base=2`; the default is the true geometric mean, exp(mean log p).
"""

from __future__ import annotations

import math
import random

import numpy as np


def balanced_design(n_examples: int, n_models: int, seed: int) -> np.ndarray:
    """Boolean matrix [n_models, n_examples]: True where the example is in the model's training half.
    Each column has exactly n_models / 2 True values; each model gets about half of the examples."""
    if n_models < 2 or n_models % 2:
        raise ValueError(f"the number of CM models must be even and at least 2, got {n_models}")
    rng = random.Random(seed)
    design = np.zeros((n_models, n_examples), dtype=bool)
    # A fresh random half of the models per example: columns are exact, rows are half the data on average.
    order = list(range(n_models))
    for example in range(n_examples):
        rng.shuffle(order)
        design[order[: n_models // 2], example] = True
    return design


def geometric_mean_probability(sum_log_prob: float, n_tokens: int, base: float = math.e) -> float:
    """exp(mean natural-log probability); base=2 reproduces the paper's 2 ** (mean ln p)."""
    return base ** (sum_log_prob / n_tokens)


def counterfactual_memorization(probabilities: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean IN p, mean OUT p, CM) per example, from p [n_models, n_examples] and the design."""
    if probabilities.shape != design.shape:
        raise ValueError(f"scores have shape {probabilities.shape} but the design has {design.shape}")
    in_count, out_count = design.sum(0), (~design).sum(0)
    if (in_count == 0).any() or (out_count == 0).any():
        raise ValueError("every example needs at least one IN and one OUT model")
    in_mean = (probabilities * design).sum(0) / in_count
    out_mean = (probabilities * ~design).sum(0) / out_count
    return in_mean, out_mean, in_mean - out_mean
