"""Rule score_references_shard: score_references for one shard of the study pairs (config sharding.sentences): the
rows of the shard's range in the study_train plan (memkd.shards), read without holding the rest; rule gather_scores
joins the shards into the file score_references writes. Each pair is scored on its own, but batches form within a
shard, so a score can differ from the unsharded one in the last rounded digit."""

import logging

import pandas as pd

from memkd.decode import Decoder
from memkd.io import write_tsv_atomic
from memkd.rulerun import run
from memkd.shards import read_plan, read_row_range


def main():
    shard = int(snakemake.wildcards.shard)
    start, stop = read_plan(snakemake.input.plan)["shards"][shard]
    pairs = read_row_range(snakemake.input.pairs, start, stop, ["id", "src", "tgt"])
    scorer = Decoder(snakemake.input.model, snakemake.params.engine, threads=snakemake.threads,
                     ct2_dir=snakemake.input.get("ct2"))
    scores = scorer.score(pairs["src"].tolist(), pairs["tgt"].tolist(), max_tokens=snakemake.params.max_tokens)
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(
        {"id": pairs["id"], "tokens": [n for n, _ in scores], "log_prob": [round(lp, 6) for _, lp in scores]}))
    logging.info("shard %d (rows %d-%d): %d references scored", shard, start, stop - 1, len(pairs))


run(main, snakemake.log[0])
