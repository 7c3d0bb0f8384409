"""Rule gather_translation: the shards' hypotheses concatenated in row order and their timings summed, into the files
that one unsharded translation job writes (memkd.shards)."""

import json
import logging
from pathlib import Path

from memkd.io import write_json_atomic
from memkd.rulerun import run
from memkd.shards import gather_text, gather_timing, read_plan


def as_list(files) -> list[str]:
    """A rule's named input as a list: Snakemake gives one file as a plain string."""
    return [files] if isinstance(files, str) else list(files)


def main():
    plan = read_plan(snakemake.input.plan)
    gather_text(as_list(snakemake.input.hypotheses), snakemake.output.hypotheses, plan)
    timing = gather_timing([json.loads(Path(path).read_text()) for path in as_list(snakemake.input.timing)])
    write_json_atomic(snakemake.output.timing, timing)
    logging.info("%d sentences from %d shard(s), %.1f s of decoding in all", timing["sentences"], timing["shards"],
                 timing["seconds"])


run(main, snakemake.log[0])
