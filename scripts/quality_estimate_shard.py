"""Rule quality_estimate_shard: quality_estimate's table for one shard of the study's pairs (config
sharding.sentences; the rows of the shard's range in the study_train plan, memkd.shards), read without holding the
rest; rule gather_quality joins the shards into the file quality_estimate writes."""

import logging

from memkd.io import write_tsv_atomic
from memkd.metrics.quality import qe_model_paths, quality_table
from memkd.rulerun import run
from memkd.shards import read_line_range, read_plan, read_shard_rows


def main():
    shard = int(snakemake.wildcards.shard)
    plan = read_plan(snakemake.input.plan)
    start, stop = plan["shards"][shard]
    hypotheses = "hypotheses" in snakemake.input.keys()
    rows = read_shard_rows(snakemake.input.pairs, plan, shard, ["id", "src"] if hypotheses else ["id", "src", "tgt"])
    ids, sources = rows["id"].tolist(), rows["src"].tolist()
    texts = read_line_range(snakemake.input.hypotheses, start, stop) if hypotheses else rows["tgt"].tolist()
    src, tgt = snakemake.wildcards.src, snakemake.wildcards.tgt
    table = quality_table(ids, sources, texts, snakemake.params.settings,
                          qe_model_paths(snakemake.input), (f"{src}-{tgt}", f"{tgt}-{src}"),
                          snakemake.params.max_tokens, snakemake.params.engine, snakemake.threads,
                          snakemake.params.precision)
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("shard %d (rows %d-%d): mean QE %.4f over %d pairs", shard, start, stop - 1, table["qe"].mean(),
                 len(table))


run(main, snakemake.log[0])
