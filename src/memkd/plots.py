"""Figures of the study: pure functions from the tidy tables to matplotlib figures. Each figure carries a caption
(the settings behind its numbers) at its foot, so a PNG taken out of context still says what produced it."""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (cluster nodes have no display)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from memkd.errors import InputError  # noqa: E402
from memkd.io import atomic_path  # noqa: E402
from memkd.metrics.subgroups import bucket_labels, resolve_edges, value_buckets  # noqa: E402
from memkd.stats import mean_sd  # noqa: E402
from memkd.tables import POOLED  # noqa: E402

ROLES = ("teacher", "baseline", "student")
ROLE_COLORS = {"teacher": "#4c72b0", "baseline": "#dd8452", "student": "#55a868"}
ROLE_LABELS = {"teacher": "teacher (T)", "baseline": "baseline (B)", "student": "SeqKD student (S)"}
# nine distinct colours: the default has nine variants (a repeated colour would make two legend entries alike)
VARIANT_COLORS = ["#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd", "#c44e52", "#3d3d3d", "#6b8e23"]


def roles_in(frame: pd.DataFrame) -> list[str]:
    """T, B, S first, then the distillation variants by name: the same order (and so the same colour per model) in
    every panel, whatever order a table lists its rows in."""
    present = set(frame["role"])
    return [r for r in ROLES if r in present] + sorted(present - set(ROLES))


def role_color(role: str, roles: list[str]) -> str:
    if role in ROLE_COLORS:
        return ROLE_COLORS[role]
    variants = [r for r in roles if r not in ROLE_COLORS]
    return VARIANT_COLORS[variants.index(role) % len(VARIANT_COLORS)]
METRIC_LABELS = {
    "replication": "replication vs corpus",
    "replication_vs_teacher": "replication vs teacher",
    "exmem": "extractive memorization",
    "osc_hal_train": "oscillatory hallucination",
    "nat_hal": "natural hallucination",
}


def add_caption(figure: plt.Figure, caption: str, width: int = 110) -> None:
    """Wrap `caption` under the axes; the figure grows to fit it."""
    text = "\n".join(textwrap.fill(part, width) for part in caption.split("\n"))
    lines = text.count("\n") + 1
    height = figure.get_figheight()
    extra = 0.17 * lines + 0.2
    figure.set_figheight(height + extra)
    figure.subplots_adjust(bottom=(extra + 0.45) / (height + extra))
    figure.text(0.01, 0.01, text, ha="left", va="bottom", fontsize=7, family="sans-serif")


def settings_text(frame: pd.DataFrame, columns: dict[str, str]) -> str:
    """'label: value' for each settings column, the distinct values joined (they should agree)."""
    parts = []
    for column, label in columns.items():
        if column in frame:
            values = sorted({str(v) for v in frame[column].dropna()})
            if values:
                parts.append(f"{label}: {' | '.join(values)}")
    return "; ".join(parts)


