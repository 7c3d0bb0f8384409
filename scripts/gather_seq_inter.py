"""Rule gather_seq_inter: the shards of seq_inter_data_shard (Seq-Inter training pairs, one row per study pair;
k-best lists, k rows per pair) in row order, into the files seq_inter_data writes (memkd.shards)."""

import logging

from memkd.rulerun import run
from memkd.shards import gather_tables, read_plan


def main():
    plan = read_plan(snakemake.input.plan)
    gather_tables(list(snakemake.input.pairs), snakemake.output.pairs, plan)
    gather_tables(list(snakemake.input.kbest), snakemake.output.kbest, plan, per_row="some")
    logging.info("%d pairs and their k-best lists from %d shard(s)", plan["sentences"], len(plan["shards"]))


run(main, snakemake.log[0])
