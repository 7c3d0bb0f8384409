"""Rule qe_training_pairs: the QE models' training pairs (a deterministic sample of training-split pairs outside the
study's pairs and their text groups, none flagged misaligned) and the QE-validity set (every flagged training pair
and as many unflagged ones, none sharing a text group with a pair the QE's models learned: the QE sample, or with
quality_estimation.models: teachers, the study's pairs)."""

import logging

from memkd.errors import InputError
from memkd.io import iter_chunks, read_rows, table_columns, write_tsv_atomic
from memkd.metrics.quality import check_qe_pool, keys_of_rows, pair_table_keys, qe_training_rows, validity_rows
from memkd.rulerun import run


def main():
    columns = table_columns(snakemake.input.train)  # the chosen pairs keep every column of the split
    missing = [column for column in snakemake.params.languages if column not in columns]
    if missing:
        raise InputError(f"{snakemake.input.train}: missing column(s) {missing}; found {columns}")
    settings, salt = snakemake.params.settings, snakemake.params.salt
    train_salt, validity_salt = f"{salt}:qe-train", f"{salt}:qe-validity"
    # the pairs are chosen on digests of ids and text groups, flags and id hashes, read a chunk at a time; only the
    # chosen rows' texts are read afterwards
    train = pair_table_keys(iter_chunks(snakemake.input.train, ["id", "flags", "group"]), (train_salt, validity_salt))
    study = pair_table_keys(iter_chunks(snakemake.input.study, ["id", "group"]))
    requested = settings["train_pairs"]
    chosen = qe_training_rows(train, study, requested, train_salt)
    heldout = settings["method"] == "dual_xent" and settings["models"] == "heldout"
    if heldout:
        check_qe_pool(len(chosen), requested, len(study["id"]), len(train["id"]))
    # the validity pairs stay clear of whatever the QE's models learned: the QE sample, or the teachers' study pairs
    validity, flagged = validity_rows(train, keys_of_rows(train, chosen) if heldout else study, validity_salt)
    write_tsv_atomic(snakemake.output.train, read_rows(snakemake.input.train, columns, chosen))
    write_tsv_atomic(snakemake.output.validity,
                     read_rows(snakemake.input.train, columns, validity).assign(misaligned=flagged))
    logging.info("QE models: %d of %d training pairs (requested %d; the study's %d pairs and their text groups left "
                 "out); QE validity: %d misaligned + %d unflagged pairs", len(chosen), len(train["id"]), requested,
                 len(study["id"]), int(flagged.sum()), int((~flagged).sum()))


run(main, snakemake.log[0])
