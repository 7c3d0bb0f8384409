"""Rule adaptive_selection: per study pair the Adaptive-SeqKD criteria (sentence chrF of the teacher's greedy output
against the reference, teacher confidence of that output or of the reference, QE of the reference pair, source
words), the high-quality selection and its random control of the same size, and both as training files for the
teacher's fine-tuning."""

import logging
from functools import partial

import numpy as np

from memkd.adaptive import CRITERIA, eligible, select_high_quality, select_random, sentence_chrf, teacher_confidence
from memkd.decode import Decoder
from memkd.errors import InputError
from memkd.io import read_lines, read_tsv, write_tsv_atomic
from memkd.rulerun import run
from memkd.tables import aligned


def main():
    settings, inputs = snakemake.params.settings, snakemake.input
    pairs = read_tsv(inputs.pairs, columns=["id", "src", "tgt"])
    ids = pairs["id"].tolist()
    hypotheses = read_lines(inputs.hypotheses)
    if len(hypotheses) != len(pairs):
        raise InputError(f"{inputs.hypotheses}: {len(hypotheses)} lines for {len(pairs)} pairs in {inputs.pairs}")
    qe = aligned(inputs.qe, read_tsv(inputs.qe, columns=["id", "qe", "qe_method"]), ids)
    teacher = Decoder(inputs.teacher, snakemake.params.engine, threads=snakemake.threads, ct2_dir=inputs.get("ct2"),
                      precision=snakemake.params.precision)
    scorer = partial(teacher.score, max_tokens=snakemake.params.max_tokens)
    sources, references = pairs["src"].tolist(), pairs["tgt"].tolist()
    features = pairs[["id"]].assign(
        chrf=np.round(sentence_chrf(hypotheses, references), 4),
        confidence=np.round(teacher_confidence(scorer, sources, references, hypotheses, settings), 6),
        qe=qe["qe"].astype(float),
        source_words=pairs["src"].str.split().str.len(),
    )
    chain = int(snakemake.wildcards.seed)
    passes = eligible(features, settings)
    # own streams for the shuffle of the passing pairs and the random control's draw (as before)
    quality = select_high_quality(features, settings, seed=[settings["seed"], chain, 1])
    if not quality.any():
        raise InputError(
            f"config key adaptive_seqkd: no study pair of {inputs.pairs} passes the thresholds "
            f"({', '.join(f'{key} {settings[key]}' for key in CRITERIA.values())}); best chrF {features['chrf'].max():.1f}, "
            f"best confidence {features['confidence'].max():.3f} (of the {settings['confidence_of']}): lower the thresholds"
        )
    random = select_random(len(pairs), int(quality.sum()), [settings["seed"], chain])
    write_tsv_atomic(snakemake.output.selection, features.assign(
        eligible=passes.astype(int), quality=quality.astype(int), random=random.astype(int),
        confidence_of=settings["confidence_of"], qe_method=qe["qe_method"],
    ))
    write_tsv_atomic(snakemake.output.quality, pairs[quality])
    write_tsv_atomic(snakemake.output.random, pairs[random])
    logging.info("Adaptive-SeqKD: %d of %d pairs pass the thresholds, %d selected (%s, at most %d); random control %d "
                 "(%d shared)", passes.sum(), len(pairs), quality.sum(), settings["rank_by"], settings["max_pairs"],
                 random.sum(), (quality & random).sum())
    if quality.sum() < settings["min_pairs"]:
        logging.warning("only %d pairs selected, fewer than adaptive_seqkd.min_pairs %d: both arms train, but the "
                        "adaptive_seqkd table gives them no verdict", quality.sum(), settings["min_pairs"])


run(main, snakemake.log[0])
