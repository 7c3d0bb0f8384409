"""Rule adaptive_selection: per study pair the Adaptive-SeqKD criteria (sentence chrF of the teacher's greedy output
against the reference, teacher confidence, QE of the reference pair, source words), the high-quality selection and
its random control of the same size, and both as training files for the teacher's fine-tuning."""

import logging

import numpy as np

from memkd.adaptive import CRITERIA, eligible, select_high_quality, select_random, sentence_chrf
from memkd.errors import InputError
from memkd.io import read_lines, read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.tables import aligned, geometric_mean_probability


def main():
    settings, inputs = snakemake.params.settings, snakemake.input
    pairs = read_tsv(inputs.pairs, columns=["id", "src", "tgt"])
    ids = pairs["id"].tolist()
    hypotheses = read_lines(inputs.hypotheses)
    if len(hypotheses) != len(pairs):
        raise InputError(f"{inputs.hypotheses}: {len(hypotheses)} lines for {len(pairs)} pairs in {inputs.pairs}")
    scores = aligned(inputs.scores, read_tsv(inputs.scores, columns=["id", "tokens", "log_prob"]), ids)
    qe = aligned(inputs.qe, read_tsv(inputs.qe, columns=["id", "qe", "qe_method"]), ids)
    features = pairs[["id"]].assign(
        chrf=np.round(sentence_chrf(hypotheses, pairs["tgt"].tolist()), 4),
        # the same teacher confidence as the subgroup table: geometric-mean probability of the reference
        confidence=np.round(geometric_mean_probability(scores), 6),
        qe=qe["qe"].astype(float),
        source_words=pairs["src"].str.split().str.len(),
    )
    passes = eligible(features, settings)
    quality = select_high_quality(features, settings)
    if not quality.any():
        raise InputError(
            f"config key adaptive_seqkd: no study pair of {inputs.pairs} passes the thresholds "
            f"({', '.join(f'{key} {settings[key]}' for key in CRITERIA.values())}); best chrF {features['chrf'].max():.1f}, best confidence "
            f"{features['confidence'].max():.3f}: lower the thresholds"
        )
    random = select_random(len(pairs), int(quality.sum()), [settings["seed"], int(snakemake.wildcards.seed)])
    write_tsv_atomic(snakemake.output.selection, features.assign(
        eligible=passes.astype(int), quality=quality.astype(int), random=random.astype(int),
        qe_method=qe["qe_method"],
    ))
    write_tsv_atomic(snakemake.output.quality, pairs[quality])
    write_tsv_atomic(snakemake.output.random, pairs[random])
    logging.info("Adaptive-SeqKD: %d of %d pairs pass the thresholds, %d selected; random control %d (%d shared)",
                 passes.sum(), len(pairs), quality.sum(), random.sum(), (quality & random).sum())


run(main, snakemake.log[0])
