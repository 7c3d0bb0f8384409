"""Rule teacher_baseline_kl_shard: teacher_baseline_kl for one shard of the study pairs (config sharding.sentences);
rule gather_kl joins the shards into the file teacher_baseline_kl writes. Batches form within a shard, so a sum can
differ from the unsharded one in the last rounded digit."""

import logging

import pandas as pd
import torch

from memkd.decode import divergence
from memkd.io import write_tsv_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.shards import read_plan, read_row_range
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    shard = int(snakemake.wildcards.shard)
    start, stop = read_plan(snakemake.input.plan)["shards"][shard]
    pairs = read_row_range(snakemake.input.pairs, start, stop, ["id", "src", "tgt"])
    device = pick_device()
    teacher, baseline = load(snakemake.input.teacher, device), load(snakemake.input.baseline, device)
    processor = load_tokenizer(f"{snakemake.input.teacher}/spm.model")
    max_len = min(teacher.config.max_position_embeddings, baseline.config.max_position_embeddings)
    kl = divergence(teacher, baseline, processor, pairs["src"].tolist(), pairs["tgt"].tolist(),
                    max_tokens=snakemake.params.max_tokens, max_len=max_len, device=device)
    write_tsv_atomic(snakemake.output[0], pd.DataFrame(
        {"id": pairs["id"], "tokens": [n for n, _ in kl], "kl_sum": [round(total, 6) for _, total in kl]}))
    logging.info("shard %d (rows %d-%d): KL of %d pairs", shard, start, stop - 1, len(pairs))


run(main, snakemake.log[0])
