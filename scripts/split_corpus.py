"""Rule split_corpus: normalise, filter, count duplicates and split into train/dev/test/probe, a chunk at a time."""

import json
import logging
import tempfile
from pathlib import Path

from memkd.io import write_json_atomic
from memkd.preprocess import SPLITS, check_split_sizes, plan_splits, write_splits
from memkd.rulerun import run


def main():
    lang1, lang2 = snakemake.params.languages
    settings = dict(snakemake.params.settings)
    # the kept, normalised rows wait in a scratch table next to the outputs (removed however the job ends)
    with tempfile.TemporaryDirectory(prefix=".split_corpus.", dir=Path(snakemake.output.report).parent) as scratch:
        plan = plan_splits(snakemake.input.aligned, lang1, lang2, settings, Path(scratch) / "kept.tsv")
        report = plan.report
        # lines dropped while reading (a user TSV with on_undecodable: skip) count as a filter reason too
        undecodable = json.loads(Path(snakemake.input.stats).read_text()).get("undecodable_skipped", 0)
        report["dropped"] = {"undecodable": undecodable, **report["dropped"]}
        report = {"corpus": snakemake.wildcards.corpus, "languages": [lang1, lang2], **report, "settings": settings}
        # before any split is written: a corpus too small for the study stops here
        check_split_sizes(report["splits"], report["kept_pairs"], dict(settings["split_permille"]),
                          dict(settings["min_split_pairs"]))
        write_splits(plan, dict(zip(SPLITS, snakemake.output.splits)))
    write_json_atomic(snakemake.output.report, report)
    logging.info("splits: %s; dropped: %s", report["splits"], report["dropped"])


run(main, snakemake.log[0])
