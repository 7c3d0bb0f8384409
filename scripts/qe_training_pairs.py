"""Rule qe_training_pairs: the QE models' training pairs (a deterministic sample of training-split pairs outside the
study's pairs and their text groups, none flagged misaligned) and the QE-validity set (every flagged training pair
and as many unflagged ones, none sharing a text group with a pair the QE's models learned: the QE sample, or with
quality_estimation.models: teachers, the study's pairs)."""

import logging

import numpy as np

from memkd.errors import InputError
from memkd.io import read_columns, read_rows, table_columns, write_tsv_atomic
from memkd.metrics.quality import check_qe_pool, qe_training_sample, validity_set
from memkd.rulerun import run


def main():
    columns = table_columns(snakemake.input.train)  # the chosen pairs keep every column of the split
    missing = [column for column in snakemake.params.languages if column not in columns]
    if missing:
        raise InputError(f"{snakemake.input.train}: missing column(s) {missing}; found {columns}")
    # the pairs are chosen on ids, flags and text groups alone; only the chosen rows' texts are read afterwards
    train = read_columns(snakemake.input.train, ["id", "flags", "group"])
    train["row"] = np.arange(len(train))
    study = read_columns(snakemake.input.study, ["id", "group"])
    settings, salt = snakemake.params.settings, snakemake.params.salt
    requested = settings["train_pairs"]
    chosen = qe_training_sample(train, study, requested, f"{salt}:qe-train")
    heldout = settings["method"] == "dual_xent" and settings["models"] == "heldout"
    if heldout:
        check_qe_pool(len(chosen), requested, len(study), len(train))
    # the validity pairs stay clear of whatever the QE's models learned: the QE sample, or the teachers' study pairs
    validity = validity_set(train, chosen if heldout else study, f"{salt}:qe-validity")
    write_tsv_atomic(snakemake.output.train, read_rows(snakemake.input.train, columns, chosen["row"]))
    write_tsv_atomic(snakemake.output.validity, read_rows(snakemake.input.train, columns, validity["row"]).assign(
        misaligned=validity["misaligned"].to_numpy()))
    logging.info("QE models: %d of %d training pairs (requested %d; the study's %d pairs and their text groups left "
                 "out); QE validity: %d misaligned + %d unflagged pairs", len(chosen), len(train), requested,
                 len(study), int(validity["misaligned"].sum()), int((~validity["misaligned"]).sum()))


run(main, snakemake.log[0])
