"""Rules gather_quality, gather_scores and gather_kl: the shards' tables of one per-pair job (quality estimates,
reference scores, teacher-baseline KL) in row order, into the file the unsharded job writes (memkd.shards)."""

import logging

from memkd.rulerun import run
from memkd.shards import gather_tables, read_plan


def main():
    plan = read_plan(snakemake.input.plan)
    parts = [snakemake.input.tables] if isinstance(snakemake.input.tables, str) else list(snakemake.input.tables)
    gather_tables(parts, snakemake.output[0], plan)
    logging.info("%d rows from %d shard(s)", plan["sentences"], len(parts))


run(main, snakemake.log[0])
