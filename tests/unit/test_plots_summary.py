"""Figures and the summary from hand-made tidy tables: every panel has data, legends name the models, the verdict
on the paper's comparison follows the interval."""

import math

import numpy as np
import pandas as pd
import pytest

from memkd import plots, summary
from memkd.errors import InputError

DIRECTIONS = ["en-es", "es-en"]
ROLES = ["teacher", "baseline", "student"]


def quality_table():
    rows = []
    for d in DIRECTIONS:
        for k, role in enumerate(ROLES):
            for decoding, bonus in (("greedy", 0.0), ("beam5", 1.5)):
                rows.append({"corpus": "bible", "direction": d, "seed": 1, "role": role, "decoding": decoding,
                             "bleu": 20 - 5 * k + bonus, "chrf": 45 - 3 * k + bonus, "sentences_per_s": 100.0 + k,
                             "parameters": 6_700_000 if role == "teacher" else 1_500_000,
                             "bleu_signature": "nrefs:1|bleu-sig", "chrf_signature": "nrefs:1|chrf-sig",
                             "decoding_signature": f"decode:{decoding}"})
    return pd.DataFrame(rows)


def memorization_table():
    rows = []
    for d in DIRECTIONS:
        for k, role in enumerate(ROLES):
            for against in ["corpus"] + (["teacher"] if role != "teacher" else []):
                rows.append({"corpus": "bible", "direction": d, "seed": 1, "role": role, "against": against,
                             "pairs": 100, "replication": 3 + k, "replication_pct": 3.0 + k,
                             "replication_ci_low": 1.0 + k, "replication_ci_high": 5.0 + k,
                             "exmem_candidates": 2, "exmem": 1, "exmem_pct": 50.0, "exmem_ci_low": 0.0,
                             "exmem_ci_high": 100.0, "decoding": "decode:greedy", "language_id": "py3langid 0.4.0",
                             "interval": "percentile bootstrap"})
    return pd.DataFrame(rows)


def hallucination_table():
    rows = []
    for d in DIRECTIONS:
        for k, role in enumerate(ROLES):
            for inputs in ("study_train", "probe"):
                row = {"corpus": "bible", "direction": d, "seed": 1, "role": role, "inputs": inputs,
                       "osc_hal_evaluated": 100, "osc_hal": k, "osc_hal_pct": float(k), "osc_hal_ci_low": 0.0,
                       "osc_hal_ci_high": k + 1.0, "qe_method": "dual_xent", "nat_hal_rule": ">= 5 sources",
                       "decoding": "decode:greedy", "interval": "percentile bootstrap"}
                if inputs == "study_train":
                    row.update({"nat_hal_candidates": 4, "nat_hal": 2, "nat_hal_pct": 2.0, "nat_hal_ci_low": 0.0,
                                "nat_hal_ci_high": 4.0, "nat_hal_unique_outputs": 90})
                rows.append(row)
    return pd.DataFrame(rows)


def change_table():
    rows = []
    for d in DIRECTIONS:
        for metric, paper, change in (("replication", 3.44, 12.0), ("exmem", 57.0, -20.0),
                                      ("osc_hal_train", 31.0, float("nan")), ("nat_hal", 13.8, 5.0)):
            rows.append({"corpus": "bible", "direction": d, "seed": 1, "metric": metric, "definition": "x / y",
                         "student_pct": 1.0, "baseline_pct": 0.0 if math.isnan(change) else 1.0,
                         "relative_change_pct": change, "ci_low": change - 10, "ci_high": change + 10,
                         "paper_relative_change_pct": paper, "interval": "paired percentile bootstrap"})
    return pd.DataFrame(rows)


def counterfactual_table():
    rng = np.random.default_rng(0)
    rows = []
    for d in DIRECTIONS:
        p_out = rng.uniform(0, 0.8, 50)
        p_in = np.clip(p_out + rng.uniform(0, 0.2, 50), 0, 1)
        for i in range(50):
            rows.append({"corpus": "bible", "direction": d, "seed": 1, "id": str(i), "in_models": 4, "out_models": 4,
                         "p_in": p_in[i], "p_out": p_out[i], "cm": p_in[i] - p_out[i], "score": "geometric mean",
                         "qe": rng.uniform(), "qe_method": "dual_xent", "cm_models": 8})
    return pd.DataFrame(rows)


