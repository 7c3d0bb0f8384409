"""Figures and the summary from hand-made tidy tables: every panel has data, legends name the models, the verdict
on the paper's comparison follows the interval."""

import math

import numpy as np
import pandas as pd
import pytest

from memkd import plots, summary

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
    assert "agrees in sign" in text and "disagrees" in text and "undefined (baseline rate 0)" in text
    assert "- BLEU signature: `nrefs:1|bleu-sig`" in text
    assert text.count("| en-es | 1 | 50 | 8 |") == 1


def test_distillation_variants_get_their_own_bars_and_legend_entries():
    quality = quality_table()
    variant = quality[quality.role == "student"].assign(role="word_kd")
    memorization = memorization_table()
    hallucination = hallucination_table()
    figure = plots.model_comparison(
        pd.concat([quality, variant]),
        pd.concat([memorization, memorization[memorization.role == "student"].assign(role="word_kd")]),
        pd.concat([hallucination, hallucination[hallucination.role == "student"].assign(role="word_kd")]),
    )
    assert "word_kd" in legend_texts(figure)
    bleu = [ax for ax in figure.axes if ax.get_title().startswith("test BLEU")][0]
    assert len(bleu.patches) == 4 * len(DIRECTIONS)


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
           "agrees in sign: adaptive_seqkd lower, as in the paper |" in text
    assert "| en-es | 1 | adaptive_seqkd (quality) | bleu_greedy | 2.00 | 2.50 | -0.50 points | -0.2 | - |" in text
    assert "undefined (SeqKD student rate 0)" in text
    assert "## Adaptive-SeqKD" not in summary.render({k: v for k, v in tables.items() if k != "adaptive_seqkd"},
                                                     "bible", [0.2, 0.3, 0.4])


def test_a_model_has_one_colour_in_every_panel_whatever_the_row_order_of_each_table():
    rows = ["word_kd", "teacher", "adaptive_seqkd", "student", "baseline"]
    assert plots.roles_in(pd.DataFrame({"role": rows})) == plots.roles_in(pd.DataFrame({"role": rows[::-1]})) == [
        "teacher", "baseline", "student", "adaptive_seqkd", "word_kd"]
    quality = quality_table()
    quality = pd.concat([quality, quality[quality.role == "student"].assign(role="zeta"),
                         quality[quality.role == "student"].assign(role="alpha")])
    figure = plots.model_comparison(quality, memorization_table(), hallucination_table())
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
