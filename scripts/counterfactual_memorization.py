"""Rule counterfactual_memorization: per study pair, mean p over IN models, over OUT models, and CM = IN - OUT,
p being the geometric-mean token probability of the reference (or the paper's 2 ** mean ln p)."""

import logging
import math
from itertools import zip_longest

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.io import iter_chunks, table_columns, write_tsv_chunks_atomic
from memkd.metrics.counterfactual import counterfactual_memorization, geometric_mean_probability
from memkd.rulerun import run


def main():
    design_path, score_paths = snakemake.input.design, list(snakemake.input.scores)
    columns = table_columns(design_path)  # id, group_size, repetitions and a column per model
    missing_columns = [c for c in ["id", "group_size", "repetitions"] if c not in columns]
    if missing_columns:
        raise InputError(f"{design_path}: missing column(s) {missing_columns}; found {columns}")
    models = list(snakemake.params.models)
    missing = [m for m in models if m not in columns]
    if missing or len(score_paths) != len(models):
        in_design = [c for c in columns if c.startswith("cm")]
        raise InputError(
            f"{design_path}: the CM design has models {in_design}, the config asks for {models} "
            f"({len(score_paths)} score files)"
        )
    base = math.e if str(snakemake.params.score_base) == "e" else 2.0
    score = "exp(mean ln p)" if base == math.e else "2 ** (mean ln p) (paper code)"
    rows = {"design": 0, **{path: 0 for path in score_paths}}
    summary, culprit = {"sum": 0.0, "max": -math.inf}, {"path": None}

    def chunks():
        # the design and every model's scores side by side, a chunk of pairs at a time
        readers = [iter_chunks(design_path, ["id", "group_size", "repetitions", *models]),
                   *(iter_chunks(path, ["id", "tokens", "log_prob"]) for path in score_paths)]
        follows = True
        for design_chunk, *score_chunks in zip_longest(*readers):
            rows["design"] += 0 if design_chunk is None else len(design_chunk)
            for path, scores in zip(score_paths, score_chunks):
                rows[path] += 0 if scores is None else len(scores)
            if follows:  # the first score file whose ids leave the design's
                culprit["path"] = next((path for path, scores in zip(score_paths, score_chunks) if
                                        design_chunk is None or scores is None
                                        or scores["id"].tolist() != design_chunk["id"].tolist()), None)
                follows = culprit["path"] is None
            if not follows:  # past a mismatch, only counted for the message
                continue
            probabilities = np.array([[geometric_mean_probability(float(lp), int(t), base)
                                       for t, lp in zip(scores["tokens"], scores["log_prob"])]
                                      for scores in score_chunks]).reshape(len(models), len(design_chunk))
            design = (design_chunk[models].to_numpy() == "1").T  # [models, pairs]
            in_mean, out_mean, cm = counterfactual_memorization(probabilities, design)
            summary["sum"] += float(cm.sum())
            summary["max"] = max(summary["max"], float(cm.max(initial=-math.inf)))
            yield pd.DataFrame({
                "id": design_chunk["id"],
                "group_size": design_chunk["group_size"].astype(int),
                "repetitions": design_chunk["repetitions"].astype(int),
                "in_models": design.sum(0),
                "out_models": (~design).sum(0),
                "p_in": in_mean.round(6),
                "p_out": out_mean.round(6),
                "cm": cm.round(6),
                "score": score,
            })
        if not follows:  # raised before the table is renamed into place
            path = culprit["path"]
            raise InputError(f"{path}: {rows[path]} scored pairs whose ids differ from the CM design's {rows['design']}")

    pairs = write_tsv_chunks_atomic(snakemake.output[0], chunks())
    logging.info("CM over %d pairs from %d models: mean %.4f, max %.4f", pairs, len(models),
                 summary["sum"] / max(pairs, 1), summary["max"])


run(main, snakemake.log[0])
