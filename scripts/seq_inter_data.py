"""Rule seq_inter_data: the teacher's k-best list of every study source (beam k), and the Seq-Inter target -- the
candidate closest to the reference by smoothed sentence BLEU (Kim & Rush) -- as training pairs."""

import logging

import pandas as pd
import torch

from memkd.decode import decoding_signature, translate
from memkd.io import read_tsv, write_tsv_atomic
from memkd.losses import seq_inter_targets
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    settings, k = snakemake.params.settings, int(snakemake.wildcards.k)
    device = pick_device()
    model = load(snakemake.input.teacher, device)
    processor = load_tokenizer(f"{snakemake.input.teacher}/spm.model")
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    kbest, seconds = translate(
        model, processor, pairs["src"].tolist(), beam=k, n_best=k, max_tokens=settings["max_tokens"],
        max_len_a=settings["max_len_a"], max_len_b=settings["max_len_b"],
        max_source_len=model.config.max_position_embeddings, device=device,
    )
    targets = seq_inter_targets(kbest, pairs["tgt"].tolist())
    lists = pd.DataFrame([{"id": i, "rank": rank, "hypothesis": h}
                          for i, hypotheses in zip(pairs["id"], kbest) for rank, h in enumerate(hypotheses, 1)])
    write_tsv_atomic(snakemake.output.kbest, lists)
    data = pairs[["id", "src"]].assign(tgt=targets, reference=pairs["tgt"])
    write_tsv_atomic(snakemake.output.pairs, data)
    top = sum(t == h[0] for t, h in zip(targets, kbest))
    logging.info("Seq-Inter (%s): %d pairs in %.0f s; the teacher's 1-best was chosen for %d, the reference is the "
                 "target for %d", decoding_signature(k, k, settings["max_len_a"], settings["max_len_b"]), len(data),
                 seconds, top, int((data["tgt"] == data["reference"]).sum()))


run(main, snakemake.log[0])
