"""Checkpoint shard_plan: the row ranges of a split's shards (memkd.shards), which decide the translate_shard jobs."""

import logging

from memkd.rulerun import run
from memkd.shards import count_rows, sentences_per_shard, write_plan


def main():
    split = snakemake.wildcards.split
    table = snakemake.input[0]
    plan = write_plan(snakemake.output[0], count_rows(table), sentences_per_shard(split, snakemake.params.sentences),
                      table)
    logging.info("%s: %d sentences in %d shard(s) of at most %s; %s", split, plan["sentences"], len(plan["shards"]),
                 plan["sentences_per_shard"] or "all",
                 "shard jobs seek to their rows" if "offsets" in plan else "lines are not rows: shard jobs scan")


run(main, snakemake.log[0])
