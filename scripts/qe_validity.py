"""Rule qe_validity: how well the quality estimate tells misaligned pairs from the rest. Per direction, the ROC AUC
of the QE ranking the unflagged pairs of the QE-validity set above the ones the corpus check flags as misaligned
(`shift`, `lowoverlap`); 0.5 is chance, 1 a perfect separation. None of these pairs was seen by the QE models.
A corpus without flagged pairs gets n/a and the reason."""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from memkd.io import read_tsv, write_tsv_atomic
from memkd.metrics.quality import cometkiwi_estimates, dual_xent_estimates, method_label, roc_auc
from memkd.model import pick_device
from memkd.rulerun import run


def estimates(k: int, sources: list[str], texts: list[str], direction: str) -> tuple[np.ndarray, str]:
    settings = snakemake.params.settings
    if settings["method"] == "cometkiwi":
        name = method_label("cometkiwi", "", cometkiwi_model=settings["cometkiwi_model"])
        return np.asarray(cometkiwi_estimates(sources, texts, settings["cometkiwi_model"])), name
    forward, backward = snakemake.input[f"forward{k}"], snakemake.input[f"backward{k}"]
    table = dual_xent_estimates(forward, backward, sources, texts, snakemake.params.max_tokens, pick_device())
    trained = json.loads((Path(forward) / "training_summary.json").read_text())
    src, tgt = direction.split("-")
    return table["qe"].to_numpy(), method_label("dual_xent", settings["models"], trained["training_pairs"],
                                                 (f"{src}-{tgt}", f"{tgt}-{src}"))


def main():
    torch.set_num_threads(snakemake.threads)
    corpus = snakemake.wildcards.corpus
    pairs = read_tsv(snakemake.input.validity, columns=["id", "misaligned"])
    flagged = (pairs["misaligned"] == "True").to_numpy()
    rows = []
    for k, direction in enumerate(snakemake.params.directions):
        src, tgt = direction.split("-")
        row = {"corpus": corpus, "direction": direction, "auc": np.nan, "positives": int(flagged.sum()),
               "negatives": int((~flagged).sum()), "qe_median_misaligned": np.nan, "qe_median_unflagged": np.nan}
        if not flagged.any():
            settings = snakemake.params.settings
            row["qe_method"] = settings["method"]
            row["note"] = ("n/a: no training pair outside the QE models' training pairs is flagged shift or "
                           "lowoverlap (this corpus' check flags no misaligned pairs)")
        else:
            qe, row["qe_method"] = estimates(k, pairs[src].tolist(), pairs[tgt].tolist(), direction)
            row["auc"] = round(roc_auc(qe, ~flagged), 4)  # unflagged pairs should get the higher estimate
            row["qe_median_misaligned"] = round(float(np.median(qe[flagged])), 6)
            row["qe_median_unflagged"] = round(float(np.median(qe[~flagged])), 6)
            row["note"] = "AUC: probability that an unflagged pair gets a higher QE than a misaligned one"
        rows.append(row)
        logging.info("%s %s: QE-validity AUC %s (%d misaligned, %d unflagged)", corpus, direction, row["auc"],
                     row["positives"], row["negatives"])
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(rows))


run(main, snakemake.log[0])
