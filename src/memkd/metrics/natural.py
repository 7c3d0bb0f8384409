"""Natural hallucinations: one output produced for many distinct sources, with low estimated quality."""

from __future__ import annotations

from collections import defaultdict


def shared_outputs(sources: list[str], outputs: list[str], min_sources: int = 5) -> list[bool]:
    """Per example: its output was produced for at least `min_sources` distinct sources (the NatHal candidates)."""
    distinct_sources: dict[str, set[str]] = defaultdict(set)
    for source, output in zip(sources, outputs):
        distinct_sources[output.strip()].add(source.strip())
    return [len(distinct_sources[output.strip()]) >= min_sources for output in outputs]


def natural_hallucinations(
    sources: list[str], outputs: list[str], quality: list[float], min_sources: int = 5, threshold: float = 0.85
) -> list[bool]:
    """Per example: its output was produced for at least `min_sources` distinct sources (counted over
    unique (source, output) pairs) and its pair's quality estimate is below `threshold`."""
    if not len(sources) == len(outputs) == len(quality):
        raise ValueError("sources, outputs and quality estimates must have the same length")
    return [shared and q < threshold for shared, q in zip(shared_outputs(sources, outputs, min_sources), quality)]


def unique_pair_units(sources: list[str], outputs: list[str]) -> list[bool]:
    """Per example: True at the first occurrence of each distinct non-empty (source, output) pair. NatHal's rate
    is counted over these units, as in the paper's code: hallucinated unique pairs / unique non-empty pairs, so a
    source repeated in the corpus with the same output counts once."""
    seen: set[tuple[str, str]] = set()
    units = []
    for source, output in zip(sources, outputs):
        key = (source.strip(), output.strip())
        units.append(bool(key[1]) and key not in seen)
        seen.add(key)
    return units
