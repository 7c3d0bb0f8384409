"""Rules teacher_baseline_kl and teacher_baseline_kl_shard (one shard of the study pairs: config
sharding.sentences; gather_kl joins the shards): KL(teacher || baseline) per study pair, both teacher-forced on the
reference. The pairs are read, scored and written memkd.shards.CHUNK_ROWS at a time (memkd.shards.row_chunks), so
memory does not grow with the study. Batches form within a shard, so a sharded sum can differ in the last rounded
digit."""

import logging

import pandas as pd
import torch

from memkd.decode import divergence, resolve_precision
from memkd.io import write_tsv_chunks_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.shards import row_chunks
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    device = pick_device()
    precision = resolve_precision(snakemake.params.precision, device)
    logging.info("KL on %s in %s (decoding.precision %s)", device, precision, snakemake.params.precision)
    teacher, baseline = load(snakemake.input.teacher, device), load(snakemake.input.baseline, device)
    processor = load_tokenizer(f"{snakemake.input.teacher}/spm.model")
    max_len = min(teacher.config.max_position_embeddings, baseline.config.max_position_embeddings)
    shard = int(snakemake.wildcards.shard) if "shard" in snakemake.wildcards.keys() else None

    def chunks():
        for pairs in row_chunks(snakemake.input.pairs, ["id", "src", "tgt"], snakemake.input.get("plan"), shard):
            kl = divergence(teacher, baseline, processor, pairs["src"].tolist(), pairs["tgt"].tolist(),
                            max_tokens=snakemake.params.max_tokens, max_len=max_len, device=device,
                            precision=precision)
            yield pd.DataFrame({"id": pairs["id"], "tokens": [n for n, _ in kl],
                                "kl_sum": [round(total, 6) for _, total in kl]})

    write_tsv_chunks_atomic(snakemake.output[0], chunks())


run(main, snakemake.log[0])
