"""Rule teacher_baseline_kl: KL(teacher || baseline) per study pair, both teacher-forced on the reference."""

import pandas as pd
import torch

from memkd.decode import divergence
from memkd.io import read_tsv, write_tsv_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    device = pick_device()
    teacher, baseline = load(snakemake.input.teacher, device), load(snakemake.input.baseline, device)
    processor = load_tokenizer(f"{snakemake.input.teacher}/spm.model")
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    max_len = min(teacher.config.max_position_embeddings, baseline.config.max_position_embeddings)
    kl = divergence(teacher, baseline, processor, pairs["src"].tolist(), pairs["tgt"].tolist(),
                    max_tokens=snakemake.params.max_tokens, max_len=max_len, device=device)
    table = pd.DataFrame({"id": pairs["id"], "tokens": [n for n, _ in kl],
                          "kl_sum": [round(total, 6) for _, total in kl]})
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
