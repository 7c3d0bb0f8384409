"""Natural hallucinations: one output produced for many distinct sources, with low estimated quality.

The counts run on integer codes (equal code: equal text after stripping), so that a study of millions of pairs
never holds a set of strings: memkd.digests turns texts into fixed-size digests a chunk at a time and numbers the
digests of the whole study, and the flags below work on those arrays. The list functions take texts."""

from __future__ import annotations

import numpy as np

from memkd.digests import codes, text_keys


def _pair_codes(source_codes: np.ndarray, output_codes: np.ndarray) -> tuple[np.ndarray, int]:
    """A code per (source, output) pair, and the number of source codes."""
    n_sources = int(source_codes.max(initial=-1)) + 1
    return output_codes.astype(np.int64) * n_sources + source_codes, n_sources


def shared_output_flags(source_codes: np.ndarray, output_codes: np.ndarray, min_sources: int = 5) -> np.ndarray:
    """Per example: its output was produced for at least `min_sources` distinct sources (the NatHal candidates)."""
    if not len(output_codes):
        return np.zeros(0, dtype=bool)
    pair_codes, n_sources = _pair_codes(source_codes, output_codes)
    sources_per_output = np.bincount(np.unique(pair_codes) // n_sources, minlength=int(output_codes.max()) + 1)
    return sources_per_output[output_codes] >= min_sources


def first_pair_flags(source_codes: np.ndarray, output_codes: np.ndarray) -> np.ndarray:
    """Per example: True at the first occurrence of its (source, output) pair."""
    first = np.zeros(len(output_codes), dtype=bool)
    if len(output_codes):
        first[np.unique(_pair_codes(source_codes, output_codes)[0], return_index=True)[1]] = True
    return first


def _text_codes(sources: list[str], outputs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return codes(text_keys(sources, strip=True)), codes(text_keys(outputs, strip=True))


def shared_outputs(sources: list[str], outputs: list[str], min_sources: int = 5) -> list[bool]:
    """Per example: its output was produced for at least `min_sources` distinct sources (the NatHal candidates)."""
    return shared_output_flags(*_text_codes(sources, outputs), min_sources).tolist()


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
    first = first_pair_flags(*_text_codes(sources, outputs))
    return (first & np.array([bool(output.strip()) for output in outputs], dtype=bool)).tolist()
