"""Natural hallucinations: one output produced for many distinct sources, with low estimated quality."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _stripped_codes(texts: list[str]) -> np.ndarray:
    """An integer code per text: equal after stripping, equal code (codes, not sets of strings, at millions of pairs)."""
    return pd.factorize(pd.Series([text.strip() for text in texts], dtype=object))[0]


def _pair_codes(sources: list[str], outputs: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(output code, (source, output) pair code, number of source codes) per example, texts stripped."""
    source_codes, output_codes = _stripped_codes(sources), _stripped_codes(outputs)
    n_sources = int(source_codes.max(initial=-1)) + 1
    return output_codes, output_codes.astype(np.int64) * n_sources + source_codes, n_sources


def shared_outputs(sources: list[str], outputs: list[str], min_sources: int = 5) -> list[bool]:
    """Per example: its output was produced for at least `min_sources` distinct sources (the NatHal candidates)."""
    if not outputs:
        return []
    output_codes, pair_codes, n_sources = _pair_codes(sources, outputs)
    sources_per_output = np.bincount(np.unique(pair_codes) // n_sources, minlength=int(output_codes.max()) + 1)
    return (sources_per_output[output_codes] >= min_sources).tolist()


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
    if not outputs:
        return []
    _, pair_codes, _ = _pair_codes(sources, outputs)
    units = np.zeros(len(outputs), dtype=bool)
    units[np.unique(pair_codes, return_index=True)[1]] = True
    return (units & np.array([bool(output.strip()) for output in outputs])).tolist()
