"""Rules seq_inter_data and seq_inter_data_shard: the teacher's k-best list of every study source (beam k), and the
Seq-Inter target -- the candidate closest to the reference by smoothed sentence BLEU (Kim & Rush) -- as training
pairs; the shard rule for one shard of the study pairs (config sharding.sentences; gather_seq_inter joins the
shards). Each source is decoded on its own (length limit per sentence), so the shards give the unsharded tables."""

import logging

import pandas as pd

from memkd.decode import Decoder, length_limit
from memkd.io import read_columns, write_tsv_atomic
from memkd.rulerun import run
from memkd.seq_inter import seq_inter_targets
from memkd.shards import read_plan, read_shard_rows


def study_pairs():
    """The study pairs, or the rows of this job's shard."""
    columns = ["id", "src", "tgt"]
    if "shard" not in snakemake.wildcards.keys():
        return read_columns(snakemake.input.pairs, columns)
    return read_shard_rows(snakemake.input.pairs, read_plan(snakemake.input.plan), int(snakemake.wildcards.shard),
                           columns)


def main():
    settings, k = snakemake.params.settings, int(snakemake.wildcards.k)
    decoder = Decoder(snakemake.input.teacher, settings["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=settings["precision"])
    pairs = study_pairs()
    # the training sources: the same length limit as the teacher's other translations of them
    max_len_a, max_len_b = length_limit(settings, "study_train", decoder.max_positions)
    kbest, seconds = decoder.translate(pairs["src"].tolist(), beam=k, n_best=k, max_tokens=settings["max_tokens"],
                                       max_len_a=max_len_a, max_len_b=max_len_b)
    targets = seq_inter_targets(kbest, pairs["tgt"].tolist())
    lists = pd.DataFrame([{"id": i, "rank": rank, "hypothesis": h}
                          for i, hypotheses in zip(pairs["id"], kbest) for rank, h in enumerate(hypotheses, 1)])
    write_tsv_atomic(snakemake.output.kbest, lists)
    data = pairs[["id", "src"]].assign(tgt=targets, reference=pairs["tgt"])
    write_tsv_atomic(snakemake.output.pairs, data)
    top = sum(t == h[0] for t, h in zip(targets, kbest))
    logging.info("Seq-Inter (%s): %d pairs in %.0f s; the teacher's 1-best was chosen for %d, the reference is the "
                 "target for %d", decoder.signature(k, k, max_len_a, max_len_b), len(data), seconds, top,
                 int((data["tgt"] == data["reference"]).sum()))


run(main, snakemake.log[0])
