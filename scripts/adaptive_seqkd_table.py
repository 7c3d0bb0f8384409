"""Rule adaptive_seqkd_table: each Adaptive-SeqKD student (high-quality arm and random control) against the SeqKD
student: test BLEU difference per decoding, and the relative change of replication, ExMem and hallucinations on the
same training pairs with paired bootstrap intervals, beside the paper's numbers (STUDY.md section 5). With several
seeds, rows pooled over seeds (seed "pooled": mean +- sd over seeds, two-level bootstrap interval; memkd.tables)."""

from pathlib import Path

import pandas as pd

from memkd.adaptive import CRITERIA
from memkd.io import read_table, read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.tables import ci_label, paired_changes, pooled_changes, pooled_label

# Dankers & Raunak, Adaptive-SeqKD student vs SeqKD student: BLEU difference (points) and relative changes (%).
PAPER = {
    "quality": {"bleu_greedy": -0.2, "exmem": -23.7, "osc_hal_train": -58.9, "nat_hal": -10.3},
    "random": {"exmem": -11.9, "osc_hal_train": 9.8, "nat_hal": 6.7},
}


def selection_label(settings: dict) -> str:
    kept = [f"{key} {settings[key]}" for key in CRITERIA.values() if settings[key] is not None]
    return (f"{', '.join(kept) or 'no threshold'}; at most {settings['max_pairs']} by {settings['rank_by']}; "
            f"{settings['epochs']} epoch(s) at lr {settings['lr']} (constant)")


def main():
    inputs, params = snakemake.input, snakemake.params
    stats, settings = params.statistics, params.settings
    quality = read_table(inputs.quality)
    rows = []
    # (corpus, direction, variant) -> per seed: its examples, the SeqKD student's, their changes, row keys, QE method
    seeds: dict[tuple, list] = {}
    k = 0
    while f"selection{k}" in inputs.keys():
        # results/adaptive/<corpus>/<direction>/seed<seed>/selection.tsv
        corpus, direction, seed_dir = Path(inputs[f"selection{k}"]).parts[-4:-1]
        seed = int(seed_dir.removeprefix("seed"))
        unit = {"corpus": corpus, "direction": direction, "seed": seed}
        selection = read_tsv(inputs[f"selection{k}"])
        student = read_tsv(inputs[f"student{k}"])
        qe_method = selection["qe_method"].iloc[0]
        for variant, spec in params.variants.items():
            arm = spec["selection"]
            common = {**unit, "model": variant, "arm": arm, "compared_with": "student",
                      "fine_tuning_pairs": int(selection[arm].astype(int).sum()),
                      "selection": selection_label(settings)}
            for decoding in params.decodings:
                bleu = quality[(quality.direction == direction) & (quality.seed.astype(int) == seed)
                               & (quality.split == "test") & (quality.decoding == decoding)].set_index("role")["bleu"]
                rows.append({**common, "metric": f"bleu_{decoding}", "definition": f"test BLEU, {decoding} (difference in points)",
                             "model_value": float(bleu[variant]), "reference_value": float(bleu["student"]),
                             "difference": round(float(bleu[variant]) - float(bleu["student"]), 2),
                             "paper": PAPER[arm].get(f"bleu_{decoding}"), "interval": None})
            examples = read_tsv(inputs[f"{variant}{k}"])
            changes = paired_changes(examples, student, stats, qe_method)
            seeds.setdefault((corpus, direction, variant), []).append((examples, student, changes, common, qe_method))
            for change in changes:
                difference = None
                if change["model_pct"] is not None and change["reference_pct"] is not None:
                    difference = round(change["model_pct"] - change["reference_pct"], 4)
                rows.append({**common, "metric": change["metric"],
                             "definition": change["definition"] + " (relative change %)",
                             "model_value": change["model_pct"], "reference_value": change["reference_pct"],
                             "difference": difference, "relative_change_pct": change["relative_change_pct"],
                             "ci_low": change["ci_low"], "ci_high": change["ci_high"],
                             "paper": PAPER[arm].get(change["metric"]), "interval": "paired " + ci_label(stats)})
        k += 1
    for (corpus, direction, variant), per_seed in seeds.items():
        if len(per_seed) < 2:  # one seed is not pooled
            continue
        arm, common = params.variants[variant]["selection"], per_seed[0][3]
        for change in pooled_changes([p[0] for p in per_seed], [p[1] for p in per_seed], [p[2] for p in per_seed],
                                     stats, per_seed[0][4]):
            rows.append({**common, "seed": change["seed"], "fine_tuning_pairs": None, "metric": change["metric"],
                         "definition": change["definition"] + " (relative change %; mean over seeds)",
                         "model_value": change["model_pct"], "reference_value": change["reference_pct"],
                         "relative_change_pct": change["relative_change_pct"],
                         "relative_change_sd": change["relative_change_pct_sd"],
                         "pooled_change_pct": change["pooled_change_pct"], "ci_low": change["ci_low"],
                         "ci_high": change["ci_high"], "paper": PAPER[arm].get(change["metric"]),
                         "seeds": change["seeds"], "interval": pooled_label(stats)})
    columns = ["corpus", "direction", "seed", "model", "arm", "compared_with", "metric", "definition", "model_value",
               "reference_value", "difference", "relative_change_pct", "relative_change_sd", "pooled_change_pct",
               "ci_low", "ci_high", "paper", "fine_tuning_pairs", "selection", "seeds", "interval"]
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(rows).reindex(columns=columns))


run(main, snakemake.log[0])
