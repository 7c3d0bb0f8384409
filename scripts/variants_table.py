"""Rule variants_table: every distillation variant (Adaptive-SeqKD has its own table) against the models it must be
judged by, on the same pairs: the baseline (does the method pass on more memorization than plain training?), the
SeqKD student (does it change what SeqKD passes on?), the variants it is judged against (compare_with, e.g.
Self-Evolution KD against Word-KD) and, for a variant that trains on from the student, its equal-budget control (the same extra epochs without the method). Per seed the relative change with its paired
interval; with two or more seeds of a variant, rows pooled over them (memkd.tables.SeedComparisons)."""

import json
from pathlib import Path

import pandas as pd

from memkd.errors import InputError
from memkd.io import write_tsv_atomic
from memkd.rulerun import run
from memkd.tables import SeedComparisons, by_direction, pooled_label, read_example_flags

COLUMNS = ["corpus", "direction", "seed", "seeds", "model", "compared_with", "metric", "definition", "model_pct",
           "model_pct_sd", "reference_pct", "reference_pct_sd", "relative_change_pct", "relative_change_pct_sd",
           "pooled_change_pct", "ci_low", "ci_high", "decoding", "interval"]


def comparisons(variant: str, spec: dict) -> list[str]:
    """The models a variant is compared with, the closest comparison last: baseline, student, the methods it is
    judged against (compare_with) and its equal-budget control."""
    return ["baseline", "student", *(spec.get("compare_with") or []), *([spec["control"]] if spec.get("control") else [])]


def direction_rows(inputs: list[tuple[dict, str]], variants: dict, stats: dict) -> tuple[list, list]:
    """One direction's per-seed rows and pooled rows (`inputs`: (summary, examples path) of its models)."""
    units: dict[tuple, dict] = {}
    known_ids: list = []  # the direction's models cover the same pairs: their ids are held once
    for summary, examples_path in inputs:
        units.setdefault((summary["corpus"], summary["direction"], summary["seed"]), {})[summary["role"]] = (
            summary, read_example_flags(examples_path, known_ids))  # flags only, not the outputs
    rows, by_seed = [], SeedComparisons(stats)
    for (corpus, direction, seed), roles in units.items():
        for variant, spec in variants.items():
            if variant not in roles:  # not trained at this seed (variant_seeds)
                continue
            summary, examples = roles[variant]
            for reference in comparisons(variant, spec):
                if reference not in roles:
                    raise InputError(f"{direction} seed {seed}: {variant} is compared with {reference}, which has no "
                                     "memorization examples at that seed")
                changes = by_seed.add((corpus, direction, variant, reference), examples, roles[reference][1],
                                      summary["qe_method"], summary)
                unit = {"corpus": corpus, "direction": direction, "seed": seed, "model": variant,
                        "compared_with": reference, "decoding": summary["decoding"]}
                rows += [{**unit, **change} for change in changes]
    pooled = []
    for (corpus, direction, variant, reference), summaries, changes in by_seed.pooled():
        for change in changes:
            pooled.append({"corpus": corpus, "direction": direction, "model": variant, "compared_with": reference,
                           "decoding": summaries[0]["decoding"], **change, "interval": pooled_label(stats)})
    return rows, pooled


def main():
    stats, variants = snakemake.params.statistics, snakemake.params.variants
    inputs = [(json.loads(Path(summary).read_text()), examples)
              for summary, examples in zip(snakemake.input.summaries, snakemake.input.examples, strict=True)]
    # per-seed rows first, then the pooled ones, as when every model was read at once
    rows, pooled = [], []
    for positions in by_direction([summary for summary, _ in inputs]).values():
        mine, theirs = direction_rows([inputs[k] for k in positions], variants, stats)
        rows += mine
        pooled += theirs
    frame = pd.DataFrame(rows + pooled).reindex(columns=COLUMNS)
    write_tsv_atomic(snakemake.output[0], frame)


run(main, snakemake.log[0])
