"""Rule quality_table: one row per (direction, seed, model, decoding) with BLEU, chrF and speed."""

import json
from pathlib import Path

import pandas as pd

from memkd.io import write_tsv_atomic
from memkd.rulerun import run


def main():
    rows = [json.loads(Path(path).read_text()) for path in snakemake.input]
    table = pd.DataFrame(rows).sort_values(["direction", "seed", "role", "decoding"], kind="stable")
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
