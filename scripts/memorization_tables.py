"""Rule memorization_tables: memorization (replication, ExMem), hallucination (OscHal, NatHal), the relative
change student vs baseline with paired intervals, as in the paper's headline comparison, and the inheritance sets of
every student (hard SeqKD, and the soft variants). With several seeds, the first three tables also get rows pooled
over seeds (seed "pooled": mean +- sd over seeds, two-level bootstrap interval; memkd.tables, the relative change
through its SeedComparisons as in the variants and Adaptive-SeqKD tables)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.metrics.inheritance import SETS, inheritance_sets, student_kind
from memkd.io import write_tsv_atomic
from memkd.rulerun import run
from memkd.stats import bootstrap_count_rate_ci
from memkd.tables import (
    SeedComparisons,
    by_direction,
    ci_label,
    defined,
    flags,
    pooled_label,
    pooled_rate_row,
    read_example_flags,
    same_ids,
    same_pairs,
)

# Paper, S vs B relative change, mean over 5 directions (STUDY.md section 5).
PAPER_RELATIVE_CHANGE = {"replication": 3.44, "exmem": 57.0, "osc_hal_train": 31.0, "nat_hal": 13.8}


def interval(values: np.ndarray, stats: dict) -> tuple:
    """(rate %, low, high) of 0/1 flags; the bootstrap needs only their counts (memkd.stats)."""
    return count_interval(int(np.count_nonzero(values)), values.size, stats)


def count_interval(flagged: int, n: int, stats: dict) -> tuple:
    """(rate %, low, high) of `flagged` of `n` examples; (None, None, None) without examples."""
    if n == 0:
        return (None, None, None)
    point, low, high = bootstrap_count_rate_ci(flagged, n, stats["bootstrap_resamples"], stats["seed"],
                                               stats["confidence"])
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
    # the probe's flags are summarised by counts, and counts are all the bootstrap of a rate needs
    probe = (summary["osc_hal_probe"], summary["osc_hal_probe_evaluated"])
    rows = []
    for inputs, (flagged, evaluated) in (("study_train", (int(osc_train.sum()), osc_train.size)), ("probe", probe)):
        osc, osc_low, osc_high = count_interval(flagged, evaluated, stats)
        row = {**unit, "inputs": inputs, "osc_hal_evaluated": int(evaluated), "osc_hal": int(flagged),
               "osc_hal_pct": osc, "osc_hal_ci_low": osc_low, "osc_hal_ci_high": osc_high}
        if inputs == "study_train":
            # NatHal's rate is over distinct non-empty (source, output) pairs, as in the paper's code
            units = flags(examples["nat_hal_unit"])
            nat, nat_low, nat_high = interval(flags(examples["nat_hal"])[units], stats)
            row.update({"nat_hal_candidates": int(flags(examples["nat_hal_candidate"]).sum()),
                        "nat_hal_units": int(units.sum()),
                        "nat_hal": int((flags(examples["nat_hal"]) & units).sum()), "nat_hal_pct": nat,
                        "nat_hal_ci_low": nat_low, "nat_hal_ci_high": nat_high,
                        "nat_hal_unique_outputs": summary["nat_hal_unique_outputs"]})
        row.update({"qe_method": summary["qe_method"], "nat_hal_rule": f">= {natural['min_sources']} sources, QE < {natural['qe_threshold']}",
                    "decoding": summary["decoding"], "interval": ci_label(stats)})
        rows.append(row)
    return rows


def relative_change_rows(unit: dict, changes: list[dict], stats: dict) -> list[dict]:
    """One seed's relative change S vs B per metric (`changes`: memkd.tables.paired_changes of student and baseline)."""
    return [{
        **unit, "metric": row["metric"], "definition": row["definition"],
        "student_pct": row["model_pct"], "baseline_pct": row["reference_pct"],
        "relative_change_pct": row["relative_change_pct"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
        "paper_relative_change_pct": PAPER_RELATIVE_CHANGE.get(row["metric"]),
        "interval": row["interval"],
    } for row in changes]


def inheritance_rows(unit: dict, roles: dict, variants: dict, stats: dict) -> list[dict]:
    """Per student and measure: the teacher's memorized examples split into teacher-only, inherited and easy."""
    teacher_summary, teacher = roles["teacher"]
    rows = []
    for role in ["student", *[r for r in variants if r in roles]]:
        summary, student = roles[role]
        baseline = roles["baseline"][1]
        if not (same_ids(student, baseline) and same_ids(student, teacher)):
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


def memorization_parts(summary: dict, examples: pd.DataFrame) -> dict:
    """against -> rate column -> (numerator, denominator) per-pair 0/1 arrays behind the memorization row's rates."""
    everything = np.ones(len(examples), dtype=bool)
    against = {"corpus": ("exact_match", "exmem_candidate", "exmem")}
    if summary["role"] != "teacher":
        against["teacher"] = ("exact_match_teacher", "exmem_teacher_candidate", "exmem_teacher")
    parts = {}
    for name, (match, candidate, memorized) in against.items():
        candidates = flags(examples[candidate])
        parts[name] = {"replication_pct": (flags(examples[match]), everything),
                       "exmem_pct": (flags(examples[memorized]) & candidates, candidates)}
    return parts


def hallucination_parts(summary: dict, examples: pd.DataFrame) -> dict:
    """inputs -> rate column -> (numerator, denominator) 0/1 arrays behind the hallucination row's rates; the
    probe's flags are rebuilt from its counts, so they are not paired across seeds."""
    probe = np.zeros(summary["osc_hal_probe_evaluated"], dtype=bool)
    probe[: summary["osc_hal_probe"]] = True
    return {
        "study_train": {"osc_hal_pct": (flags(examples["osc_hal"]), defined(examples["osc_hal"])),
                        "nat_hal_pct": (flags(examples["nat_hal"]) & flags(examples["nat_hal_unit"]),
                                        flags(examples["nat_hal_unit"]))},
        "probe": {"osc_hal_pct": (probe, np.ones(probe.size, dtype=bool))},
    }


def pooled_tables(memorization: list[dict], hallucination: list[dict], units: dict, stats: dict) -> tuple:
    """Rows pooled over seeds for the memorization and hallucination tables, one per model and table row kind;
    `units` maps (corpus, direction, seed) to {role: (summary, examples)}."""
    models: dict[tuple, list] = {}
    for (corpus, direction, seed), roles in units.items():
        for role, (summary, examples) in roles.items():
            models.setdefault((corpus, direction, role), []).append((summary, examples))
    pooled_memorization, pooled_hallucination = [], []
    for (corpus, direction, role), seeds in models.items():
        if len(seeds) < 2:  # a variant trained at one seed (variant_seeds): its per-seed rows are all there is
            continue
        paired = same_pairs([examples for _, examples in seeds])
        mine = lambda rows: [r for r in rows if (r["corpus"], r["direction"], r["role"]) == (corpus, direction, role)]
        parts = [memorization_parts(summary, examples) for summary, examples in seeds]
        for against in parts[0]:
            rows = [r for r in mine(memorization) if r["against"] == against]
            pooled_memorization.append(pooled_rate_row(
                rows, [p[against] for p in parts], ["corpus", "direction", "role", "against"],
                ["pairs", "replication", "exmem_candidates", "exmem"], stats, paired))
        parts = [hallucination_parts(summary, examples) for summary, examples in seeds]
        for inputs in parts[0]:
            rows = [r for r in mine(hallucination) if r["inputs"] == inputs]
            pooled_hallucination.append(pooled_rate_row(
                rows, [p[inputs] for p in parts], ["corpus", "direction", "role", "inputs"],
                ["osc_hal_evaluated", "osc_hal", "nat_hal_candidates", "nat_hal_units", "nat_hal", "nat_hal_unique_outputs"],
                stats,
                paired and inputs != "probe"))
    return pooled_memorization, pooled_hallucination


def pooled_change_rows(by_seed: SeedComparisons, stats: dict) -> list[dict]:
    """Relative change S vs B pooled over the seeds of each direction (`by_seed`: every seed's student against its
    baseline, keyed by (corpus, direction))."""
    rows = []
    for (corpus, direction), _, pooled in by_seed.pooled():
        for row in pooled:
            rows.append({
                "corpus": corpus, "direction": direction, "seed": row["seed"], "metric": row["metric"],
                "definition": row["definition"], "student_pct": row["model_pct"], "student_pct_sd": row["model_pct_sd"],
                "baseline_pct": row["reference_pct"], "baseline_pct_sd": row["reference_pct_sd"],
                "relative_change_pct": row["relative_change_pct"], "relative_change_sd": row["relative_change_pct_sd"],
                "pooled_change_pct": row["pooled_change_pct"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                "paper_relative_change_pct": PAPER_RELATIVE_CHANGE.get(row["metric"]), "seeds": row["seeds"],
                "interval": pooled_label(stats),
            })
    return rows


def sd_beside(frame: pd.DataFrame) -> pd.DataFrame:
    """Each `<column>_sd` of the pooled rows right after its column (`relative_change_sd` after the change), the
    change of the pooled rates before its interval, `seeds` after `seed`."""
    columns = [c for c in frame.columns if not c.endswith("_sd") and c not in ("pooled_change_pct", "seeds")]
    for sd in [c for c in frame.columns if c.endswith("_sd")]:
        value = sd.removesuffix("_sd")
        value = value if value in columns else value + "_pct"
        columns.insert(columns.index(value) + 1, sd)
    if "pooled_change_pct" in frame:
        columns.insert(columns.index("ci_low"), "pooled_change_pct")
    if "seeds" in frame:
        columns.insert(columns.index("seed") + 1, "seeds")
    return frame[columns]


def direction_tables(summaries: list[dict], paths: list[str], stats: dict, natural: dict, variants: dict,
                     pooled: bool) -> tuple[list, list, list, list, list, list, list]:
    """The rows of one direction's models (every unit of a direction reads only that direction's flags): per seed
    memorization, hallucination, relative change and inheritance rows, then, if `pooled`, the rows pooled over
    seeds of the first three."""
    memorization, hallucination, changes, inheritance = [], [], [], []
    by_unit: dict[tuple, dict] = {}
    known_ids: list = []  # every model of a direction covers the same pairs: their ids are held once
    for summary, path in zip(summaries, paths, strict=True):
        frame = read_example_flags(path, known_ids)  # flags only, not the outputs
        if len(frame) != summary["pairs"]:
            raise InputError(f"examples of {summary['direction']} {summary['role']}: {len(frame)} rows, summary says {summary['pairs']}")
        memorization += memorization_rows(summary, frame, stats)
        hallucination += hallucination_rows(summary, frame, stats, natural)
        by_unit.setdefault((summary["corpus"], summary["direction"], summary["seed"]), {})[summary["role"]] = (summary, frame)
    by_seed = SeedComparisons(stats)  # each seed's student against its baseline, pooled per direction
    for (corpus, direction, seed), roles in by_unit.items():
        unit = {"corpus": corpus, "direction": direction, "seed": seed}
        student, baseline, qe_method = roles["student"][1], roles["baseline"][1], roles["student"][0]["qe_method"]
        if not same_ids(student, baseline):
            raise InputError(f"student and baseline examples of {unit} cover different pairs")
        changes += relative_change_rows(unit, by_seed.add((corpus, direction), student, baseline, qe_method), stats)
        inheritance += inheritance_rows(unit, roles, variants, stats)
    if not pooled:  # one seed is not pooled: a pooled row would only repeat it
        return memorization, hallucination, changes, inheritance, [], [], []
    pooled_memorization, pooled_hallucination = pooled_tables(memorization, hallucination, by_unit, stats)
    return (memorization, hallucination, changes, inheritance, pooled_memorization, pooled_hallucination,
            pooled_change_rows(by_seed, stats))


def main():
    stats, natural = snakemake.params.statistics, snakemake.params.natural
    summaries = [json.loads(Path(p).read_text()) for p in snakemake.input.summaries]
    pooled = len({summary["seed"] for summary in summaries}) > 1
    # the rows keep the order of a job that read every model at once
    tables = [[] for _ in range(7)]
    for mine in by_direction(summaries).values():
        parts = direction_tables([summaries[k] for k in mine], [snakemake.input.examples[k] for k in mine], stats,
                                 natural, snakemake.params.variants, pooled)
        for table, rows in zip(tables, parts):
            table += rows
    memorization, hallucination, changes, inheritance, pooled_memorization, pooled_hallucination, pooled_changes = tables
    write_tsv_atomic(snakemake.output.memorization, sd_beside(pd.DataFrame(memorization + pooled_memorization)))
    write_tsv_atomic(snakemake.output.hallucination, sd_beside(pd.DataFrame(hallucination + pooled_hallucination)))
    write_tsv_atomic(snakemake.output.relative_change, sd_beside(pd.DataFrame(changes + pooled_changes)))
    write_tsv_atomic(snakemake.output.inheritance, pd.DataFrame(inheritance))


run(main, snakemake.log[0])
