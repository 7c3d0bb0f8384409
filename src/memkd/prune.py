"""Magnitude pruning of a trained model, then retraining with the pruned weights held at zero.

Global unstructured L1 pruning over the weight matrices of every linear layer (attention projections, feed-forward);
embeddings, the output projection tied to them, biases and layer norms are kept whole. torch's pruning
re-parametrisation (weight = weight_orig * weight_mask) keeps pruned entries at zero through training: their gradient
is masked, so Adam never moves them. `make_permanent` folds the masks into plain weights before saving.
"""

from __future__ import annotations

import torch
from torch.nn.utils import prune


def prunable(model: torch.nn.Module) -> list[tuple[torch.nn.Module, str]]:
    """(module, "weight") of every linear layer except the output projection (tied to the embeddings)."""
    return [(module, "weight") for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")]


def magnitude_prune(model: torch.nn.Module, sparsity: float) -> int:
    """Zero the `sparsity` share of the smallest-magnitude prunable weights, globally; returns how many."""
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    targets = prunable(model)
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    return int(sum((module.weight_mask == 0).sum() for module, _ in targets))


def make_permanent(model: torch.nn.Module) -> None:
    for module, name in prunable(model):
        if prune.is_pruned(module):
            prune.remove(module, name)


def nonzero_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters that are not zero (tied embeddings counted once), pruning masks applied."""
    count = sum(int((p != 0).sum()) for p in {id(p): p for p in model.parameters()}.values())
    for module, _ in prunable(model):  # a pruned layer's parameter is weight_orig; the mask zeroes the rest
        if prune.is_pruned(module):
            count -= int(((module.weight_mask == 0) & (module.weight_orig != 0)).sum())
    return count
