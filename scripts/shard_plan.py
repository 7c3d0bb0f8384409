"""Checkpoint shard_plan: the row ranges of a split's shards (memkd.shards), which decide the translate_shard jobs."""

import logging

from memkd.rulerun import run
from memkd.shards import count_rows, sentences_per_shard, write_plan


def main():
    split = snakemake.wildcards.split
    plan = write_plan(snakemake.output[0], count_rows(snakemake.input[0]),
                      sentences_per_shard(split, snakemake.params.sentences))
    logging.info("%s: %d sentences in %d shard(s) of at most %s", split, plan["sentences"], len(plan["shards"]),
                 plan["sentences_per_shard"] or "all")


run(main, snakemake.log[0])