def subgroups_table():
    rows = []
    for d in DIRECTIONS:
        for k, role in enumerate(ROLES):
            for subgroup, bucket, size in (("all", "all", 100), ("qe_bucket", "<0.2", 30), ("duplicate", "yes", 4)):
                rows.append({"corpus": "bible", "direction": d, "seed": 1, "role": role, "subgroup": subgroup,
                             "bucket": bucket, "size": size, "replication_rate": 1.0 + k, "qe_method": "dual_xent"})
    return pd.DataFrame(rows)


def inheritance_table():
    rows = []
    for d in DIRECTIONS:
        for measure in ("replication", "exmem"):
            rows.append({"corpus": "bible", "direction": d, "seed": 1, "student": "student", "kind": "hard: SeqKD",
                         "measure": measure, "pairs": 100, "teacher_memorized": 40, "teacher_only": 10,
                         "inherited": 12, "easy": 18, "student_only": 3, "teacher_only_pct_of_teacher": 25.0,
                         "inherited_pct_of_teacher": 30.0, "easy_pct_of_teacher": 45.0,
                         "inherited_share_ci_low": 20.0, "inherited_share_ci_high": 40.0,
                         "decoding": "decode:greedy", "interval": "percentile bootstrap"})
    return pd.DataFrame(rows)


def predictor_tables():
    rows, roc = [], []
    for d in DIRECTIONS:
        for student, auc in (("student", 0.8), ("word_kd", float("nan"))):
            rows.append({"corpus": "bible", "direction": d, "seed": 1, "student": student, "kind": "k",
                         "target": "student replicates the reference", "pairs": 100,
                         "positives": 30 if auc == auc else 1, "folds": 5 if auc == auc else 0,
                         "auc_mean": auc, "auc_std": 0.05 if auc == auc else float("nan"),
                         "coef_zlib_ratio": -0.5, "coef_teacher_log_ppl": -1.2, "coef_baseline_log_ppl": -0.8,
                         "coef_kl_teacher_baseline": 0.3, "classifier": "logistic regression, 5-fold CV",
                         "features": "zlib_ratio, teacher_log_ppl, baseline_log_ppl, kl_teacher_baseline",
                         "note": "" if auc == auc else "1 positive and 99 negative pairs: too few for CV"})
        roc += [{"corpus": "bible", "direction": d, "seed": 1, "student": "student", "fpr": f, "tpr": t}
                for f, t in ((0, 0), (0.1, 0.5), (0.4, 0.8), (1, 1))]
    return pd.DataFrame(rows), pd.DataFrame(roc)


