"""Rule score_references: teacher-forced log-probability of every study reference under one model, scored with
decoding.engine (CTranslate2 from the model's converted folder, or memkd's torch scoring)."""

import pandas as pd

from memkd.decode import Decoder
from memkd.io import read_tsv, write_tsv_atomic
from memkd.rulerun import run


def main():
    scorer = Decoder(snakemake.input.model, snakemake.params.engine, threads=snakemake.threads,
                     ct2_dir=snakemake.input.get("ct2"))
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    scores = scorer.score(pairs["src"].tolist(), pairs["tgt"].tolist(), max_tokens=snakemake.params.max_tokens)
    table = pd.DataFrame(
        {"id": pairs["id"], "tokens": [n for n, _ in scores], "log_prob": [round(lp, 6) for _, lp in scores]}
    )
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