def seed_split(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """(per-seed rows, rows pooled over seeds or None, the seeds); `keys` name a row apart from its seed. A table
    with several seeds but no pooled rows (e.g. test quality) is pooled here: numbers become their mean over seeds,
    with no interval (one seed's interval is not an interval over seeds)."""
    if "seed" not in frame:
        return frame, None, []
    is_pooled = frame["seed"].astype(str) == POOLED
    per_seed = frame[~is_pooled]
    seeds = sorted(set(per_seed["seed"].astype(str)), key=lambda s: (len(s), s))
    if is_pooled.any():
        return per_seed, frame[is_pooled], seeds
    if len(seeds) < 2:
        return per_seed, None, seeds
    others = [c for c in per_seed.columns if c not in keys and c != "seed"
              and not c.endswith(("_ci_low", "_ci_high")) and c not in ("ci_low", "ci_high")]
    how = {c: "mean" if pd.api.types.is_numeric_dtype(per_seed[c]) else "first" for c in others}
    pooled = per_seed.groupby(keys, sort=False).agg(how).reset_index() if how else per_seed[keys].drop_duplicates()
    return per_seed, pooled.assign(seed=POOLED), seeds


def seeds_caption(seeds: list, marks: str = "bars") -> str:
    """What the bars (or markers) and dots of a figure are, given its seeds."""
    if len(seeds) < 2:
        return f"seed {', '.join(seeds)} (one seed: an anecdote)" if seeds else ""
    if marks == "markers":
        return (f"seeds {', '.join(seeds)}: filled markers are the change of the rates pooled over seeds with its "
                "two-level bootstrap interval (seeds, then pairs within each); hollow markers are single seeds")
    return (f"seeds {', '.join(seeds)}: bars are means over seeds, with the two-level bootstrap interval (seeds, then "
            "pairs within each) of the pooled rate where the table has one; dots are single seeds")


def grouped_bars(ax, frame: pd.DataFrame, value: str, low: str | None = None, high: str | None = None,
                 groups: str = "direction") -> None:
    """Bars of `value` per group (x) and model role (colour), with interval whiskers when given. With several
    seeds the bar is the pooled value (mean over seeds) and its interval, a dot per seed beside it."""
    per_seed, pooled, seeds = seed_split(frame, [groups, "role"])
    shown = per_seed if pooled is None else pooled
    names = sorted(frame[groups].unique())
    roles = roles_in(frame)
    width = 0.8 / len(roles)
    for k, role in enumerate(roles):
        rows = shown[shown.role == role].set_index(groups).reindex(names)
        heights = rows[value].astype(float).to_numpy()
        x = np.arange(len(names)) + (k - (len(roles) - 1) / 2) * width
        yerr = None
        if low and high and low in rows and high in rows:
            lower = np.clip(heights - rows[low].astype(float).to_numpy(), 0, None)
            upper = np.clip(rows[high].astype(float).to_numpy() - heights, 0, None)
            yerr = np.nan_to_num(np.vstack([lower, upper]))
        ax.bar(x, np.nan_to_num(heights), width, yerr=yerr, capsize=2, color=role_color(role, roles),
               label=ROLE_LABELS.get(role, role), error_kw={"elinewidth": 0.8})
        if len(seeds) > 1:  # each seed's value as a dot on its bar, spread a little so equal values stay visible
            for j, seed in enumerate(seeds):
                one = per_seed[(per_seed.role == role) & (per_seed["seed"].astype(str) == seed)]
                values = one.set_index(groups).reindex(names)[value].astype(float).to_numpy()
                offset = (j - (len(seeds) - 1) / 2) * width * 0.5 / len(seeds)
                ax.scatter(x + offset, values, s=7, color="black", zorder=3,
                           label="single seeds" if k == 0 and j == 0 else None)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    values = frame[value].astype(float)
    if values.isna().all() or (values.fillna(0) == 0).all():  # say why a panel has no bars instead of leaving it blank
        why = "not defined for any model (no candidates)" if values.isna().all() else "0 for every model"
        ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="grey")


def variant_roles(frame: pd.DataFrame) -> list[str]:
    """The distillation variants of a table: every role that is not T, B or S."""
    return [role for role in roles_in(frame) if role not in ROLES]


def model_comparison(quality: pd.DataFrame, memorization: pd.DataFrame, hallucination: pd.DataFrame,
                     decoding: str = "greedy", variants: bool = False) -> plt.Figure:
    """T, B and S per direction (`variants`: B, S and every distillation variant): test BLEU and chrF, then the
    memorization and hallucination rates of the training-source translations (corpus references), with bootstrap
    intervals; with several seeds, the pooled values and a dot per seed."""
    if variants:
        extra = variant_roles(memorization)
        if not extra:
            raise InputError("the memorization table has no distillation variant (only teacher, baseline, student)")
        roles = ["baseline", "student", *extra]
    else:
        roles = list(ROLES)
    quality, memorization, hallucination = (frame[frame.role.isin(roles)] for frame in (quality, memorization,
                                                                                          hallucination))
    test = quality[(quality.decoding == decoding)]
    corpus_rows = memorization[memorization.against == "corpus"]
    train_rows = hallucination[hallucination.inputs == "study_train"]
    panels = [
        (test, "bleu", None, None, f"test BLEU ({decoding})"),
        (test, "chrf", None, None, f"test chrF ({decoding})"),
        (corpus_rows, "replication_pct", "replication_ci_low", "replication_ci_high", "replication (% of pairs)"),
        (corpus_rows, "exmem_pct", "exmem_ci_low", "exmem_ci_high", "ExMem (% of filtered matches)"),
        (train_rows, "osc_hal_pct", "osc_hal_ci_low", "osc_hal_ci_high", "OscHal (% of training sources)"),
        (train_rows, "nat_hal_pct", "nat_hal_ci_low", "nat_hal_ci_high", "NatHal (% of pairs)"),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(10, 5.6))
    for ax, (frame, value, low, high, title) in zip(axes.flat, panels):
        grouped_bars(ax, frame, value, low, high)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.94 - 0.035 * (math.ceil(len(labels) / 6) - 1)))
    _, pooled, seeds = seed_split(corpus_rows, ["direction", "role"])
    caption = "; ".join(filter(None, [
        f"Corpus {', '.join(sorted(set(memorization.corpus)))}, {seeds_caption(seeds)}",
        settings_text(test, {"bleu_signature": "BLEU", "chrf_signature": "chrF", "decoding_signature": "test decoding"}),
        settings_text(corpus_rows, {"decoding": "training-source decoding", "language_id": "language ID"}),
        settings_text(corpus_rows if pooled is None else pooled, {"interval": "intervals"}),
        settings_text(train_rows, {"qe_method": "QE", "nat_hal_rule": "NatHal rule"}),
    ]))
    add_caption(figure, caption)
    return figure


