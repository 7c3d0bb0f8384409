"""The study summary: every headline number from the tidy tables in one Markdown page, each with its interval and,
where the paper reports one, the paper's number and a plain verdict on whether this run agrees."""

from __future__ import annotations

import math

import pandas as pd

from memkd.tables import POOLED


def fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.{digits}f}"


def with_interval(point, low, high, digits: int = 2) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return fmt(point, digits)
    return f"{fmt(point, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def interval_side(change: float, low: float, high: float) -> str:
    """Where a relative change's interval lies: "undefined" (no change: the reference rate is 0), "no interval",
    "includes 0", or the side of 0 the whole interval is on, "higher" or "lower"."""
    if change is None or math.isnan(change):
        return "undefined"
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    if low <= 0 <= high:
        return "includes 0"
    return "higher" if low > 0 else "lower"


def verdict(change: float, low: float, high: float, paper: float | None) -> str:
    """Does the student-vs-baseline change agree with the paper? Only an interval that excludes zero counts; the
    caller passes only intervals pooled over seeds (one seed gives no verdict: `ONE_SEED`)."""
    direction = interval_side(change, low, high)
    if direction == "undefined":
        return "undefined (baseline rate 0)"
    if direction == "includes 0":
        return "inconclusive: the interval includes 0"
    if direction == "no interval":
        return direction
    if paper is None or math.isnan(paper):
        return f"student {direction} (the paper gives no number)"
    if (low > 0) == (paper > 0):
        return f"agrees in sign: student {direction}, as in the paper"
    return f"disagrees in sign: student {direction}, the paper found the opposite"


ONE_SEED = "one seed: an anecdote, no verdict"
PER_SEED = "per seed: no verdict (see pooled)"


