"""Rule memorization_tables: memorization (replication, ExMem), hallucination (OscHal, NatHal), the relative
change student vs baseline with paired bootstrap intervals, as in the paper's headline comparison, and the
inheritance sets of every student (hard SeqKD, and the soft variants)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.metrics.inheritance import SETS, inheritance_sets, student_kind
from memkd.io import read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.stats import bootstrap_rate_ci
from memkd.tables import ci_label, defined, flags, paired_changes

# Paper, S vs B relative change, mean over 5 directions (STUDY.md section 5).
PAPER_RELATIVE_CHANGE = {"replication": 3.44, "exmem": 57.0, "osc_hal_train": 31.0, "nat_hal": 13.8}


def interval(values: np.ndarray, stats: dict) -> tuple:
    if values.size == 0:
        return (None, None, None)
    point, low, high = bootstrap_rate_ci(values, stats["bootstrap_resamples"], stats["seed"], stats["confidence"])
    return round(point, 4), round(low, 4), round(high, 4)


def memorization_rows(summary: dict, examples: pd.DataFrame, stats: dict) -> list[dict]:
    unit = {k: summary[k] for k in ("corpus", "direction", "seed", "role")}
    rows = []
    against = [("corpus", "exact_match", "exmem_candidate", "exmem")]
    if summary["role"] != "teacher":
        against.append(("teacher", "exact_match_teacher", "exmem_teacher_candidate", "exmem_teacher"))
    for name, match, candidate, memorized in against:
        rep, rep_low, rep_high = interval(flags(examples[match]), stats)
        candidates = flags(examples[candidate])
        ex, ex_low, ex_high = interval(flags(examples[memorized])[candidates], stats)
        rows.append({
            **unit, "against": name, "pairs": len(examples),
            "replication": int(flags(examples[match]).sum()), "replication_pct": rep,
            "replication_ci_low": rep_low, "replication_ci_high": rep_high,
            "exmem_candidates": int(candidates.sum()), "exmem": int(flags(examples[memorized]).sum()),
            "exmem_pct": ex, "exmem_ci_low": ex_low, "exmem_ci_high": ex_high,
            "decoding": summary["decoding"], "language_id": summary["language_id"], "interval": ci_label(stats),
        })
    return rows


def hallucination_rows(summary: dict, examples: pd.DataFrame, stats: dict, natural: dict) -> list[dict]:
    unit = {k: summary[k] for k in ("corpus", "direction", "seed", "role")}
    osc_train = flags(examples["osc_hal"])[defined(examples["osc_hal"])]
    # the probe's flags are summarised by counts; rebuilding them as 0/1 values gives the same bootstrap
    probe = np.zeros(summary["osc_hal_probe_evaluated"], dtype=bool)
    probe[: summary["osc_hal_probe"]] = True
    rows = []
    for inputs, values in (("study_train", osc_train), ("probe", probe)):
        osc, osc_low, osc_high = interval(values, stats)
        row = {**unit, "inputs": inputs, "osc_hal_evaluated": int(values.size), "osc_hal": int(values.sum()),
               "osc_hal_pct": osc, "osc_hal_ci_low": osc_low, "osc_hal_ci_high": osc_high}
        if inputs == "study_train":
            nat, nat_low, nat_high = interval(flags(examples["nat_hal"]), stats)
            row.update({"nat_hal_candidates": int(flags(examples["nat_hal_candidate"]).sum()),
                        "nat_hal": int(flags(examples["nat_hal"]).sum()), "nat_hal_pct": nat,
                        "nat_hal_ci_low": nat_low, "nat_hal_ci_high": nat_high,
                        "nat_hal_unique_outputs": summary["nat_hal_unique_outputs"]})
        row.update({"qe_method": summary["qe_method"], "nat_hal_rule": f">= {natural['min_sources']} sources, QE < {natural['qe_threshold']}",
                    "decoding": summary["decoding"], "interval": ci_label(stats)})
        rows.append(row)
    return rows


def relative_change_rows(unit: dict, student: pd.DataFrame, baseline: pd.DataFrame, stats: dict, qe_method: str) -> list[dict]:
    if student["id"].tolist() != baseline["id"].tolist():
        raise InputError(f"student and baseline examples of {unit} cover different pairs")
    return [{
        **unit, "metric": row["metric"], "definition": row["definition"],
        "student_pct": row["model_pct"], "baseline_pct": row["reference_pct"],
        "relative_change_pct": row["relative_change_pct"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
        "paper_relative_change_pct": PAPER_RELATIVE_CHANGE.get(row["metric"]),
        "interval": "paired " + ci_label(stats),
    } for row in paired_changes(student, baseline, stats, qe_method)]


def inheritance_rows(unit: dict, roles: dict, variants: dict, stats: dict) -> list[dict]:
    """Per student and measure: the teacher's memorized examples split into teacher-only, inherited and easy."""
    teacher_summary, teacher = roles["teacher"]
    rows = []
    for role in ["student", *[r for r in variants if r in roles]]:
        summary, student = roles[role]
        baseline = roles["baseline"][1]
        if not (student["id"].tolist() == baseline["id"].tolist() == teacher["id"].tolist()):
            raise InputError(f"teacher, baseline and {role} examples of {unit} cover different pairs")
        for measure, column in (("replication", "exact_match"), ("exmem", "exmem")):
            t = flags(teacher[column])
            sets = inheritance_sets(t, flags(baseline[column]), flags(student[column]))
            share, low, high = interval(sets["inherited"][t], stats)
            rows.append({
                **unit, "student": role, "kind": student_kind(role, variants), "measure": measure,
                "pairs": len(teacher), "teacher_memorized": int(t.sum()),
                **{name: int(sets[name].sum()) for name in SETS},
                **{f"{name}_pct_of_teacher": round(100 * sets[name].sum() / t.sum(), 2) if t.sum() else None
                   for name in SETS[:3]},
                "inherited_share_ci_low": low, "inherited_share_ci_high": high,
                "decoding": summary["decoding"], "interval": ci_label(stats) + " (teacher-memorized pairs)",
            })
    return rows


def main():
    stats, natural = snakemake.params.statistics, snakemake.params.natural
    summaries = [json.loads(Path(p).read_text()) for p in snakemake.input.summaries]
    examples = [read_tsv(p) for p in snakemake.input.examples]
    memorization, hallucination, changes, inheritance = [], [], [], []
    by_unit: dict[tuple, dict] = {}
    for summary, frame in zip(summaries, examples):
        if len(frame) != summary["pairs"]:
            raise InputError(f"examples of {summary['direction']} {summary['role']}: {len(frame)} rows, summary says {summary['pairs']}")
        memorization += memorization_rows(summary, frame, stats)
        hallucination += hallucination_rows(summary, frame, stats, natural)
        by_unit.setdefault((summary["corpus"], summary["direction"], summary["seed"]), {})[summary["role"]] = (summary, frame)
    for (corpus, direction, seed), roles in by_unit.items():
        unit = {"corpus": corpus, "direction": direction, "seed": seed}
        changes += relative_change_rows(unit, roles["student"][1], roles["baseline"][1], stats, roles["student"][0]["qe_method"])
        inheritance += inheritance_rows(unit, roles, snakemake.params.variants, stats)
    write_tsv_atomic(snakemake.output.memorization, pd.DataFrame(memorization))
    write_tsv_atomic(snakemake.output.hallucination, pd.DataFrame(hallucination))
    write_tsv_atomic(snakemake.output.relative_change, pd.DataFrame(changes))
    write_tsv_atomic(snakemake.output.inheritance, pd.DataFrame(inheritance))


run(main, snakemake.log[0])