def interval_points(ax, rows: pd.DataFrame, y: np.ndarray, point: str = "relative_change_pct", **style):
    """Relative changes (column `point`) at heights `y` with their interval (`ci_low`, `ci_high`) as horizontal
    bars; undefined changes (NaN) are left out, an interval without an upper bound (inf: the reference rate can be
    0 at these counts) ends in an arrow at the right edge. Returns the errorbar container and the shown mask."""
    value = rows[point].astype(float).to_numpy()
    low, high = rows.ci_low.astype(float).to_numpy(), rows.ci_high.astype(float).to_numpy()
    shown = np.isfinite(value)
    unbounded = shown & np.isposinf(high)
    finite = np.concatenate([value[shown], low[np.isfinite(low)], high[np.isfinite(high)], [0.0]])
    edge = finite.max() + 0.25 * (finite.max() - finite.min() + 1.0)  # where an unbounded interval is cut off
    high = np.where(unbounded, edge, high)
    xerr = np.nan_to_num(np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)]))
    bars = ax.errorbar(value[shown], y[shown], xerr=xerr[:, shown], capsize=3, **style)
    if unbounded.any():
        ax.scatter(high[unbounded], y[unbounded], marker=">", s=18, color=bars[0].get_color(), zorder=3)
    return bars, shown


