"""Rule translate: one model translates one split (greedy or beam), in input order."""

import logging

import torch

from memkd.decode import decoding_signature, translate
from memkd.io import read_tsv, write_json_atomic, write_text_atomic
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def main():
    torch.set_num_threads(snakemake.threads)
    settings, beam = snakemake.params.settings, snakemake.params.beam
    device = pick_device()
    model = load(snakemake.input.model, device)
    processor = load_tokenizer(f"{snakemake.input.model}/spm.model")
    sources = read_tsv(snakemake.input.pairs, columns=["src"])["src"].tolist()
    hypotheses, seconds = translate(
        model, processor, sources, beam=beam, max_tokens=settings["max_tokens"],
        max_len_a=settings["max_len_a"], max_len_b=settings["max_len_b"],
        max_source_len=model.config.max_position_embeddings, device=device,
    )
    write_text_atomic(snakemake.output.hypotheses, "".join(h[0] + "\n" for h in hypotheses))
    write_json_atomic(
        snakemake.output.timing,
        {
            "sentences": len(sources),
            "seconds": round(seconds, 3),
            "sentences_per_s": round(len(sources) / seconds, 2),
            "threads": snakemake.threads,
            "device": device,
            "decoding": decoding_signature(beam, 1, settings["max_len_a"], settings["max_len_b"]),
        },
    )
    logging.info("%d sentences in %.1f s (%s)", len(sources), seconds, snakemake.wildcards.decoding)


run(main, snakemake.log[0])
