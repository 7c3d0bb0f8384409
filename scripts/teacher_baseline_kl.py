"""Rule teacher_baseline_kl: KL(teacher || baseline) per study pair, both teacher-forced on the reference; the pairs
are read, scored and written memkd.io.CHUNK_ROWS at a time, so memory does not grow with the study."""

import pandas as pd
import torch

from memkd.decode import divergence
from memkd.io import iter_chunks, write_tsv_chunks_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    device = pick_device()
    teacher, baseline = load(snakemake.input.teacher, device), load(snakemake.input.baseline, device)
    processor = load_tokenizer(f"{snakemake.input.teacher}/spm.model")
    max_len = min(teacher.config.max_position_embeddings, baseline.config.max_position_embeddings)

    def chunks():
        for pairs in iter_chunks(snakemake.input.pairs, ["id", "src", "tgt"]):
            kl = divergence(teacher, baseline, processor, pairs["src"].tolist(), pairs["tgt"].tolist(),
                            max_tokens=snakemake.params.max_tokens, max_len=max_len, device=device)
            yield pd.DataFrame({"id": pairs["id"], "tokens": [n for n, _ in kl],
                                "kl_sum": [round(total, 6) for _, total in kl]})

    write_tsv_chunks_atomic(snakemake.output[0], chunks())


run(main, snakemake.log[0])