def relative_change(changes: pd.DataFrame) -> plt.Figure:
    """The paper's headline comparison: relative change (%) of the student over the baseline per metric and
    direction with paired bootstrap intervals, the paper's mean over five WMT20 directions beside them. With several
    seeds: the mean over seeds with its two-level interval, and each seed's change as a hollow marker."""
    metrics = [m for m in METRIC_LABELS if m in set(changes.metric)]
    directions = sorted(changes.direction.unique())
    per_seed, pooled, seeds = seed_split(changes, ["direction", "metric"])
    shown_rows = per_seed if pooled is None else pooled
    figure, ax = plt.subplots(figsize=(7.5, 0.7 + 0.55 * len(metrics) * max(1, len(directions)) ** 0.5))
    step = 0.6 / max(1, len(directions))
    markers = "osD^v"
    undefined = []
    for k, direction in enumerate(directions):
        rows = shown_rows[shown_rows.direction == direction].set_index("metric").reindex(metrics)
        y = np.arange(len(metrics)) + (k - (len(directions) - 1) / 2) * step
        label = f"{direction} (this study)" if len(seeds) < 2 else f"{direction} (this study, {len(seeds)} seeds pooled)"
        # with pooled rows: the change of the rates pooled over seeds, the point its interval belongs to
        point = "pooled_change_pct" if pooled is not None and "pooled_change_pct" in rows else "relative_change_pct"
        bars, shown = interval_points(ax, rows, y, point, fmt=markers[k % len(markers)], label=label)
        color = bars[0].get_color()
        undefined += [f"{METRIC_LABELS[m]} ({direction})" for m, ok in zip(metrics, shown) if not ok]
        for row in y[~shown]:  # mark an undefined change where its point would be
            ax.text(0.01, row, f"{direction}: undefined (baseline 0)", va="center", fontsize=6,
                    color=color, transform=ax.get_yaxis_transform())
        if len(seeds) > 1:
            for j, seed in enumerate(seeds):
                one = per_seed[(per_seed.direction == direction) & (per_seed["seed"].astype(str) == seed)]
                values = one.set_index("metric").reindex(metrics).relative_change_pct.astype(float).to_numpy()
                ax.scatter(values, y + 0.06, s=14, marker=markers[k % len(markers)], facecolors="none",
                           edgecolors=color, linewidths=0.8, zorder=2,
                           label=f"{direction}, single seeds" if j == 0 else None)
    paper = changes.groupby("metric").paper_relative_change_pct.first().reindex(metrics).astype(float)
    ax.scatter(paper.to_numpy(), np.arange(len(metrics)), marker="x", color="black", zorder=3,
               label="paper, mean of 5 WMT20 directions")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(np.arange(len(metrics)), [METRIC_LABELS[m] for m in metrics], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("relative change student vs baseline (%)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    figure.tight_layout()
    caption = "; ".join(filter(None, [seeds_caption(seeds, "markers"),
                                      settings_text(shown_rows, {"interval": "intervals", "definition": "rates"})]))
    if undefined:
        caption += "\nNot shown (baseline rate 0, change undefined): " + ", ".join(undefined) + "."
    add_caption(figure, caption)
    return figure


def adaptive_seqkd(table: pd.DataFrame) -> plt.Figure:
    """Adaptive-SeqKD students (high-quality arm and its random control) against the SeqKD student: relative
    change of each memorization metric with paired intervals (left, the paper's numbers as crosses) and the test
    BLEU difference per decoding (right)."""
    per_seed_table, _, seeds = seed_split(table, ["model", "arm", "direction", "metric"])
    per_seed, pooled, _ = seed_split(table[table.metric.isin(list(METRIC_LABELS))], ["model", "arm", "direction",
                                                                                      "metric"])
    changes = per_seed if pooled is None else pooled
    point = "pooled_change_pct" if "pooled_change_pct" in changes else "relative_change_pct"
    bleu = per_seed_table[per_seed_table.metric.str.startswith("bleu_")]
    metrics = [m for m in METRIC_LABELS if m in set(changes.metric)]
    series = sorted({(arm, model, direction) for arm, model, direction in
                     zip(changes.arm, changes.model, changes.direction)}, key=lambda s: (s[0] != "quality", s))
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 0.9 + 0.6 * len(metrics) * max(1, len(series)) ** 0.5),
                                         gridspec_kw={"width_ratios": [2.2, 1]})
    step = 0.7 / max(1, len(series))
    colors = {"quality": "tab:green", "random": "tab:grey"}
    markers = "osD^v<>"
    undefined = []
    for k, (arm, model, direction) in enumerate(series):
        rows = changes[(changes.arm == arm) & (changes.model == model) & (changes.direction == direction)]
        rows = rows.groupby("metric").first().reindex(metrics)
        y = np.arange(len(metrics)) + (k - (len(series) - 1) / 2) * step
        _, shown = interval_points(left, rows, y, point, fmt=markers[(k // 2) % len(markers)],
                                   color=colors.get(arm, "tab:blue"), alpha=1.0 if k % 2 == 0 else 0.6,
                                   label=f"{model} ({arm} arm), {direction}")
        undefined += [f"{METRIC_LABELS[m]} ({model}, {direction})" for m, ok in zip(metrics, shown) if not ok]
        for j, seed in enumerate(seeds if len(seeds) > 1 else []):  # each seed's change, hollow
            one = per_seed[(per_seed.arm == arm) & (per_seed.model == model) & (per_seed.direction == direction)
                           & (per_seed["seed"].astype(str) == seed)]
            values = one.set_index("metric").reindex(metrics).relative_change_pct.astype(float).to_numpy()
            left.scatter(values, y + 0.05, s=12, marker=markers[(k // 2) % len(markers)], facecolors="none",
                         edgecolors=colors.get(arm, "tab:blue"), linewidths=0.7, zorder=2,
                         label="single seeds" if k == 0 and j == 0 else None)
    for arm, marker in (("quality", "x"), ("random", "+")):
        paper = changes[changes.arm == arm].groupby("metric").paper.first().reindex(metrics).astype(float)
        if paper.notna().any():
            left.scatter(paper.to_numpy(), np.arange(len(metrics)), marker=marker, color="black", s=50, zorder=3,
                         label=f"paper, {arm} arm")
    left.axvline(0, color="grey", linewidth=0.8)
    left.set_yticks(np.arange(len(metrics)), [METRIC_LABELS[m] for m in metrics], fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("relative change vs the SeqKD student (%)", fontsize=9)
    names = [f"{arm}\n{direction}" for arm, _, direction in series]
    decodings = sorted(bleu.metric.unique(), key=lambda m: (m != "bleu_greedy", m))
    width = 0.8 / max(1, len(decodings))
    hatches = ["", "//", "..", "xx"]  # one per decoding; colour is the arm
    for j, metric in enumerate(decodings):
        values = [bleu[(bleu.model == model) & (bleu.direction == direction) & (bleu.metric == metric)]
                  .difference.astype(float).mean() for _, model, direction in series]
        x = np.arange(len(series)) + (j - (len(decodings) - 1) / 2) * width
        right.bar(x, values, width=width, color=[colors.get(arm, "tab:blue") for arm, _, _ in series],
                  hatch=hatches[j % len(hatches)], edgecolor="black", linewidth=0.5)
    right.axhline(0, color="grey", linewidth=0.8)
    right.set_xticks(np.arange(len(series)), names, fontsize=7)
    right.set_ylabel("test BLEU minus the SeqKD student's", fontsize=8)
    right.set_title("BLEU difference (points)", fontsize=9)
    legend = [Patch(facecolor="white", edgecolor="black", hatch=hatches[j % len(hatches)],
                    label=metric.removeprefix("bleu_")) for j, metric in enumerate(decodings)]
    right.legend(handles=legend, fontsize=7, title="decoding", title_fontsize=7)
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=3, fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.97 - 0.035 * math.ceil(len(labels) / 3)))
    sizes = per_seed.groupby(["model", "direction"]).fine_tuning_pairs.agg(["min", "max"])
    pairs = ", ".join(f"{model} {direction}: {low if low == high else f'{low}-{high}'}"
                      for (model, direction), (low, high) in sizes.astype(int).iterrows())
    caption = (f"Teacher fine-tuning pairs ({pairs}); "
               + "; ".join(filter(None, [settings_text(changes, {"selection": "selection", "interval": "intervals"}),
                                         seeds_caption(seeds, "markers") if len(seeds) > 1 else ""])))
    if undefined:
        caption += "\nNot shown (SeqKD student rate 0, change undefined): " + ", ".join(undefined) + "."
    add_caption(figure, caption)
    return figure


# The columns of the per-pair counterfactual table that memorization_map reads (a table of 2M pairs takes 455 MB
# with these, 820 MB whole)
MAP_COLUMNS = ["direction", "seed", "id", "p_in", "p_out", "cm", "score", "qe", "qe_method", "cm_models"]


# Above this many pairs in a panel the map is a density: a million dots, drawn over each other, show only their
# outline (and where the last colour landed), while hexagons coloured by count show where the pairs are.
MAP_SCATTER_MAX = 20_000


def memorization_map(counterfactual: pd.DataFrame, qe_edges, scatter_max: int = MAP_SCATTER_MAX) -> plt.Figure:
    """Per training pair, mean probability of its reference under the models that trained on it (IN) against
    those that did not (OUT); distance above the diagonal is counterfactual memorization. Colour: QE bucket
    (qe_edges: numbers, or "quantiles": quintiles of the pairs' QE, the subgroup table's edges). A panel of more
    than `scatter_max` pairs is drawn as hexagons coloured by log count instead (the paper-scale study)."""
    qe_edges = resolve_edges(qe_edges, counterfactual.qe.astype(float))
    directions = sorted(counterfactual.direction.unique())
    # several seeds (each its own CM models and teachers): one point per pair, its values averaged over seeds
    _, pooled, seeds = seed_split(counterfactual, ["direction", "id"])
    if pooled is not None:
        counterfactual = pooled
    figure, axes = plt.subplots(1, len(directions), figsize=(4.2 * len(directions), 4.2), squeeze=False)
    labels = bucket_labels(qe_edges)
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(labels)))
    dense = False
    for ax, direction in zip(axes.flat, directions):
        rows = counterfactual[counterfactual.direction == direction]
        if len(rows) > scatter_max:
            dense = True
            cells = ax.hexbin(rows.p_out.astype(float), rows.p_in.astype(float), gridsize=50, extent=(0, 1, 0, 1),
                              bins="log", mincnt=1, cmap="viridis", linewidths=0)
            figure.colorbar(cells, ax=ax, shrink=0.8).set_label(f"pairs per hexagon (of {len(rows)})", fontsize=7)
        else:
            buckets = np.asarray(value_buckets(rows.qe.astype(float), qe_edges))
            for label, color in zip(labels, colors):
                chosen = rows[buckets == label]
                ax.scatter(chosen.p_out, chosen.p_in, s=4, alpha=0.5, color=color,
                           label=f"QE {label} ({len(chosen)})", rasterized=True)
            ax.legend(fontsize=6, markerscale=2, loc="upper left")
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_title(f"{direction}: mean CM {rows.cm.astype(float).mean():.3f}", fontsize=9)
        ax.set_xlabel("mean p(reference), OUT models", fontsize=8)
        ax.set_ylabel("mean p(reference), IN models", fontsize=8)
    figure.tight_layout()
    models = sorted(set(counterfactual.cm_models.astype(int)))
    caption = (f"{len(counterfactual)} pairs; M = {', '.join(map(str, models))} models, each pair IN for M/2; "
               "p = per-token geometric-mean probability of the reference, teacher-forced; "
               + (f"p, CM and QE averaged over seeds {', '.join(seeds)}; " if pooled is not None else "")
               + (f"panels of more than {scatter_max} pairs show their density (log count), not QE; " if dense else "")
               + settings_text(counterfactual, {"score": "score", "qe_method": "QE"}))
    add_caption(figure, caption, width=60 * len(directions))
    return figure


def subgroup_bars(subgroups: pd.DataFrame, value: str = "replication_rate") -> plt.Figure:
    """Per subgroup bucket of training pairs (QE, CM, teacher confidence, random, duplicates, misaligned) and
    model (T, B and S), `value` (replication vs the corpus by default); the bucket sizes are in the labels. With
    several seeds the bar is the mean over seeds (bucket sizes differ per seed: QE and CM come from each seed's
    models) and a dot marks each seed."""
    subgroups = subgroups[subgroups.role.isin(ROLES)]
    directions = sorted(subgroups.direction.unique())
    roles = roles_in(subgroups)
    per_seed, pooled, seeds = seed_split(subgroups, ["direction", "role", "subgroup", "bucket"])
    shown = per_seed if pooled is None else pooled
    first = shown[shown.role == roles[0]]
    buckets = list(dict.fromkeys(zip(first.subgroup, first.bucket)))  # in table order, whatever the direction
    figure, axes = plt.subplots(1, len(directions), squeeze=False, sharex=True,
                                figsize=(4.8 * len(directions), 1.2 + 0.11 * len(roles) * len(buckets)))
    height = 0.8 / len(roles)
    for ax, direction in zip(axes.flat, directions):
        rows = shown[shown.direction == direction]
        for k, role in enumerate(roles):
            values = rows[rows.role == role].set_index(["subgroup", "bucket"]).reindex(buckets)
            y = np.arange(len(buckets)) + (k - (len(roles) - 1) / 2) * height
            ax.barh(y, np.nan_to_num(values[value].astype(float).to_numpy()), height, color=role_color(role, roles),
                    label=ROLE_LABELS.get(role, role))
            for j, seed in enumerate(seeds if len(seeds) > 1 else []):
                one = per_seed[(per_seed.direction == direction) & (per_seed.role == role)
                               & (per_seed["seed"].astype(str) == seed)]
                dots = one.set_index(["subgroup", "bucket"]).reindex(buckets)[value].astype(float).to_numpy()
                ax.scatter(dots, y, s=5, color="black", zorder=3,
                           label="single seeds" if k == 0 and j == 0 else None)
        sizes = per_seed[(per_seed.direction == direction) & (per_seed.role == roles[0])].groupby(
            ["subgroup", "bucket"])["size"].agg(["min", "max"]).reindex(buckets).fillna(0).astype(int)
        ax.set_yticks(np.arange(len(buckets)),
                      [f"{g.replace('_', ' ')}: {b} (n={low if low == high else f'{low}-{high}'})"
                       for (g, b), low, high in zip(buckets, sizes["min"], sizes["max"])],
                      fontsize=7)
        ax.invert_yaxis()
        ax.set_title(direction, fontsize=9)
        ax.set_xlabel(value.replace("_", " ") + (" (%)" if value.endswith("rate") else ""), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / figure.get_figheight()))
    figure.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), fontsize=7, frameon=False)
    add_caption(figure, "Buckets: QE of the reference pair, CM, teacher confidence (top/bottom share), a random share, "
                        "duplicated pairs, verses the corpus recipe flags as misaligned. "
                + "; ".join(filter(None, [settings_text(subgroups, {"qe_method": "QE"}), seeds_caption(seeds)])),
                width=60 * len(directions))
    return figure


