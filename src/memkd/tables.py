"""Helpers shared by the table scripts: per-example flag columns as written by the memorization rules, and the
paired comparison of two models' memorization on the same pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.stats import paired_bootstrap_ratio_change


def flags(column: pd.Series) -> np.ndarray:
    """'1' -> True, '0' -> False; an empty cell (not applicable) -> False. Pair with `defined`."""
    return (column.astype(str) == "1").to_numpy()


def defined(column: pd.Series) -> np.ndarray:
    """Where a flag applies (the cell is not empty)."""
    return (column.astype(str) != "").to_numpy()



def aligned(path: str, table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """`table` unchanged if its `id` column follows `ids` exactly; else stop naming the file."""
    if table["id"].tolist() != ids:
        raise InputError(f"{path}: its {len(table)} rows do not follow the study pairs ({len(ids)}) id by id")
    return table


def geometric_mean_probability(scores: pd.DataFrame) -> pd.Series:
    """Per pair, exp(mean token log-probability) from a score_references table (the teacher confidence of the
    subgroup table and of the Adaptive-SeqKD selection)."""
    return np.exp(scores["log_prob"].astype(float) / scores["tokens"].astype(float))


def ci_label(stats: dict) -> str:
    """How an interval was computed, for the `interval` column of a table."""
    return (f"percentile bootstrap over pairs, {stats['bootstrap_resamples']} resamples, {stats['confidence']:.0%}, "
            f"seed {stats['seed']}")


def change_metrics(qe_method: str) -> dict:
    """Metric -> (definition, function of an examples table giving per-pair numerator and denominator flags)."""
    return {
        "replication": ("exact matches / pairs", lambda e: (flags(e["exact_match"]), np.ones(len(e)))),
        "replication_vs_teacher": ("matches of the teacher's output / pairs",
                                   lambda e: (flags(e["exact_match_teacher"]), np.ones(len(e)))),
        "exmem": ("extractively memorized / filtered exact matches",
                  lambda e: (flags(e["exmem"]), flags(e["exmem_candidate"]))),
        "osc_hal_train": ("oscillatory outputs / evaluated training sources",
                          lambda e: (flags(e["osc_hal"]), defined(e["osc_hal"]))),
        "nat_hal": (f"natural hallucinations / pairs (QE {qe_method})", lambda e: (flags(e["nat_hal"]), np.ones(len(e)))),
    }


def paired_changes(model: pd.DataFrame, reference: pd.DataFrame, stats: dict, qe_method: str) -> list[dict]:
    """Per memorization metric: both models' rates (%) on the same pairs and the relative change of `model` over
    `reference` (%) with its paired percentile-bootstrap interval."""
    if model["id"].tolist() != reference["id"].tolist():
        raise InputError("the two models' examples cover different pairs")
    rows = []
    for name, (definition, parts) in change_metrics(qe_method).items():
        (mn, md), (rn, rd) = parts(model), parts(reference)
        change, low, high = paired_bootstrap_ratio_change(
            mn, md, rn, rd, stats["bootstrap_resamples"], stats["seed"], stats["confidence"]
        )
        pct = lambda n, d: round(100 * n.sum() / d.sum(), 4) if d.sum() else None
        rows.append({
            "metric": name, "definition": definition, "model_pct": pct(mn, md), "reference_pct": pct(rn, rd),
            "relative_change_pct": round(change, 2), "ci_low": round(low, 2), "ci_high": round(high, 2),
        })
    return rows