def split_seeds(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(per-seed rows, rows pooled over seeds, the seeds as text)."""
    is_pooled = frame["seed"].astype(str) == POOLED
    seeds = sorted(set(frame.loc[~is_pooled, "seed"].astype(str)), key=lambda s: (len(s), s))
    return frame[~is_pooled], frame[is_pooled], seeds


def mean_sd_text(mean, sd, digits: int = 2) -> str:
    """'mean +- sd' of a pooled row ('mean' alone where the sd is undefined)."""
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return fmt(mean, digits)
    return f"{fmt(mean, digits)} +- {fmt(sd, digits)}"


def pooled_text(mean, sd, low, high, digits: int = 2) -> str:
    """'mean +- sd [low, high]': mean and sd over seeds, the two-level bootstrap interval of the pooled value."""
    text = mean_sd_text(mean, sd, digits)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return text
    return f"{text} [{fmt(low, digits)}, {fmt(high, digits)}]"


def quality_section(quality: pd.DataFrame) -> str:
    index = ["direction", "seed", "role"]
    wide = quality.pivot_table(index=index, columns="decoding", values=["bleu", "chrf", "sentences_per_s"],
                               aggfunc="first")
    params = quality.groupby(index).parameters.first()
    nonzero = quality.groupby(index).nonzero_parameters.first() if "nonzero_parameters" in quality else params
    decodings = sorted(quality.decoding.unique(), key=lambda d: (d != "greedy", d))
    rows = []
    for key in wide.index:
        row = dict(zip(index, key))
        row["parameters"] = f"{int(params[key]) / 1e6:.1f}M"
        if int(nonzero[key]) < int(params[key]):  # a pruned model
            row["parameters"] += f" ({int(nonzero[key]) / 1e6:.2f}M nonzero)"
        for d in decodings:
            row[f"BLEU {d}"] = fmt(wide.loc[key, ("bleu", d)], 1)
        for d in decodings:
            row[f"chrF {d}"] = fmt(wide.loc[key, ("chrf", d)], 1)
        row[f"sent/s {decodings[0]}"] = fmt(wide.loc[key, ("sentences_per_s", decodings[0])], 0)
        rows.append(row)
    seeds = sorted(set(quality.seed.astype(str)), key=lambda s: (len(s), s))
    if len(seeds) > 1:  # test quality per model as mean +- sd over seeds
        for (direction, role), group in quality.groupby(["direction", "role"], sort=True):
            if group.seed.nunique() < 2:  # a variant trained at one seed (variant_seeds)
                continue
            row = {"direction": direction, "seed": POOLED, "role": role, "parameters": ""}
            for metric, name in (("bleu", "BLEU"), ("chrf", "chrF")):
                for d in decodings:
                    values = group[group.decoding == d][metric].astype(float)
                    row[f"{name} {d}"] = mean_sd_text(values.mean(), values.std(ddof=1), 1)
            speed = group[group.decoding == decodings[0]].sentences_per_s.astype(float)
            row[f"sent/s {decodings[0]}"] = mean_sd_text(speed.mean(), speed.std(ddof=1), 0)
            rows.append(row)
    signatures = sorted(set(quality.bleu_signature)) if "bleu_signature" in quality else []
    return "\n".join([
        "## Translation quality (test set)", "",
        markdown_table(pd.DataFrame(rows)), "",
        *(f"- BLEU signature: `{s}`" for s in signatures),
        *(f"- chrF signature: `{s}`" for s in sorted(set(quality.get("chrf_signature", [])))),
        *(f"- decoding: `{s}`" for s in sorted(set(quality.decoding_signature))),
    ])


def memorization_section(memorization: pd.DataFrame, hallucination: pd.DataFrame) -> str:
    rows = []
    halluc = hallucination.assign(seed=hallucination.seed.astype(str)).set_index(["direction", "seed", "role", "inputs"])
    for r in memorization.assign(seed=memorization.seed.astype(str)).itertuples(index=False):
        train = halluc.loc[(r.direction, r.seed, r.role, "study_train")]
        probe = halluc.loc[(r.direction, r.seed, r.role, "probe")]
        corpus = r.against == "corpus"
        if r.seed == POOLED:  # mean +- sd over seeds, the pooled interval; counts are means over seeds
            rate = lambda row, name: pooled_text(getattr(row, f"{name}_pct"), getattr(row, f"{name}_pct_sd"),
                                                 getattr(row, f"{name}_ci_low"), getattr(row, f"{name}_ci_high"))
            exmem_counts = f"({fmt(r.exmem, 1)} / {fmt(r.exmem_candidates, 1)})"
            nat_count = f"({fmt(train.nat_hal, 1)})"
        else:
            rate = lambda row, name: with_interval(getattr(row, f"{name}_pct"), getattr(row, f"{name}_ci_low"),
                                                   getattr(row, f"{name}_ci_high"))
            exmem_counts = f"({int(r.exmem)} / {int(r.exmem_candidates)})"
            nat_count = f"({int(train.nat_hal)})"
        rows.append({
            "direction": r.direction, "seed": r.seed, "model": r.role, "against": r.against,
            "replication %": rate(r, "replication"),
            "ExMem % (n / candidates)": f"{rate(r, 'exmem')} {exmem_counts}",
            "OscHal train %": rate(train, "osc_hal") if corpus else "",
            "OscHal probe %": rate(probe, "osc_hal") if corpus else "",
            "NatHal % (n)": f"{rate(train, 'nat_hal')} {nat_count}" if corpus else "",
        })
    per_seed, pooled, _ = split_seeds(memorization)
    first = per_seed.iloc[0]
    first_h = hallucination.iloc[0]
    return "\n".join([
        "## Memorization and hallucination (greedy translations of the training sources)", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"- decoding: `{first.decoding}`; language ID: {first.language_id}; QE: {first_h.qe_method}; "
        f"NatHal rule: {first_h.nat_hal_rule}",
        f"- intervals: {first.interval}",
        *([f"- pooled rows: mean +- sd over seeds (counts: mean); intervals: {pooled.interval.iloc[0]}"]
          if not pooled.empty else []),
    ])


def relative_change_section(changes: pd.DataFrame) -> str:
    """Per seed, the change with its interval and no verdict; pooled over seeds, mean +- sd (the paper's form),
    the change of the pooled rates with its two-level interval, and the verdict, which only that interval gives."""
    per_seed, pooled, seeds = split_seeds(changes)
    rows = []
    for r in per_seed.itertuples(index=False):
        rows.append({
            "direction": r.direction, "seed": r.seed, "metric": r.metric,
            "student %": fmt(r.student_pct, 3), "baseline %": fmt(r.baseline_pct, 3),
            "change % [interval]": with_interval(r.relative_change_pct, r.ci_low, r.ci_high, 1),
            "paper %": fmt(r.paper_relative_change_pct, 1),
            "verdict": ONE_SEED if len(seeds) < 2 else PER_SEED,
        })
    lines = [
        "## Student vs baseline (the paper's headline comparison)", "",
        "Relative change = (student rate - baseline rate) / baseline rate. The paper's numbers are means over five "
        "WMT20 directions with CometKiwi-22 as QE (STUDY.md section 5). A verdict on the paper's claim comes only "
        "from an interval pooled over at least two seeds, and only when it excludes 0; a single seed's interval "
        "covers the pairs, not the training run, so one seed gives no verdict.", "",
    ]
    if len(seeds) < 2:
        lines += [f"**One seed ({', '.join(seeds)}): these changes are an anecdote.** Set `seeds` to two or more "
                  "for a verdict.", ""]
    lines += [markdown_table(pd.DataFrame(rows)), "", f"- intervals: {per_seed.interval.iloc[0]}"]
    if not pooled.empty:
        pooled_rows = []
        for r in pooled.itertuples(index=False):
            paper = r.paper_relative_change_pct
            pooled_rows.append({
                "direction": r.direction, "seeds": int(r.seeds), "metric": r.metric,
                "student % (mean +- sd)": mean_sd_text(r.student_pct, r.student_pct_sd, 3),
                "baseline % (mean +- sd)": mean_sd_text(r.baseline_pct, r.baseline_pct_sd, 3),
                "change % (mean +- sd)": mean_sd_text(r.relative_change_pct, r.relative_change_sd, 1),
                "pooled change % [interval]": with_interval(r.pooled_change_pct, r.ci_low, r.ci_high, 1),
                "paper %": fmt(paper, 1),
                "verdict": verdict(float(r.pooled_change_pct), float(r.ci_low), float(r.ci_high),
                                   None if pd.isna(paper) else float(paper)),
            })
        lines += ["", f"Pooled over seeds {', '.join(seeds)}: the mean +- sd of the per-seed values (the paper's "
                  "form), and the relative change of the rates pooled over seeds with its interval, which gives the "
                  "verdict.", "", markdown_table(pd.DataFrame(pooled_rows)), "",
                  f"- intervals: {pooled.interval.iloc[0]}"]
    return "\n".join(lines)


# The columns of the per-pair tables that the summary reads (the rest are not read: a CM table of 2M pairs takes
# 360 MB with these, 820 MB whole)
TABLE_COLUMNS = {"counterfactual": ["direction", "seed", "cm_models", "p_in", "p_out", "cm", "score"]}


def counterfactual_section(cm: pd.DataFrame, edges: list[float]) -> str:
    rows = []
    for (direction, seed), group in cm.groupby(["direction", "seed"]):
        values = group.cm.astype(float)
        row = {"direction": direction, "seed": seed, "pairs": len(group), "M": int(group.cm_models.iloc[0]),
               "mean p IN": fmt(group.p_in.astype(float).mean(), 3),
               "mean p OUT": fmt(group.p_out.astype(float).mean(), 3),
               "mean CM": fmt(values.mean(), 3), "median CM": fmt(values.median(), 3)}
        for edge in edges:
            row[f"CM >= {edge:g}"] = f"{100 * (values >= edge).mean():.1f}%"
        rows.append(row)
    return "\n".join([
        "## Counterfactual memorization", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"- score: {', '.join(sorted(set(cm.score.astype(str))))}; every pair IN for exactly M/2 models.",
    ])


def inheritance_section(inheritance: pd.DataFrame) -> str:
    rows = []
    for r in inheritance.itertuples(index=False):
        rows.append({
            "direction": r.direction, "seed": r.seed, "student": f"{r.student} ({r.kind})", "measure": r.measure,
            "T memorized": r.teacher_memorized,
            "inherited (T, S, not B)": f"{r.inherited} ({fmt(r.inherited_pct_of_teacher, 1)}%)",
            "easy (T and B)": f"{r.easy} ({fmt(r.easy_pct_of_teacher, 1)}%)",
            "T only": f"{r.teacher_only} ({fmt(r.teacher_only_pct_of_teacher, 1)}%)",
            "S only": r.student_only,
        })
    return "\n".join([
        "## Inheritance sets", "",
        "The teacher's memorized training pairs, split by whether the student (S) and the baseline (B, the student's "
        "architecture trained on the references) memorize them too; percentages are of the teacher's memorized pairs.",
        "", markdown_table(pd.DataFrame(rows)), "",
        f"- decoding: `{inheritance.decoding.iloc[0]}`; intervals of the inherited share in the table: "
        f"{inheritance.interval.iloc[0]}",
    ])


def predictor_section(predictor: pd.DataFrame) -> str:
    rows = []
    for r in predictor.itertuples(index=False):
        rows.append({
            "direction": r.direction, "seed": r.seed, "student": r.student,
            "replicated / pairs": f"{r.positives} / {r.pairs}",
            "AUC (mean +- sd)": "-" if pd.isna(r.auc_mean) else f"{r.auc_mean:.3f} +- {r.auc_std:.3f}",
            "folds": r.folds,
            "AUC of the baseline's flag alone": fmt(getattr(r, "baseline_flag_auc", None), 3),
            **{f"coef {name}": fmt(getattr(r, f"coef_{name}", None), 2)
               for name in ("zlib_ratio", "teacher_log_ppl", "baseline_log_ppl", "kl_teacher_baseline")},
        })
    notes = sorted({str(n) for n in predictor.note.dropna() if str(n)})
    return "\n".join([
        "## Memorization predictor", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"- target: {predictor.target.iloc[0]}; {predictor.classifier.iloc[0]}; coefficients of standardized "
        "features, fitted on all pairs.",
        *(f"- no AUC where: {n}" for n in notes),
    ])


def qe_validity_section(validity: pd.DataFrame) -> str:
    """How far to trust the QE behind the QE buckets and NatHal: its ROC AUC on misaligned vs unflagged pairs."""
    lines = []
    for r in validity.itertuples(index=False):
        if pd.isna(r.auc):
            lines.append(f"- {r.direction}: n/a ({str(r.note).removeprefix('n/a: ')}).")
        else:
            lines.append(
                f"- {r.direction}: {r.qe_method} ranks an unflagged training pair above one the corpus check flags as "
                f"misaligned (shift, lowoverlap) with ROC AUC {r.auc:.2f} ({r.positives} misaligned vs {r.negatives} "
                "unflagged pairs, none seen by the QE models; 0.5 is chance)."
            )
    return "\n".join(["## Quality estimate validity", "", *lines])


def adaptive_section(adaptive: pd.DataFrame) -> str:
    """Adaptive-SeqKD students against the SeqKD student, with the paper's numbers and a verdict per metric."""
    rows = []
    _, pooled, seeds = split_seeds(adaptive)
    unpooled = ONE_SEED if len(seeds) < 2 else PER_SEED if not pooled.empty else "per seed: no verdict"
    for r in adaptive.itertuples(index=False):
        is_bleu = str(r.metric).startswith("bleu_")
        is_pooled = str(r.seed) == POOLED
        if is_bleu:
            change = f"{fmt(r.difference, 2)} points"
            judged = "-"
        elif is_pooled:  # mean +- sd over seeds, then the change of the pooled rates with its interval
            change = (f"{mean_sd_text(r.relative_change_pct, getattr(r, 'relative_change_sd', None), 1)}; pooled "
                      f"{with_interval(r.pooled_change_pct, r.ci_low, r.ci_high, 1)} %")
            judged = verdict(float(r.pooled_change_pct), float(r.ci_low), float(r.ci_high),
                             None if pd.isna(r.paper) else float(r.paper))
            judged = judged.replace("student", r.model).replace("baseline rate 0", "SeqKD student rate 0")
        else:
            change = with_interval(r.relative_change_pct, r.ci_low, r.ci_high, 1) + " %"
            judged = unpooled
        reason = getattr(r, "no_verdict_reason", None)
        if not is_bleu and isinstance(reason, str) and reason:
            judged = f"no verdict: {reason}"
        rows.append({
            "direction": r.direction, "seed": r.seed, "model": f"{r.model} ({r.arm})", "metric": r.metric,
            "value": fmt(r.model_value, 2), "SeqKD student": fmt(r.reference_value, 2),
            "change [interval]": change, "paper": "-" if pd.isna(r.paper) else fmt(r.paper, 1),
            "verdict": judged,
        })
    per_seed = adaptive[adaptive.seed.astype(str) != POOLED]
    arms = per_seed.groupby(["direction", "seed", "model"], sort=True).first()
    return "\n".join([
        "## Adaptive-SeqKD", "",
        "The teacher fine-tuned on a selected subset (quality arm) or on a random subset of the same size (random "
        "arm) translates the training sources again for its student; each such student against the SeqKD student, "
        "on the same pairs. Paper: the quality arm lowers ExMem by 23.7% and OscHal by 58.9% at -0.2 BLEU; the "
        "random arm does not.", "",
        markdown_table(pd.DataFrame(rows)), "",
        f"- selection: {adaptive.selection.iloc[0]}",
        *(f"- {m} {d} seed {seed}: teacher fine-tuned on {int(a.fine_tuning_pairs)} pairs, "
          + (f"{int(a.fine_tuning_steps)} optimizer steps at lr {float(a.fine_tuning_lr):.2g}"
             if "fine_tuning_steps" in arms.columns and not pd.isna(a.fine_tuning_steps) else "steps not recorded")
          + drift_text(a)
          for (d, seed, m), a in arms.iterrows()),
        *(f"- intervals: {label}" for label in dict.fromkeys(adaptive.interval.dropna())),
    ])


def drift_text(arm) -> str:
    """How far an arm's fine-tuning moved the teacher (adaptive_seqkd table columns), or nothing if not recorded."""
    if "tuned_distinct_outputs" not in arm.index or pd.isna(arm.tuned_distinct_outputs):
        return ""
    copied = arm.copied_selected_target_pct
    return (f"; {int(arm.tuned_distinct_outputs)} distinct outputs for the study sources (teacher "
            f"{int(arm.teacher_distinct_outputs)}), {fmt(arm.unchanged_outputs_pct, 1)}% unchanged"
            + ("" if pd.isna(copied) else f", {fmt(copied, 1)}% of the other sources answered with a fine-tuning "
               f"pair's target (teacher {fmt(arm.teacher_copied_selected_target_pct, 1)}%)"))


def change_direction(change, low, high) -> str:
    """Which side of 0 a pooled change's interval is on (a variant has no paper number to agree with)."""
    side = interval_side(change, low, high)
    return {"undefined": "undefined (reference rate 0)",
            "includes 0": "no difference shown (interval includes 0)"}.get(side, side)


def variants_section(variants: pd.DataFrame, quality: pd.DataFrame) -> str:
    """Each distillation variant against the baseline, the SeqKD student and its equal-budget control: its rate and
    the relative change per metric; a direction only from rows pooled over two or more seeds."""
    per_seed, pooled, seeds = split_seeds(variants)
    test = quality[(quality.split == "test") & (quality.decoding == "greedy")] if "split" in quality else quality
    chrf = test.assign(seed=test.seed.astype(str)).groupby(["direction", "role"]).chrf.agg(["mean", "std", "size"])
    rows = []
    for (direction, seed, model, reference), group in variants.groupby(
            ["direction", variants.seed.astype(str), "model", "compared_with"], sort=False):
        is_pooled = seed == POOLED
        row = {"direction": direction, "seed": seed, "model": model, "compared with": reference}
        if (direction, model) in chrf.index:
            c = chrf.loc[(direction, model)]
            row["test chrF greedy"] = mean_sd_text(c["mean"], c["std"] if c["size"] > 1 else None, 1)
        for r in group.itertuples(index=False):
            if is_pooled:
                change = with_interval(r.pooled_change_pct, r.ci_low, r.ci_high, 0)
                judged = change_direction(float(r.pooled_change_pct), float(r.ci_low), float(r.ci_high))
                row[f"{r.metric} % (change %)"] = f"{fmt(r.model_pct, 1)} ({change}; {judged})"
            else:
                change = with_interval(r.relative_change_pct, r.ci_low, r.ci_high, 0)
                row[f"{r.metric} % (change %)"] = f"{fmt(r.model_pct, 1)} ({change})"
        rows.append(row)
    one_seed = sorted({m for m in per_seed.model if m not in set(pooled.model)})
    return "\n".join([
        "## Distillation variants", "",
        "Each variant's rate on the training pairs and its relative change (%) against the baseline (does the method "
        "pass on more memorization than plain training?), the SeqKD student (does it change what SeqKD passes on?), "
        "the method a variant modifies where the config names one (compare_with: Self-Evolution KD against Word-KD) "
        "and, for a variant that trains on from the student (pruning, Seq-Inter), its equal-budget control: the "
        "student trained the same extra epochs at the same rate without the method. Compare such a variant with its "
        "control, not with the student. The student's rates are in the memorization table above.", "",
        *([f"**Trained at one seed ({', '.join(one_seed)}): anecdotes, no direction is claimed for them.** "
           "`variant_seeds` (or a variant's own `seeds`) trains them at more seeds.", ""] if one_seed else []),
        markdown_table(pd.DataFrame(rows)), "",
        f"- intervals: {per_seed.interval.iloc[0]}",
        *([f"- pooled rows: rate mean over seeds; change of the pooled rates, {pooled.interval.iloc[0]}"]
          if not pooled.empty else []),
        f"- decoding: `{per_seed.decoding.iloc[0]}`",
    ])


FIGURE_QUESTIONS = {
    "model_comparison": "Do teacher, baseline and SeqKD student differ in quality, memorization and hallucination?",
    "relative_change": "How much more (or less) does the student memorize than the baseline, against the paper?",
    "memorization_map": "Which training pairs are memorized (p IN) and which generalize (p OUT)?",
    "subgroups": "In which kinds of pairs (QE, CM, confidence, duplicates) does the student replicate more?",
    "predictor_roc": "Can features known before distillation predict what the student replicates?",
    "model_comparison_variants": "How do the distillation variants compare with baseline and student?",
    "adaptive_seqkd": "Does fine-tuning the teacher on high-quality pairs lower what its student memorizes?",
}


def figures_section(corpus: str, figures: list[str]) -> str:
    """Links to the figures (PNG beside this page's folder: results/figures/<corpus>/), each with its question."""
    lines = ["## Figures", ""]
    for name in figures:
        lines += [f"**{FIGURE_QUESTIONS.get(name, name)}** (`{name}`)", "",
                  f"![{name}](../figures/{corpus}/{name}.png)", ""]
    return "\n".join(lines).rstrip()


def render(tables: dict[str, pd.DataFrame], corpus: str, cm_edges: list[float],
           figures: list[str] | None = None) -> str:
    quality = tables["translation_quality"]
    seeds = sorted(set(quality.seed.astype(str)), key=lambda s: (len(s), s))
    if len(seeds) < 2:
        seeds_line = (f"Seed: {', '.join(seeds)}. **One seed: every comparison below is an anecdote**; no verdict on "
                      "the paper's claims is given from one seed (set `seeds` to two or more).")
    else:
        seeds_line = (f"Seeds: {', '.join(seeds)}. Rows with seed `{POOLED}` pool the seeds: mean +- sd over seeds "
                      "and a two-level bootstrap interval (seeds, then pairs); verdicts come only from those.")
    return "\n\n".join([
        f"# Study summary: {corpus}",
        "Generated by the `study_summary` rule from the tables in `results/tables/" + corpus + "/`; "
        "the figures are in `results/figures/" + corpus + "/`. " + seeds_line,
        quality_section(quality),
        memorization_section(tables["memorization"], tables["hallucination"]),
        relative_change_section(tables["relative_change"]),
        counterfactual_section(tables["counterfactual"], cm_edges),
        inheritance_section(tables["inheritance"]),
        predictor_section(tables["predictor"]),
        *([qe_validity_section(tables["qe_validity"])] if "qe_validity" in tables else []),
        *([variants_section(tables["variants"], quality)] if "variants" in tables else []),
        *([adaptive_section(tables["adaptive_seqkd"])] if "adaptive_seqkd" in tables else []),
        *([figures_section(corpus, figures)] if figures else []),
        "## How this compares with the paper\n\n"
        "The paper distils WMT20 systems (millions of pairs, Transformer-base/big, GPU training, CometKiwi-22 QE). "
        "This study runs the same measurements on a corpus built offline from Debian packages with CPU-sized models; "
        "absolute rates are not comparable, and the QE here (" + str(tables["hallucination"].qe_method.iloc[0])
        + ") is on another scale than CometKiwi, so NatHal depends on its own threshold. The verdict columns above "
        "state, metric by metric, whether the direction of a change pooled over seeds agrees with the paper; with "
        "one seed they give none.",
    ]) + "\n"
