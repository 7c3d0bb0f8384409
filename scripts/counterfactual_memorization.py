"""Rule counterfactual_memorization: per study pair, mean p over IN models, over OUT models, and CM = IN - OUT,
p being the geometric-mean token probability of the reference (or the paper's 2 ** mean ln p)."""

import logging
import math

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.io import read_columns, read_tsv, write_tsv_atomic
from memkd.metrics.counterfactual import counterfactual_memorization, geometric_mean_probability
from memkd.rulerun import run


def main():
    design_table = read_tsv(snakemake.input.design, columns=["id", "group_size", "repetitions"])  # and a column per model
    models = list(snakemake.params.models)
    missing = [m for m in models if m not in design_table.columns]
    if missing or len(snakemake.input.scores) != len(models):
        in_design = [c for c in design_table.columns if c.startswith("cm")]
        raise InputError(
            f"{snakemake.input.design}: the CM design has models {in_design}, "
            f"the config asks for {models} ({len(snakemake.input.scores)} score files)"
        )
    base = math.e if str(snakemake.params.score_base) == "e" else 2.0
    probabilities = np.zeros((len(models), len(design_table)))
    for k, path in enumerate(snakemake.input.scores):
        scores = read_columns(path, ["id", "tokens", "log_prob"])
        if scores["id"].tolist() != design_table["id"].tolist():
            raise InputError(f"{path}: {len(scores)} scored pairs whose ids differ from the CM design's {len(design_table)}")
        probabilities[k] = [
            geometric_mean_probability(float(lp), int(t), base) for t, lp in zip(scores["tokens"], scores["log_prob"])
        ]
    design = (design_table[models].to_numpy() == "1").T  # [models, pairs]
    in_mean, out_mean, cm = counterfactual_memorization(probabilities, design)
    table = pd.DataFrame(
        {
            "id": design_table["id"],
            "group_size": design_table["group_size"].astype(int),
            "repetitions": design_table["repetitions"].astype(int),
            "in_models": design.sum(0),
            "out_models": (~design).sum(0),
            "p_in": in_mean.round(6),
            "p_out": out_mean.round(6),
            "cm": cm.round(6),
            "score": "exp(mean ln p)" if base == math.e else "2 ** (mean ln p) (paper code)",
        }
    )
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("CM over %d pairs from %d models: mean %.4f, max %.4f", len(table), len(models), cm.mean(), cm.max())


run(main, snakemake.log[0])
