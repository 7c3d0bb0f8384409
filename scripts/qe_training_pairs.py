"""Rule qe_training_pairs: the QE models' training pairs (a deterministic sample of training-split pairs outside the
study's pairs and their text groups, none flagged misaligned) and the QE-validity set (every flagged training pair
and as many unflagged ones, none sharing a text group with a QE training pair)."""

import logging

from memkd.io import read_tsv, write_tsv_atomic
from memkd.metrics.quality import check_qe_pool, qe_training_sample, validity_set
from memkd.rulerun import run


def main():
    lang1, lang2 = snakemake.params.languages
    columns = ["id", lang1, lang2, "flags", "group"]
    train = read_tsv(snakemake.input.train, columns=columns)
    study = read_tsv(snakemake.input.study, columns=columns)
    requested, salt = snakemake.params.settings["train_pairs"], snakemake.params.salt
    chosen = qe_training_sample(train, study, requested, f"{salt}:qe-train")
    check_qe_pool(len(chosen), requested, len(study), len(train))
    validity = validity_set(train, chosen, f"{salt}:qe-validity")
    write_tsv_atomic(snakemake.output.train, chosen)
    write_tsv_atomic(snakemake.output.validity, validity)
    logging.info("QE models: %d of %d training pairs (requested %d; the study's %d pairs and their text groups left "
                 "out); QE validity: %d misaligned + %d unflagged pairs", len(chosen), len(train), requested,
                 len(study), int(validity["misaligned"].sum()), int((~validity["misaligned"]).sum()))


run(main, snakemake.log[0])
