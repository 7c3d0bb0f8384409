"""Rule split_corpus: normalise, filter, count duplicates and split into train/dev/test/probe."""

import json
import logging
from pathlib import Path

from memkd.io import read_tsv, write_json_atomic, write_tsv_atomic
from memkd.preprocess import SPLITS, check_split_sizes, preprocess
from memkd.rulerun import run


def main():
    lang1, lang2 = snakemake.params.languages
    # may carry a fixed `split`; passed on without a name here, so that preprocess can free the raw texts
    tables, report = preprocess(read_tsv(snakemake.input.aligned, columns=["id", lang1, lang2, "flags"]), lang1, lang2,
                                dict(snakemake.params.settings))
    # lines dropped while reading (a user TSV with on_undecodable: skip) count as a filter reason too
    undecodable = json.loads(Path(snakemake.input.stats).read_text()).get("undecodable_skipped", 0)
    report["dropped"] = {"undecodable": undecodable, **report["dropped"]}
    report = {"corpus": snakemake.wildcards.corpus, "languages": [lang1, lang2], **report,
              "settings": dict(snakemake.params.settings)}
    settings = snakemake.params.settings
    check_split_sizes(report["splits"], report["kept_pairs"], dict(settings["split_permille"]),
                      dict(settings["min_split_pairs"]))
    for split, path in zip(SPLITS, snakemake.output.splits):
        write_tsv_atomic(path, tables[split])
    write_json_atomic(snakemake.output.report, report)
    logging.info("splits: %s; dropped: %s", report["splits"], report["dropped"])


run(main, snakemake.log[0])