def legend_texts(figure):
    texts = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
    texts += [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    return texts


def drawn_artists(ax):
    return len(ax.patches) + len(ax.collections) + len(ax.lines)


def test_model_comparison_has_six_filled_panels_and_names_the_models():
    figure = plots.model_comparison(quality_table(), memorization_table(), hallucination_table())
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert len(panels) == 6
    assert all(drawn_artists(ax) > 0 for ax in panels)
    assert {"teacher (T)", "baseline (B)", "SeqKD student (S)"} <= set(legend_texts(figure))
    caption = figure.texts[-1].get_text()
    assert "bleu-sig" in caption and "py3langid" in caption and "dual_xent" in caption


def test_relative_change_marks_undefined_changes_and_shows_the_paper():
    figure = plots.relative_change(change_table())
    texts = legend_texts(figure)
    assert "paper, mean of 5 WMT20 directions" in texts and "en-es (this study)" in texts
    assert "Not shown (baseline rate 0" in figure.texts[-1].get_text()


def test_memorization_map_one_panel_per_direction_coloured_by_qe():
    figure = plots.memorization_map(counterfactual_table(), [0.2, 0.4, 0.6, 0.8])
    assert [ax.get_title().split(":")[0] for ax in figure.axes] == DIRECTIONS
    # five QE buckets; their counts add up to the pairs of the direction
    counts = [int(t.rsplit("(", 1)[1].rstrip(")")) for t in legend_texts(figure)[:5]]
    assert sum(counts) == 50


def test_subgroup_bars_label_buckets_with_sizes():
    figure = plots.subgroup_bars(subgroups_table())
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["all: all (n=100)", "qe bucket: <0.2 (n=30)", "duplicate: yes (n=4)"]
    assert {"teacher (T)", "baseline (B)", "SeqKD student (S)"} <= set(legend_texts(figure))
    assert len(figure.axes[0].patches) == 9


def test_save_writes_png_and_pdf(tmp_path):
    figure = plots.subgroup_bars(subgroups_table())
    plots.save(figure, tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png"]


def test_a_saved_pdf_carries_no_creation_date(tmp_path):
    """The same table gives the same PDF bytes: matplotlib otherwise stamps the time of saving into it."""
    plots.save(plots.subgroup_bars(subgroups_table()), tmp_path / "f.png", tmp_path / "f.pdf")
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert b"/Producer" in pdf and b"/CreationDate" not in pdf


@pytest.mark.parametrize("change, low, high, paper, expected", [
    (12.0, 2.0, 22.0, 3.44, "agrees in sign"),
    (-12.0, -22.0, -2.0, 3.44, "disagrees"),
    (5.0, -1.0, 11.0, 3.44, "inconclusive"),
    (0.0, 0.0, 0.0, 3.44, "inconclusive"),  # an interval touching 0 does not exclude it
    (float("nan"), float("nan"), float("nan"), 3.44, "undefined"),
    (5.0, 1.0, 9.0, None, "the paper gives no number"),
])
def test_verdict_counts_only_intervals_that_exclude_zero(change, low, high, paper, expected):
    assert expected in summary.verdict(change, low, high, paper)


def test_summary_has_every_section_and_the_verdicts():
    tables = {"translation_quality": quality_table(), "memorization": memorization_table(),
              "hallucination": hallucination_table(), "relative_change": change_table(),
              "counterfactual": counterfactual_table(), "inheritance": inheritance_table(),
              "predictor": predictor_tables()[0]}
    text = summary.render(tables, "bible", [0.2, 0.3, 0.4])
    for heading in ("## Translation quality", "## Memorization and hallucination", "## Student vs baseline",
                    "## Counterfactual memorization", "## Inheritance sets", "## Memorization predictor",
                    "## How this compares with the paper"):
        assert heading in text
    assert "| en-es | 1 | student (hard: SeqKD) | replication | 40 | 12 (30.0%) | 18 (45.0%) | 10 (25.0%) | 3 |" in text
    assert "| en-es | 1 | student | 30 / 100 | 0.800 +- 0.050 | 5 |" in text
    assert "no AUC where: 1 positive and 99 negative pairs: too few for CV" in text
    assert "| en-es | 1 | teacher | 6.7M | 20.0 | 21.5 |" in text
    # one seed: the changes are listed with their intervals, but no verdict on the paper's claim
    assert "One seed (1): these changes are an anecdote" in text and "**One seed: every comparison" in text
    assert "| en-es | 1 | replication | 1.000 | 1.000 | 12.0 [2.0, 22.0] | 3.4 | one seed: an anecdote, no verdict |" \
        in text
    assert "agrees" not in text.split("## Counterfactual")[0] and "disagrees" not in text
    assert "- BLEU signature: `nrefs:1|bleu-sig`" in text
    assert text.count("| en-es | 1 | 50 | 8 |") == 1


def with_variant(frame, name="word_kd"):
    return pd.concat([frame, frame[frame.role == "student"].assign(role=name)])


def test_distillation_variants_get_a_figure_of_their_own_and_the_core_figure_shows_t_b_s_only():
    tables = [with_variant(quality_table()), with_variant(memorization_table()), with_variant(hallucination_table())]
    core = plots.model_comparison(*tables)
    assert "word_kd" not in legend_texts(core)
    bleu = [ax for ax in core.axes if ax.get_title().startswith("test BLEU")][0]
    assert len(bleu.patches) == 3 * len(DIRECTIONS)
    variants = plots.model_comparison(*tables, variants=True)
    assert {"baseline (B)", "SeqKD student (S)", "word_kd"} <= set(legend_texts(variants))
    assert "teacher (T)" not in legend_texts(variants)
    bleu = [ax for ax in variants.axes if ax.get_title().startswith("test BLEU")][0]
    assert len(bleu.patches) == 3 * len(DIRECTIONS)  # B, S, word_kd
    with pytest.raises(InputError, match="no distillation variant"):
        plots.model_comparison(quality_table(), memorization_table(), hallucination_table(), variants=True)


def test_an_all_undefined_panel_says_so_instead_of_staying_blank():
    memorization = memorization_table().assign(exmem_pct=float("nan"), exmem_ci_low=float("nan"),
                                               exmem_ci_high=float("nan"))
    figure = plots.model_comparison(quality_table(), memorization, hallucination_table())
    exmem = [ax for ax in figure.axes if ax.get_title().startswith("ExMem")][0]
    assert [t.get_text() for t in exmem.texts] == ["not defined for any model (no candidates)"]


def test_predictor_roc_draws_a_curve_per_student_with_its_auc_and_says_why_one_is_missing():
    predictor, roc = predictor_tables()
    figure = plots.predictor_roc(roc, predictor)
    assert len(figure.axes) == 2
    texts = legend_texts(figure)
    assert any("AUC 0.80 +- 0.05 (5 folds)" in t for t in texts)
    assert any(t.startswith("word_kd: no AUC (1 replicated)") for t in texts)
    for ax in figure.axes:
        assert any(len(line.get_xdata()) == 4 for line in ax.lines)  # the ROC curve itself, not only the diagonal


def adaptive_table():
    rows = []
    for d in DIRECTIONS:
        for model, arm in (("adaptive_seqkd", "quality"), ("adaptive_seqkd_random", "random")):
            common = {"corpus": "bible", "direction": d, "seed": 1, "model": model, "arm": arm,
                      "compared_with": "student", "fine_tuning_pairs": 50,
                      "selection": "min_chrf 85; at most 50 by confidence; 1 epoch(s) at lr final (constant)"}
            for decoding in ("greedy", "beam5"):
                rows.append({**common, "metric": f"bleu_{decoding}", "model_value": 2.0, "reference_value": 2.5,
                             "difference": -0.5, "paper": -0.2 if arm == "quality" and decoding == "greedy" else None})
            for metric, change in (("replication", 10.0), ("exmem", -30.0), ("osc_hal_train", float("nan")),
                                   ("nat_hal", 5.0)):
                rows.append({**common, "metric": metric, "model_value": 1.0, "reference_value": 1.0,
                             "relative_change_pct": change, "ci_low": change - 20, "ci_high": change - 5,
                             "paper": {"quality": {"exmem": -23.7}, "random": {"exmem": -11.9}}[arm].get(metric),
                             "interval": "paired percentile bootstrap"})
    return pd.DataFrame(rows)


def test_adaptive_figure_shows_both_arms_the_paper_and_the_bleu_difference():
    figure = plots.adaptive_seqkd(adaptive_table())
    left, right = figure.axes
    texts = legend_texts(figure)
    assert {"adaptive_seqkd (quality arm), en-es", "adaptive_seqkd_random (random arm), es-en",
            "paper, quality arm", "paper, random arm"} <= set(texts)
    assert [t.get_text() for t in left.get_yticklabels()] == [
        "replication vs corpus", "extractive memorization", "oscillatory hallucination", "natural hallucination"]
    assert len(right.patches) == 2 * 4  # greedy and beam5 bars for two arms in two directions
    caption = figure.texts[-1].get_text()
    assert "adaptive_seqkd en-es: 50" in caption and "Not shown (SeqKD student rate 0" in caption


def test_summary_has_an_adaptive_section_when_the_study_has_adaptive_students():
    tables = {"translation_quality": quality_table(), "memorization": memorization_table(),
              "hallucination": hallucination_table(), "relative_change": change_table(),
              "counterfactual": counterfactual_table(), "inheritance": inheritance_table(),
              "predictor": predictor_tables()[0], "adaptive_seqkd": adaptive_table()}
    text = summary.render(tables, "bible", [0.2, 0.3, 0.4])
    assert "## Adaptive-SeqKD" in text
    assert "| en-es | 1 | adaptive_seqkd (quality) | exmem | 1.00 | 1.00 | -30.0 [-50.0, -35.0] % | -23.7 | " \
           "one seed: an anecdote, no verdict |" in text
    assert "| en-es | 1 | adaptive_seqkd (quality) | bleu_greedy | 2.00 | 2.50 | -0.50 points | -0.2 | - |" in text
    assert "## Adaptive-SeqKD" not in summary.render({k: v for k, v in tables.items() if k != "adaptive_seqkd"},
                                                     "bible", [0.2, 0.3, 0.4])


def test_a_model_has_one_colour_in_every_panel_whatever_the_row_order_of_each_table():
    rows = ["word_kd", "teacher", "adaptive_seqkd", "student", "baseline"]
    assert plots.roles_in(pd.DataFrame({"role": rows})) == plots.roles_in(pd.DataFrame({"role": rows[::-1]})) == [
        "teacher", "baseline", "student", "adaptive_seqkd", "word_kd"]
    quality = quality_table()
    quality = pd.concat([quality, quality[quality.role == "student"].assign(role="zeta"),
                         quality[quality.role == "student"].assign(role="alpha")])
    memorization = pd.concat([memorization_table(), *(with_variant(memorization_table(), name)[lambda f: f.role == name]
                                                     for name in ("zeta", "alpha"))])
    figure = plots.model_comparison(quality, memorization, hallucination_table(), variants=True)
    bleu = [ax for ax in figure.axes if ax.get_title().startswith("test BLEU")][0]
    colours = {c.get_label(): c.patches[0].get_facecolor() for c in bleu.containers}
    assert colours["alpha"] == pytest.approx(matplotlib_colour(plots.VARIANT_COLORS[0]))
    assert colours["zeta"] == pytest.approx(matplotlib_colour(plots.VARIANT_COLORS[1]))


def matplotlib_colour(hex_colour):
    from matplotlib.colors import to_rgba
    return to_rgba(hex_colour)


def test_predictor_roc_uses_the_model_comparison_colours():
    predictor, roc = predictor_tables()
    extra = predictor[predictor.student == "word_kd"]
    predictor = pd.concat([extra.assign(student="zeta"), predictor, extra.assign(student="alpha")])
    figure = plots.predictor_roc(roc, predictor)
    colours = {line.get_label().split(":")[0]: line.get_color() for line in figure.axes[0].lines}
    assert colours["alpha"] == plots.VARIANT_COLORS[0] and colours["zeta"] == plots.VARIANT_COLORS[2]
    assert colours["word_kd"] == plots.VARIANT_COLORS[1]
    assert colours[plots.ROLE_LABELS["student"]] == plots.ROLE_COLORS["student"]


# --- several seeds: per-seed rows and rows pooled over seeds (seed "pooled") --------------------------------------

SEEDS = [1, 2, 3]


def seeded(frame, column, step):
    """The one-seed table once per seed, `column` moved by `step` per seed: seed 1 at -step, 2 unchanged, 3 +step."""
    return pd.concat([frame.assign(seed=seed, **{column: frame[column] + (seed - 2) * step}) for seed in SEEDS])


def pooled_memorization():
    """Per-seed replication 2+k, 3+k, 4+k for role k: mean 3+k, sd 1; a pooled interval of its own."""
    rows = seeded(memorization_table(), "replication_pct", 1.0)
    pooled = memorization_table().assign(seed="pooled", replication_pct_sd=1.0, exmem_pct_sd=0.0, seeds=3,
                                         interval="two-level percentile bootstrap")
    pooled["replication_ci_low"] = pooled.replication_pct - 1.5
    pooled["replication_ci_high"] = pooled.replication_pct + 2.5
    return pd.concat([rows, pooled])


def pooled_hallucination():
    pooled = hallucination_table().assign(seed="pooled", osc_hal_pct_sd=0.5, nat_hal_pct_sd=0.0, seeds=3,
                                          interval="two-level percentile bootstrap")
    return pd.concat([seeded(hallucination_table(), "osc_hal_pct", 0.5), pooled])


def pooled_changes(pooled_low=-5.0, pooled_high=30.0, step=10.0):
    """Per-seed changes 12-step, 12, 12+step (each interval +-10); pooled: mean 12, change of the pooled rates
    11.5 with the interval [pooled_low, pooled_high]."""
    rows = seeded(change_table(), "relative_change_pct", step)
    rows = rows.assign(ci_low=rows.relative_change_pct - 10, ci_high=rows.relative_change_pct + 10)
    pooled = change_table().assign(seed="pooled", relative_change_sd=step, student_pct_sd=0.1, baseline_pct_sd=0.1,
                                   seeds=3, interval="two-level percentile bootstrap")
    pooled["pooled_change_pct"] = pooled.relative_change_pct - 0.5
    defined = pooled.relative_change_pct.notna()
    pooled.loc[defined, "ci_low"], pooled.loc[defined, "ci_high"] = pooled_low, pooled_high
    return pd.concat([rows, pooled])


def panel(figure, title):
    return [ax for ax in figure.axes if ax.get_title().startswith(title)][0]


def dots(ax):
    """x, y of every scatter point of an axes (the single seeds)."""
    from matplotlib.collections import PathCollection
    return np.vstack([c.get_offsets() for c in ax.collections
                      if isinstance(c, PathCollection) and not c.get_label().startswith("paper")])


def test_model_comparison_with_seeds_shows_pooled_bars_their_interval_and_a_dot_per_seed():
    quality = seeded(quality_table(), "bleu", 0.5)
    figure = plots.model_comparison(quality, pooled_memorization(), pooled_hallucination())
    replication = panel(figure, "replication")
    heights = sorted(round(p.get_height(), 6) for p in replication.patches)
    assert heights == sorted([3.0, 4.0, 5.0] * len(DIRECTIONS))  # the pooled rows (means), not one seed
    whiskers = [seg for c in replication.collections if hasattr(c, "get_segments") for seg in c.get_segments()]
    assert any(np.allclose(sorted(seg[:, 1]), [1.5, 5.5]) for seg in whiskers)  # teacher: 3 - 1.5 .. 3 + 2.5
    points = dots(replication)
    assert len(points) == len(SEEDS) * len(ROLES) * len(DIRECTIONS)
    assert sorted(set(np.round(points[:, 1], 6))) == [2.0, 3.0, 4.0, 5.0, 6.0]
    # test BLEU has no pooled rows: its bar is the mean over seeds, the seeds as dots
    bleu = panel(figure, "test BLEU")
    assert sorted(round(p.get_height(), 6) for p in bleu.patches) == sorted([20.0, 15.0, 10.0] * len(DIRECTIONS))
    assert len(dots(bleu)) == len(SEEDS) * len(ROLES) * len(DIRECTIONS)
    assert "single seeds" in legend_texts(figure)
    caption = figure.texts[-1].get_text().replace("\n", " ")
    assert "seeds 1, 2, 3" in caption and "intervals: two-level percentile bootstrap" in caption


def test_relative_change_with_seeds_shows_the_pooled_change_its_interval_and_each_seed():
    figure = plots.relative_change(pooled_changes())
    ax = figure.axes[0]
    texts = legend_texts(figure)
    assert "en-es (this study, 3 seeds pooled)" in texts and "en-es, single seeds" in texts
    filled = [c for c in ax.containers]  # one errorbar per direction
    assert len(filled) == len(DIRECTIONS)
    xs = sorted(x for c in filled for x in c.lines[0].get_xdata())
    assert xs == sorted([11.5, -20.5, 4.5] * len(DIRECTIONS))  # pooled_change_pct, osc_hal undefined
    hollow = dots(ax)
    # per-seed changes 2, 12, 22 (replication), -30, -20, -10 (exmem), -5, 5, 15 (nat_hal); NaN ones not drawn
    assert sorted(x for x in hollow[:, 0] if np.isfinite(x)) == sorted([2, 12, 22, -30, -20, -10, -5, 5, 15] * 2)
    assert "Not shown (baseline rate 0" in figure.texts[-1].get_text()


def test_an_interval_without_upper_bound_ends_in_an_arrow_not_at_infinity():
    changes = change_table().assign(ci_high=float("inf"))
    figure = plots.relative_change(changes)
    ax = figure.axes[0]
    assert np.isfinite(ax.get_xlim()).all() and ax.get_xlim()[1] < 1e6
    arrows = [c for c in ax.collections if c.get_offsets().shape[0] and c.get_paths()]
    assert any(len(c.get_offsets()) == 3 for c in arrows)  # three defined changes per direction, each unbounded


def test_subgroups_with_seeds_are_t_b_s_only_means_over_seeds_with_size_ranges():
    table = pd.concat([subgroups_table(), subgroups_table()[lambda f: f.role == "student"].assign(role="word_kd")])
    rows = seeded(table, "replication_rate", 1.0)
    rows["size"] = rows["size"] + (rows.seed - 2) * (rows.subgroup == "qe_bucket")
    figure = plots.subgroup_bars(rows)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["all: all (n=100)", "qe bucket: <0.2 (n=29-31)", "duplicate: yes (n=4)"]
    assert len(figure.axes[0].patches) == 9 and "word_kd" not in legend_texts(figure)
    assert sorted({round(p.get_width(), 6) for p in figure.axes[0].patches}) == [1.0, 2.0, 3.0]
    assert len(dots(figure.axes[0])) == len(SEEDS) * 9


def test_memorization_map_with_seeds_has_one_point_per_pair():
    table = seeded(counterfactual_table(), "p_in", 0.01)
    figure = plots.memorization_map(table, [0.2, 0.4, 0.6, 0.8])
    counts = [int(t.rsplit("(", 1)[1].rstrip(")")) for t in legend_texts(figure)[:5]]
    assert sum(counts) == 50
    assert "averaged over seeds 1, 2, 3" in figure.texts[-1].get_text().replace("\n", " ")


def test_predictor_roc_with_seeds_draws_a_curve_per_seed_and_the_auc_over_seeds():
    predictor, roc = predictor_tables()
    predictor = seeded(predictor, "auc_mean", 0.05)
    roc = pd.concat([roc.assign(seed=seed) for seed in SEEDS])
    figure = plots.predictor_roc(roc, predictor)
    texts = legend_texts(figure)
    assert any("AUC 0.80 +- 0.05 over 3 of 3 seeds" in t for t in texts), texts
    assert sum(len(line.get_xdata()) == 4 for line in figure.axes[0].lines) == len(SEEDS)


def seeded_tables(changes):
    return {"translation_quality": seeded(quality_table(), "bleu", 0.5), "memorization": pooled_memorization(),
            "hallucination": pooled_hallucination(), "relative_change": changes,
            "counterfactual": seeded(counterfactual_table(), "p_in", 0.0), "inheritance": inheritance_table(),
            "predictor": predictor_tables()[0]}


def test_summary_with_seeds_gives_verdicts_from_the_pooled_interval_only():
    # every seed's replication interval excludes 0 ([-8, 12] is seed 1's: not; seeds 2, 3 exclude it), but the
    # pooled interval [-5, 30] includes it: inconclusive
    text = summary.render(seeded_tables(pooled_changes()), "bible", [0.2, 0.3, 0.4])
    assert "Seeds: 1, 2, 3." in text and "anecdote" not in text
    assert "| en-es | 2 | replication | 1.000 | 1.000 | 12.0 [2.0, 22.0] | 3.4 | per seed: no verdict (see pooled) |" \
        in text
    assert "| en-es | 3 | replication | 1.000 | 1.000 | 12.0 [2.0, 22.0] | 3.4 | per seed: no verdict (see pooled) |" \
        not in text  # seed 3 is 22 [12, 32]
    assert ("| en-es | 3 | replication | 1.000 +- 0.100 | 1.000 +- 0.100 | 12.0 +- 10.0 | 11.5 [-5.0, 30.0] | 3.4 | "
            "inconclusive: the interval includes 0 |") in text
    assert "agrees in sign" not in text and "disagrees" not in text
    # a pooled interval above 0 agrees with the paper's positive replication change and disagrees on its ExMem sign
    text = summary.render(seeded_tables(pooled_changes(pooled_low=1.0, pooled_high=30.0)), "bible", [0.2, 0.3, 0.4])
    assert "| 11.5 [1.0, 30.0] | 3.4 | agrees in sign: student higher, as in the paper |" in text
    assert "| -20.5 [1.0, 30.0] | 57.0 | inconclusive" not in text
    assert "| -20.5 [1.0, 30.0] | 57.0 | agrees in sign: student higher, as in the paper |" in text  # the interval decides
    text = summary.render(seeded_tables(pooled_changes(pooled_low=-30.0, pooled_high=-1.0)), "bible", [0.2, 0.3, 0.4])
    assert "| 11.5 [-30.0, -1.0] | 3.4 | disagrees in sign: student lower, the paper found the opposite |" in text
    assert "| n/a | 31.0 | undefined (baseline rate 0) |" in text
    # the memorization rows pooled over seeds: mean +- sd [interval]; quality: mean +- sd of BLEU
    assert "| en-es | pooled | teacher | corpus | 3.00 +- 1.00 [1.50, 5.50] | 50.00 +- 0.00 [0.00, 100.00] (1 / 2) |" \
        in text
    assert "| en-es | pooled | teacher |  | 20.0 +- 0.5 | 21.5 +- 0.5 |" in text


def test_summary_of_an_adaptive_table_with_pooled_rows_judges_only_those():
    table = pd.concat([adaptive_table().assign(seed=seed) for seed in SEEDS])
    pooled = adaptive_table()[lambda f: ~f.metric.str.startswith("bleu_")].assign(
        seed="pooled", relative_change_sd=4.0, pooled_change_pct=lambda f: f.relative_change_pct + 1)
    tables = {**seeded_tables(pooled_changes()), "adaptive_seqkd": pd.concat([table, pooled])}
    text = summary.render(tables, "bible", [0.2, 0.3, 0.4])
    section = text.split("## Adaptive-SeqKD")[1]
    assert "| en-es | pooled | adaptive_seqkd (quality) | exmem | 1.00 | 1.00 | -30.0 +- 4.0; pooled -29.0 [-50.0, " \
           "-35.0] % | -23.7 | agrees in sign: adaptive_seqkd lower, as in the paper |" in section
    assert "| en-es | 2 | adaptive_seqkd (quality) | exmem | 1.00 | 1.00 | -30.0 [-50.0, -35.0] % | -23.7 | " \
           "per seed: no verdict (see pooled) |" in section
    figure = plots.adaptive_seqkd(pd.concat([table, pooled]))
    assert "single seeds" in legend_texts(figure)


def test_summary_names_the_steps_of_each_adaptive_arm_and_withholds_a_verdict_it_cannot_give():
    adaptive = adaptive_table().assign(fine_tuning_steps=20, fine_tuning_lr=7.07e-4, no_verdict_reason="")
    few = (adaptive.model == "adaptive_seqkd_random") & (adaptive.direction == "en-es")
    adaptive.loc[few, "no_verdict_reason"] = "6 pairs passed the selection (min_pairs 20)"
    text = summary.adaptive_section(adaptive)
    assert "- adaptive_seqkd en-es seed 1: teacher fine-tuned on 50 pairs, 20 optimizer steps at lr 0.00071" in text
    assert "| en-es | 1 | adaptive_seqkd_random (random) | exmem | 1.00 | 1.00 | -30.0 [-50.0, -35.0] % | -11.9 | " \
           "no verdict: 6 pairs passed the selection (min_pairs 20) |" in text


def test_summary_reports_qe_validity_or_why_there_is_none():
    validity = pd.DataFrame([
        {"direction": "en-es", "auc": 0.754, "positives": 164, "negatives": 164,
         "qe_method": "dual_xent(qe models, 2000 held-out pairs)", "note": "AUC: ..."},
        {"direction": "es-en", "auc": float("nan"), "positives": 0, "negatives": 0, "qe_method": "dual_xent",
         "note": "n/a: no training pair outside the QE models' training pairs is flagged"},
    ])
    text = summary.qe_validity_section(validity)
    assert "- en-es: dual_xent(qe models, 2000 held-out pairs) ranks an unflagged training pair above one the " \
           "corpus check flags as misaligned (shift, lowoverlap) with ROC AUC 0.75 (164 misaligned" in text
    assert "- es-en: n/a (no training pair outside" in text


def test_memorization_map_of_many_pairs_is_a_density_of_every_pair():
    """Past scatter_max pairs a panel counts its pairs in hexagons (a million dots would hide where they are)."""
    table = counterfactual_table()
    figure = plots.memorization_map(table, [0.2, 0.4, 0.6, 0.8], scatter_max=40)
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == DIRECTIONS
    for ax in panels:
        cells = ax.collections[0]
        assert ax.get_legend() is None and int(cells.get_array().sum()) == 50
    assert "show their density" in figure.texts[-1].get_text().replace("\n", " ")
    # at or under scatter_max, the QE-coloured points as before
    caption = plots.memorization_map(table, [0.2], scatter_max=50).texts[-1].get_text()
    assert "show their density" not in caption.replace("\n", " ")
