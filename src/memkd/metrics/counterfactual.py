"""Counterfactual memorization (CM) from M models each trained on half of the training set.

Balanced design: every example is IN for exactly M/2 models and OUT for the other M/2. Per example,
p is the geometric-mean token probability of the reference under teacher forcing; CM = mean p over IN
models - mean p over OUT models. The paper's code computes 2 ** (mean natural-log probability), a
quirk offered as `base=2`; the default is the true geometric mean, exp(mean log p).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from memkd.digests import codes, pair_keys, text_keys
from memkd.groups import groups_from_codes


def balanced_design(n_examples: int, n_models: int, seed: int, groups=None) -> np.ndarray:
    """Boolean matrix [n_models, n_examples]: True where the example is in the model's training half.

    Models come in complementary pairs (2k, 2k + 1): model 2k trains on a random half of the groups and
    model 2k + 1 on the rest, so every example is IN for exactly n_models / 2 models. `groups` (one label
    per example; default: every example its own group) keeps identical pairs together: all copies of a
    pair are IN or OUT together for every model, else an OUT model has trained on another copy and the
    CM of exactly the most repeated pairs collapses towards 0. The halves are balanced in examples, not
    groups: groups are dealt largest first to the side with fewer examples, so each model gets
    floor(N/2) or ceil(N/2) examples whenever the group sizes allow it (singletons fill the gap).
    """
    if n_models < 2 or n_models % 2:
        raise ValueError(f"the number of CM models must be even and at least 2, got {n_models}")
    labels = np.arange(n_examples) if groups is None else np.asarray(groups)
    if labels.shape != (n_examples,):
        raise ValueError(f"{labels.size} group labels for {n_examples} examples")
    _, members = np.unique(labels, return_inverse=True)
    sizes = np.bincount(members)
    rng = np.random.default_rng(seed)
    design = np.zeros((n_models, n_examples), dtype=bool)
    for pair in range(n_models // 2):
        # a random order, then largest groups first (stable), each to the lighter side; ties at random
        order = rng.permutation(sizes.size)
        order = order[np.argsort(-sizes[order], kind="stable")]
        side_of_group = np.zeros(sizes.size, dtype=bool)
        load = [0, 0]
        for group, coin in zip(order, rng.integers(0, 2, size=sizes.size)):
            side = int(coin) if load[0] == load[1] else int(load[1] < load[0])
            side_of_group[group] = bool(side)
            load[side] += sizes[group]
        design[2 * pair] = side_of_group[members]
        design[2 * pair + 1] = ~design[2 * pair]
    return design


def duplicate_groups(sources, targets, groups=None) -> np.ndarray:
    """A group label per example for the CM design: identical (source, target) pairs share one, and so do
    pairs the preprocessing put in one group (`groups`, pairs sharing a text on either side). Without `groups`,
    labels count the distinct pairs in order of appearance; with them, a label is the index of its group's first pair."""
    return duplicate_groups_of_keys(pair_keys(sources, targets),
                                    None if groups is None else text_keys(map(str, groups)))


def duplicate_groups_of_keys(pair_key_array: np.ndarray, group_key_array: np.ndarray | None = None) -> np.ndarray:
    """duplicate_groups from digests (memkd.digests) of the pairs and of their preprocessing groups, which a job
    over millions of pairs computes a chunk at a time."""
    pair_codes = codes(pair_key_array)
    if group_key_array is None:
        return pd.factorize(pair_codes)[0]
    # union of the two partitions: connected components of "same pair" or "same preprocessing group"
    return groups_from_codes(pair_codes, codes(group_key_array))


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
