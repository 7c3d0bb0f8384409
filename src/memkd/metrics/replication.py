"""Replication (exact match): the greedy translation of a training source equals its target."""

from __future__ import annotations


def exact_matches(outputs: list[str], targets: list[str]) -> list[bool]:
    """Per example: output == target after stripping surrounding whitespace."""
    if len(outputs) != len(targets):
        raise ValueError(f"{len(outputs)} outputs for {len(targets)} targets")
    return [o.strip() == t.strip() for o, t in zip(outputs, targets)]