def predictor_roc(roc: pd.DataFrame, predictor: pd.DataFrame) -> plt.Figure:
    """Pooled out-of-fold ROC curves of the memorization predictor, one panel per direction, one curve per student
    and seed, the cross-validated AUC (mean +- sd over folds; with several seeds, over seeds) in the legend; a
    student without an AUC says why."""
    directions = sorted(predictor.direction.unique())
    # the model-comparison colours and order (T, B, S, then the variants by name)
    roles = roles_in(pd.DataFrame({"role": ["teacher", "baseline", *predictor.student.unique()]}))
    students = [role for role in roles if role in set(predictor.student)]
    figure, axes = plt.subplots(1, len(directions), squeeze=False, figsize=(4.2 * len(directions), 4.2))
    for ax, direction in zip(axes.flat, directions):
        ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=0.8, label="chance")
        for student in students:
            rows = predictor[(predictor.direction == direction) & (predictor.student == student)]
            curves = roc[(roc.direction == direction) & (roc.student == student)] if not roc.empty else roc
            color = role_color(student, roles)
            name = ROLE_LABELS.get(student, student)
            with_auc = rows[rows.auc_mean.notna()]
            if with_auc.empty or curves.empty:
                ax.plot([], [], color=color, label=f"{name}: no AUC ({', '.join(map(str, rows.positives))} replicated)")
                continue
            if len(rows) == 1:
                row = rows.iloc[0]
                label = f"{name}: AUC {row.auc_mean:.2f} +- {row.auc_std:.2f} ({row.folds} folds)"
            else:  # one curve per seed, the AUC as mean +- sd over the seeds that have one
                mean, sd = mean_sd(with_auc.auc_mean.astype(float).tolist())
                label = f"{name}: AUC {mean:.2f} +- {sd:.2f} over {len(with_auc)} of {len(rows)} seeds"
            groups = curves.groupby(curves["seed"].astype(str), sort=False) if "seed" in curves else [(None, curves)]
            for j, (_, curve) in enumerate(groups):
                ax.plot(curve.fpr, curve.tpr, color=color, linewidth=1.5 if len(rows) == 1 else 1.0,
                        alpha=1.0 if len(rows) == 1 else 0.7, label=label if j == 0 else None)
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
        ax.set_title(direction, fontsize=9)
        ax.set_xlabel("false positive rate", fontsize=8)
        ax.set_ylabel("true positive rate", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6.5, loc="lower right", frameon=False)
    figure.tight_layout()
    add_caption(figure, "Which training pairs does the student replicate (greedy exact match)? "
                + str(predictor.classifier.iloc[0]) + "; features: " + str(predictor.features.iloc[0])
                + ". Curves pool the out-of-fold predictions.", width=55 * len(directions))
    return figure


def save(figure: plt.Figure, png: str, pdf: str) -> None:
    """Both formats, atomically (a killed job leaves no half figure), and the same bytes from the same table: the
    PDF without its creation date."""
    for path, fmt, metadata in ((png, "png", None), (pdf, "pdf", {"CreationDate": None})):
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
    plt.close(figure)
