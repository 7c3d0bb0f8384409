"""Rule score_references: teacher-forced log-probability of every study reference under one model."""

import pandas as pd
import torch

from memkd.decode import score
from memkd.io import read_tsv, write_tsv_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    device = pick_device()
    model = load(snakemake.input.model, device)
    processor = load_tokenizer(f"{snakemake.input.model}/spm.model")
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    scores = score(
        model, processor, pairs["src"].tolist(), pairs["tgt"].tolist(),
        max_tokens=snakemake.params.max_tokens, max_len=model.config.max_position_embeddings, device=device,
    )
    table = pd.DataFrame(
        {"id": pairs["id"], "tokens": [n for n, _ in scores], "log_prob": [round(lp, 6) for _, lp in scores]}
    )
    write_tsv_atomic(snakemake.output[0], table)


run(main, snakemake.log[0])
