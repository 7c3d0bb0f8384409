"""Rule adaptive_seqkd_table: each Adaptive-SeqKD student (high-quality arm and random control) against the SeqKD
student: test BLEU difference per decoding, and the relative change of replication, ExMem and hallucinations on the
same training pairs with paired bootstrap intervals, beside the paper's numbers (STUDY.md section 5). With several
seeds, rows pooled over seeds (seed "pooled": mean +- sd over seeds, two-level bootstrap interval; memkd.tables).
Every row says how its arm's teacher was fine-tuned (pairs, optimizer steps, learning rate), how far that moved it
(distinct outputs of the study sources, unchanged outputs, sources answered with a fine-tuning pair's target) and, in
no_verdict_reason, why its comparison carries no verdict (too few pairs or steps; empty when it may carry one)."""

import json
from pathlib import Path

import pandas as pd

from memkd.adaptive import CRITERIA, no_verdict_reason, teacher_drift
from memkd.errors import InputError
from memkd.io import read_table, read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.tables import SeedComparisons, pooled_label

# Dankers & Raunak, Adaptive-SeqKD student vs SeqKD student: BLEU difference (points) and relative changes (%).
PAPER = {
    "quality": {"bleu_greedy": -0.2, "exmem": -23.7, "osc_hal_train": -58.9, "nat_hal": -10.3},
    "random": {"exmem": -11.9, "osc_hal_train": 9.8, "nat_hal": 6.7},
}


def selection_label(settings: dict) -> str:
    kept = [f"{key} {settings[key]}" for key in CRITERIA.values() if settings[key] is not None]
    base = "2 ** (mean ln p)" if str(settings["confidence_base"]) == "2" else "exp(mean ln p)"
    return (f"{', '.join(kept) or 'no threshold'} (more than); confidence {base} of the teacher's "
            f"{settings['confidence_of'].replace('_', ' ')}; at most {settings['max_pairs']} by {settings['rank_by']}; "
            f"{settings['epochs']} epoch(s), at least {settings['min_steps']} steps, at lr {settings['lr']} (constant)")


def fine_tuning(model_dir: str, pairs: int, settings: dict) -> dict:
    """How one arm's teacher was fine-tuned, from its training summary, and whether the arm may carry a verdict."""
    summary = json.loads((Path(model_dir) / "training_summary.json").read_text())
    return {"fine_tuning_pairs": pairs, "fine_tuning_steps": int(summary["steps"]),
            "fine_tuning_lr": float(summary["settings"]["lr"]),
            "no_verdict_reason": no_verdict_reason(pairs, int(summary["steps"]), settings["min_pairs"])}


def main():
    inputs, params = snakemake.input, snakemake.params
    stats, settings = params.statistics, params.settings
    quality = read_table(inputs.quality)
    rows = []
    # (corpus, direction, variant) -> per seed: its changes over the SeqKD student, kept with its row keys
    by_seed = SeedComparisons(stats)
    k = 0
    while f"selection{k}" in inputs.keys():
        # results/adaptive/<corpus>/<direction>/seed<seed>/selection.tsv
        corpus, direction, seed_dir = Path(inputs[f"selection{k}"]).parts[-4:-1]
        seed = int(seed_dir.removeprefix("seed"))
        unit = {"corpus": corpus, "direction": direction, "seed": seed}
        selection = read_tsv(inputs[f"selection{k}"])
        student = read_tsv(inputs[f"student{k}"])
        qe_method = selection["qe_method"].iloc[0]
        teacher_outputs = Path(inputs[f"teacher_outputs{k}"]).read_text(encoding="utf-8").splitlines()
        for variant, spec in params.variants.items():
            arm = spec["selection"]
            tuned = read_tsv(inputs[f"tuned_{variant}{k}"])
            if tuned["id"].tolist() != selection["id"].tolist():
                raise InputError(f"{inputs[f'tuned_{variant}{k}']}: its ids are not the study pairs' of "
                                 f"{inputs[f'selection{k}']} in the same order")
            drift = teacher_drift(teacher_outputs, tuned["tgt"].tolist(), tuned["reference"].tolist(),
                                  selection[arm].astype(int).to_numpy())
            common = {**unit, "model": variant, "arm": arm, "compared_with": "student",
                      **fine_tuning(inputs[f"teacher_{arm}{k}"], int(selection[arm].astype(int).sum()), settings),
                      **drift, "selection": selection_label(settings)}
            for decoding in params.decodings:
                bleu = quality[(quality.direction == direction) & (quality.seed.astype(int) == seed)
                               & (quality.split == "test") & (quality.decoding == decoding)].set_index("role")["bleu"]
                rows.append({**common, "metric": f"bleu_{decoding}", "definition": f"test BLEU, {decoding} (difference in points)",
                             "model_value": float(bleu[variant]), "reference_value": float(bleu["student"]),
                             "difference": round(float(bleu[variant]) - float(bleu["student"]), 2),
                             "paper": PAPER[arm].get(f"bleu_{decoding}"), "interval": None})
            examples = read_tsv(inputs[f"{variant}{k}"])
            changes = by_seed.add((corpus, direction, variant), examples, student, qe_method, common)
            for change in changes:
                difference = None
                if change["model_pct"] is not None and change["reference_pct"] is not None:
                    difference = round(change["model_pct"] - change["reference_pct"], 4)
                rows.append({**common, "metric": change["metric"],
                             "definition": change["definition"] + " (relative change %)",
                             "model_value": change["model_pct"], "reference_value": change["reference_pct"],
                             "difference": difference, "relative_change_pct": change["relative_change_pct"],
                             "ci_low": change["ci_low"], "ci_high": change["ci_high"],
                             "paper": PAPER[arm].get(change["metric"]), "interval": change["interval"]})
        k += 1
    for (corpus, direction, variant), commons, changes in by_seed.pooled():
        arm, common = params.variants[variant]["selection"], commons[0]
        # pooled over seeds: no verdict when any seed's arm has none
        reasons = [f"seed {c['seed']}: {c['no_verdict_reason']}" for c in commons if c["no_verdict_reason"]]
        for change in changes:
            rows.append({**common, "seed": change["seed"], "fine_tuning_pairs": None, "fine_tuning_steps": None,
                         "fine_tuning_lr": None, "no_verdict_reason": "; ".join(reasons) or None,
                         "metric": change["metric"],
                         "definition": change["definition"] + " (relative change %; mean over seeds)",
                         "model_value": change["model_pct"], "reference_value": change["reference_pct"],
                         "relative_change_pct": change["relative_change_pct"],
                         "relative_change_sd": change["relative_change_pct_sd"],
                         "pooled_change_pct": change["pooled_change_pct"], "ci_low": change["ci_low"],
                         "ci_high": change["ci_high"], "paper": PAPER[arm].get(change["metric"]),
                         "seeds": change["seeds"], "interval": pooled_label(stats)})
    columns = ["corpus", "direction", "seed", "model", "arm", "compared_with", "metric", "definition", "model_value",
               "reference_value", "difference", "relative_change_pct", "relative_change_sd", "pooled_change_pct",
               "ci_low", "ci_high", "paper", "fine_tuning_pairs", "fine_tuning_steps", "fine_tuning_lr",
               "teacher_distinct_outputs", "tuned_distinct_outputs", "unchanged_outputs_pct",
               "copied_selected_target_pct", "teacher_copied_selected_target_pct",
               "no_verdict_reason", "selection", "seeds", "interval"]
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(rows).reindex(columns=columns))


run(main, snakemake.log[0])
