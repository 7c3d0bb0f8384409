"""The LM track's summary: each of the paper's four findings beside this run's number, with a verdict
(reproduced / contradicted / inconclusive) decided by the interval, never by the point alone."""

from __future__ import annotations

import math

import pandas as pd

from memkd.lm.analysis import POOLED

PAPER = {
    "rate": "students memorize >50% less than the fine-tuned baseline (soft 0.07%, hard ~0.07%, baseline 0.17%)",
    "easy": "~95% of student memorization falls on examples both T and B memorize",
    "soft_hard": "hard KD inherits 2.7x more teacher-specific examples than soft KD (50 vs 18)",
    "predictor": "AUC 0.9997; removing flagged examples: 1,698 -> 4 memorized (-99.8%)",
}


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a verdict rests on: 'pooled' with several seeds, else the one seed's rows."""
    if frame.empty:
        return frame
    pooled = frame[frame["seed"].astype(str) == POOLED]
    return pooled if not pooled.empty else frame


def verdict_rate(low: float, high: float) -> str:
    """Paper: change below -50%. Reproduced when the whole interval lies below -50%, contradicted when it lies
    above -50%, inconclusive when it straddles -50%."""
    if any(map(math.isnan, (low, high))):
        return "inconclusive"
    return "reproduced" if high < -50 else "contradicted" if low > -50 else "inconclusive"


def verdict_easy(low: float, high: float) -> str:
    """Paper: ~95%. Reproduced when the interval lies above 50% (most student memorization is easy), contradicted
    when below 50%."""
    if any(map(math.isnan, (low, high))):
        return "inconclusive"
    return "reproduced" if low > 50 else "contradicted" if high < 50 else "inconclusive"


def verdict_ratio(low: float, high: float) -> str:
    """Paper: hard/soft 2.7 (> 1). Reproduced when the interval lies above 1, contradicted when below 1."""
    if any(map(math.isnan, (low, high))):
        return "inconclusive"
    return "reproduced" if low > 1 else "contradicted" if high < 1 else "inconclusive"


def verdict_predictor(auc_low: float, auc_high: float, removal_low: float, removal_high: float) -> str:
    """Paper: near-perfect AUC and removal of nearly all memorization. Reproduced when the AUC interval lies above
    0.9 and the removal change interval below -50%; contradicted when the AUC interval lies below 0.9 or the removal
    interval above -50%."""
    if any(map(math.isnan, (auc_low, auc_high, removal_low, removal_high))):
        return "inconclusive"
    if auc_low > 0.9 and removal_high < -50:
        return "reproduced"
    return "contradicted" if auc_high < 0.9 or removal_low > -50 else "inconclusive"


def _interval(row, point="change_pct", low="low", high="high", unit="%") -> str:
    return f"{row[point]:+.1f}{unit} [{row[low]:+.1f}, {row[high]:+.1f}]"


def render(settings: dict, memorization: pd.DataFrame, change: pd.DataFrame, inheritance: pd.DataFrame,
           soft_hard: pd.DataFrame, predictor: pd.DataFrame, removal: pd.DataFrame) -> str:
    seeds = sorted({str(s) for s in memorization["seed"] if str(s) != POOLED})
    lines = ["# LM track: memorization in soft and hard distillation (after Borkar et al., arXiv 2601.15394)", "",
             f"Seeds: {', '.join(seeds)}. Extraction: greedy continuation of the first {settings['prefix_tokens']} "
             f"tokens, memorized when the next {settings['suffix_tokens']} equal the true suffix. Intervals: "
             f"{settings['confidence']:.0%}" + (", pooled over seeds (two-level bootstrap)." if len(seeds) > 1 else
                                              "; one seed: the intervals cover the examples, not training "
                                              "randomness, so each verdict is an anecdote of one run."), ""]
    rates = headline(memorization)
    lines += ["## Extraction rates (fine-tuning set; held-out set as a floor)", "",
              "| model | split | memorized | rate % [interval] |", "|---|---|---|---|"]
    for _, r in rates.iterrows():
        lines.append(f"| {r.role} | {r.split} | {r.memorized:g} / {r.examples} | "
                     f"{r.rate_pct:.2f} [{r.low:.2f}, {r.high:.2f}] |")
    lines += ["", "## The paper's findings", "", "| finding | paper | this run | verdict |", "|---|---|---|---|"]
    for _, r in headline(change).iterrows():
        lines.append(f"| {r.student} student vs baseline rate | {PAPER['rate']} | {_interval(r)} "
                     f"({r['count']:g} vs {r.reference_count:g}) | {verdict_rate(r.low, r.high)} |")
    for _, r in headline(inheritance).iterrows():
        lines.append(f"| {r.student} student memorization inside T and B | {PAPER['easy']} | "
                     f"{r.easy_share_pct:.1f}% [{r.low:.1f}, {r.high:.1f}] ({r.student_easy:g} of "
                     f"{r.student_memorized:g}) | {verdict_easy(r.low, r.high)} |")
    for _, r in headline(soft_hard).iterrows():
        lines.append(f"| teacher-specific inheritance, hard vs soft | {PAPER['soft_hard']} | "
                     f"{r.hard_inherited:g} vs {r.soft_inherited:g}: ratio {r.ratio:.2f} [{r.ratio_low:.2f}, "
                     f"{r.ratio_high:.2f}] | {verdict_ratio(r.ratio_low, r.ratio_high)} |")
    pred = headline(predictor)
    rem = headline(removal)
    for _, r in pred.iterrows():
        removed = rem[rem["student"] == r.student] if not rem.empty else rem
        if removed.empty:
            text, rem_low, rem_high = "no removal run", float("nan"), float("nan")
        else:
            m = removed.iloc[0]
            text = (f"removal {m.memorized_before:g} -> {m.memorized_after:g} ({m.flagged:g} flagged): "
                    f"{_interval(m)}")
            rem_low, rem_high = m.low, m.high
        auc = "no AUC: " + str(r.reason) if pd.isna(r.auc) else f"AUC {r.auc:.3f} [{r.auc_low:.3f}, {r.auc_high:.3f}]"
        lines.append(f"| predictor and removal, {r.student} student | {PAPER['predictor']} | {auc}; {text} | "
                     f"{verdict_predictor(r.auc_low, r.auc_high, rem_low, rem_high)} |")
    lines += ["", "Verdict rules: student vs baseline reproduced when the change interval lies below -50% "
              "(contradicted above -50%); easy share reproduced when its interval lies above 50% (contradicted "
              "below); hard/soft ratio reproduced when its interval lies above 1 (contradicted below 1); predictor "
              "reproduced when the AUC interval lies above 0.9 and the removal change interval below -50% "
              "(contradicted when the AUC interval lies below 0.9 or the removal interval above -50%). "
              "Anything else is inconclusive.", ""]
    return "\n".join(lines)
