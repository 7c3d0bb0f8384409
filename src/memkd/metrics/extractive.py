"""Extractive memorization (Dankers & Raunak): an exact match the model completes from a short prefix.

Candidates are exact matches whose source has at least `min_tokens` whitespace tokens, whose word
counts differ by at most `max_ratio` in both directions, whose source differs from the target, and
whose two sides were identified as the right languages. A candidate is extractively memorized when
some prefix of at most `max_prefix_fraction` of the source (1..n-2 tokens are translated) already
yields the model's full translation.
"""

from __future__ import annotations


def is_candidate(
    source: str, target: str, languages_ok: bool, min_tokens: int = 4, max_ratio: float = 1.3
) -> bool:
    n_source, n_target = len(source.split()), len(target.split())
    if n_source < min_tokens or n_target == 0 or source.strip() == target.strip() or not languages_ok:
        return False
    return n_source / n_target <= max_ratio and n_target / n_source <= max_ratio


def prefixes(source: str) -> list[str]:
    """Prefixes of 1..n-2 whitespace tokens (what the model is asked to translate)."""
    tokens = source.split()
    return [" ".join(tokens[:k]) for k in range(1, len(tokens) - 1)]


def shortest_memorized_prefix(
    source: str, full_output: str, prefix_outputs: list[str], max_prefix_fraction: float = 0.75
) -> int | None:
    """Token length of the shortest prefix (at most max_prefix_fraction of the source) whose
    translation equals the full translation; None when there is none."""
    n = len(source.split())
    if len(prefix_outputs) != max(n - 2, 0):
        raise ValueError(f"expected {max(n - 2, 0)} prefix outputs for a source of {n} tokens, got {len(prefix_outputs)}")
    for k, output in enumerate(prefix_outputs, start=1):
        if k / n > max_prefix_fraction:
            break
        if output.strip() == full_output.strip():
            return k
    return None
