"""Rule quality_estimate: a quality estimate per (source, text) pair of the study, text = reference or a model's
greedy output. dual_xent: a forward model scores the text given the source, a backward model the source given the
text (Junczys-Dowmunt 2018); the models are the QE models trained on held-out training pairs (default) or the
study's teachers (quality_estimation.models). cometkiwi: CometKiwi through unbabel-comet, when the user has it."""

import json
import logging
from pathlib import Path

import pandas as pd

from memkd.errors import InputError
from memkd.io import read_lines, read_tsv, write_tsv_atomic
from memkd.metrics.quality import cometkiwi_estimates, dual_xent_estimates, method_label
from memkd.rulerun import run


def study_texts(pairs: pd.DataFrame) -> list[str]:
    if "hypotheses" not in snakemake.input.keys():
        return pairs["tgt"].tolist()
    texts = read_lines(snakemake.input.hypotheses)
    if len(texts) != len(pairs):
        raise InputError(f"{snakemake.input.hypotheses}: {len(texts)} lines for {len(pairs)} study pairs")
    return texts


def main():
    settings = snakemake.params.settings
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    sources, texts = pairs["src"].tolist(), study_texts(pairs)
    table = pd.DataFrame({"id": pairs["id"]})
    src, tgt = snakemake.wildcards.src, snakemake.wildcards.tgt
    if settings["method"] == "dual_xent":
        estimates = dual_xent_estimates(
            snakemake.input.forward, snakemake.input.backward, sources, texts, snakemake.params.max_tokens, None,
            snakemake.params.engine, (snakemake.input.get("forward_ct2"), snakemake.input.get("backward_ct2")),
            snakemake.threads,
        )
        table = pd.concat([table, estimates], axis=1)
        trained = json.loads((Path(snakemake.input.forward) / "training_summary.json").read_text())
        name = method_label("dual_xent", settings["models"], trained["training_pairs"], (f"{src}-{tgt}", f"{tgt}-{src}"))
    else:
        table["qe"] = [round(q, 6) for q in cometkiwi_estimates(sources, texts, settings["cometkiwi_model"])]
        name = method_label("cometkiwi", "", cometkiwi_model=settings["cometkiwi_model"])
    table["qe_method"] = name
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("%s: mean QE %.4f over %d pairs", name, table["qe"].mean(), len(table))


run(main, snakemake.log[0])
