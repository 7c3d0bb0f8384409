"""Rule cm_training_half: the study pairs that are IN for one counterfactual-memorization model."""

from memkd.errors import InputError
from memkd.io import read_tsv, write_tsv_atomic
from memkd.rulerun import run


def main():
    design = read_tsv(snakemake.input.design, columns=["id"])
    pairs = read_tsv(snakemake.input.pairs, columns=["id"])
    role = snakemake.wildcards.role
    if role not in design.columns:
        raise InputError(f"{snakemake.input.design}: no model {role} in the CM design (models: {[c for c in design.columns if c.startswith('cm')]})")
    if design["id"].tolist() != pairs["id"].tolist():
        raise InputError(f"{snakemake.input.design}: ids differ from {snakemake.input.pairs}; rerun cm_design")
    write_tsv_atomic(snakemake.output[0], pairs[design[role] == "1"])


run(main, snakemake.log[0])
