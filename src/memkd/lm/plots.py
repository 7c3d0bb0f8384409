"""Figures of the LM track: pure functions from its tables to matplotlib figures, captioned like the NMT track's.
With several seeds bars show the pooled value and its interval, dots the seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memkd.lm.analysis import POOLED
from memkd.plots import add_caption, plt

COLORS = {"teacher": "#4c72b0", "baseline": "#dd8452", "soft": "#55a868", "hard": "#8172b3",
          "soft_removed": "#a6d8b0", "hard_removed": "#c1b8e0"}
LABELS = {"teacher": "teacher (T)", "baseline": "baseline (B)", "soft": "soft KD student", "hard": "hard KD student",
          "soft_removed": "soft, flagged removed", "hard_removed": "hard, flagged removed"}


def _split_seeds(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    pooled = frame[frame["seed"].astype(str) == POOLED]
    seeds = frame[frame["seed"].astype(str) != POOLED]
    return (pooled if not pooled.empty else seeds), seeds


def _bars(ax, labels, values, lows, highs, colors, dots=None):
    x = np.arange(len(labels))
    values, lows, highs = map(np.asarray, (values, lows, highs))
    ax.bar(x, values, color=colors)
    ax.errorbar(x, values, yerr=[np.maximum(values - lows, 0), np.maximum(highs - values, 0)], fmt="none",
                ecolor="black", capsize=3, linewidth=1)
    for i, points in enumerate(dots or []):
        ax.plot(np.full(len(points), x[i]), points, "o", color="black", markersize=3, alpha=0.6)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)


def rates(memorization: pd.DataFrame, settings: dict) -> plt.Figure:
    """Extraction rate per model on the fine-tuning set (and the held-out floor)."""
    head, seeds = _split_seeds(memorization)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    for ax, split in zip(axes, ("finetune", "heldout")):
        rows = head[head["split"] == split]
        dots = [seeds[(seeds.role == r) & (seeds.split == split)].rate_pct.tolist() for r in rows.role] \
            if seeds.seed.nunique() > 1 else None
        _bars(ax, [LABELS.get(r, r) for r in rows.role], rows.rate_pct, rows.low, rows.high,
              [COLORS.get(r, "#999999") for r in rows.role], dots)
        ax.set_ylim(0, max(1.0, float(np.nanmax(rows.high)) if len(rows) else 1.0) * 1.1)
        ax.set_ylabel("extractable memorization (%)", fontsize=8)
        ax.set_title({"finetune": "fine-tuning examples", "heldout": "held-out examples (never trained on)"}[split],
                     fontsize=9)
    figure.tight_layout()
    add_caption(figure, f"Greedy continuation of the first {settings['prefix_tokens']} tokens equals the next "
                f"{settings['suffix_tokens']} tokens exactly. Bars: rate (pooled over seeds when several), whiskers: "
                f"{settings['confidence']:.0%} bootstrap interval, dots: seeds.")
    return figure


def inheritance(table: pd.DataFrame, settings: dict) -> plt.Figure:
    """Where each student's memorized examples lie: easy (T and B), inherited (T not B), student-only (not T)."""
    head, _ = _split_seeds(table)
    figure, ax = plt.subplots(figsize=(5.5, 3.8))
    students = head["student"].tolist()
    parts = {"easy (T and B)": head["student_easy"].to_numpy(dtype=float),
             "inherited (T, not B)": head["inherited"].to_numpy(dtype=float),
             "student only (not T)": head["student_only"].to_numpy(dtype=float)}
    bottom = np.zeros(len(students))
    for (label, values), color in zip(parts.items(), ("#4c72b0", "#c44e52", "#8c8c8c")):
        ax.bar(students, values, bottom=bottom, label=label, color=color)
        bottom += values
    for i, row in enumerate(head.itertuples()):
        label = ("no memorized example" if np.isnan(row.easy_share_pct) else
                 f"easy share {row.easy_share_pct:.0f}%\n[{row.low:.0f}, {row.high:.0f}]")
        ax.text(i, bottom[i], label, ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("memorized fine-tuning examples", fontsize=8)
    ax.set_ylim(0, max(1.0, bottom.max()) * 1.3)
    ax.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    add_caption(figure, "Inheritance sets per student kind (counts; mean over seeds when several). The paper: ~95% "
                "of student memorization is easy; hard KD inherits 2.7x more teacher-specific examples than soft.",
                width=80)
    return figure


def predictor_roc(roc: pd.DataFrame, predictor: pd.DataFrame) -> plt.Figure:
    """Out-of-fold ROC of the memorization predictor per student kind, one curve per seed."""
    figure, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=0.8, label="chance")
    for student in ("soft", "hard"):
        rows = predictor[(predictor.student == student) & (predictor.seed.astype(str) != POOLED)]
        curves = roc[roc.student == student] if not roc.empty else roc
        with_auc = rows[rows.auc.notna()]
        if with_auc.empty or curves.empty:
            ax.plot([], [], color=COLORS[student], label=f"{LABELS[student]}: no AUC")
            continue
        label = (f"{LABELS[student]}: AUC {with_auc.auc.iloc[0]:.3f} [{with_auc.auc_low.iloc[0]:.3f}, "
                 f"{with_auc.auc_high.iloc[0]:.3f}]") if len(with_auc) == 1 else \
            f"{LABELS[student]}: AUC {with_auc.auc.mean():.3f} +- {with_auc.auc.std():.3f} over {len(with_auc)} seeds"
        for j, (_, curve) in enumerate(curves.groupby(curves.seed.astype(str))):
            ax.plot(curve.fpr, curve.tpr, color=COLORS[student], label=label if j == 0 else None)
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(fontsize=6.5, loc="lower right", frameon=False)
    figure.tight_layout()
    add_caption(figure, "Which fine-tuning examples does each student memorize? Logistic regression on "
                + str(predictor.features.iloc[0]) + "; out-of-fold predictions. Paper: AUC 0.9997.", width=60)
    return figure


def removal(table: pd.DataFrame) -> plt.Figure:
    """Memorized examples before and after removing the flagged ones from the distillation data."""
    head, _ = _split_seeds(table)
    figure, ax = plt.subplots(figsize=(5, 3.8))
    x = np.arange(len(head))
    ax.bar(x - 0.2, head.memorized_before, width=0.4, label="trained on all", color="#55a868")
    ax.bar(x + 0.2, head.memorized_after, width=0.4, label="flagged removed", color="#c44e52")
    for i, row in enumerate(head.itertuples()):
        label = ("none memorized before" if np.isnan(row.change_pct) else
                 f"{row.change_pct:+.0f}%\n[{row.low:+.0f}, {row.high:+.0f}]")
        ax.text(i, max(row.memorized_before, row.memorized_after), label, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, head.student)
    ax.set_ylabel("memorized fine-tuning examples", fontsize=8)
    ax.set_ylim(0, max(1.0, float(head[["memorized_before", "memorized_after"]].to_numpy().max())) * 1.35)
    ax.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    add_caption(figure, "The removal experiment: the predictor's flagged examples are dropped before distillation "
                "and the student retrained; memorization counted on all fine-tuning examples. Paper: 1,698 -> 4.",
                width=80)
    return figure
