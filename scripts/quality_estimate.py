"""Rule quality_estimate: a quality estimate per (source, text) pair of the study, text = reference or a model's
greedy output. dual_xent: the forward teacher scores the text given the source, the backward teacher the source
given the text (Junczys-Dowmunt 2018); cometkiwi: CometKiwi through unbabel-comet, when the user has it."""

import logging

import pandas as pd
import torch

from memkd.decode import score
from memkd.errors import InputError
from memkd.io import read_lines, read_tsv, write_tsv_atomic
from memkd.metrics.quality import cross_entropy, dual_xent_quality
from memkd.model import load, pick_device
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def study_texts(pairs: pd.DataFrame) -> list[str]:
    if "hypotheses" not in snakemake.input.keys():
        return pairs["tgt"].tolist()
    texts = read_lines(snakemake.input.hypotheses)
    if len(texts) != len(pairs):
        raise InputError(f"{snakemake.input.hypotheses}: {len(texts)} lines for {len(pairs)} study pairs")
    return texts


def model_xent(model_dir: str, sources: list[str], targets: list[str], device: str) -> list[float]:
    model = load(model_dir, device)
    processor = load_tokenizer(f"{model_dir}/spm.model")
    scores = score(
        model, processor, sources, targets, max_tokens=snakemake.params.max_tokens,
        max_len=model.config.max_position_embeddings, device=device,
    )
    return [cross_entropy(log_prob, tokens) for tokens, log_prob in scores]


def cometkiwi(sources: list[str], texts: list[str], model_name: str) -> list[float]:
    try:
        from comet import download_model, load_from_checkpoint
    except ImportError:
        raise InputError(
            "quality_estimation.method is cometkiwi, but unbabel-comet is not installed "
            "(pip install unbabel-comet, and accept the model's licence on the Hugging Face hub)"
        ) from None
    model = load_from_checkpoint(model_name if model_name.endswith(".ckpt") else download_model(model_name))
    data = [{"src": s, "mt": t} for s, t in zip(sources, texts)]
    return list(model.predict(data, batch_size=32, gpus=1 if torch.cuda.is_available() else 0).scores)


def main():
    torch.set_num_threads(snakemake.threads)
    settings = snakemake.params.settings
    pairs = read_tsv(snakemake.input.pairs, columns=["id", "src", "tgt"])
    sources, texts = pairs["src"].tolist(), study_texts(pairs)
    table = pd.DataFrame({"id": pairs["id"]})
    if settings["method"] == "dual_xent":
        device = pick_device()
        forward = model_xent(snakemake.input.forward, sources, texts, device)
        backward = model_xent(snakemake.input.backward, texts, sources, device)
        table["forward_xent"] = [round(x, 6) for x in forward]
        table["backward_xent"] = [round(x, 6) for x in backward]
        table["qe"] = [round(dual_xent_quality(f, b), 6) for f, b in zip(forward, backward)]
        name = f"dual_xent(teacher {snakemake.wildcards.src}-{snakemake.wildcards.tgt}, teacher {snakemake.wildcards.tgt}-{snakemake.wildcards.src})"
    else:
        table["qe"] = [round(q, 6) for q in cometkiwi(sources, texts, settings["cometkiwi_model"])]
        name = f"cometkiwi({settings['cometkiwi_model']})"
    table["qe_method"] = name
    write_tsv_atomic(snakemake.output[0], table)
    logging.info("%s: mean QE %.4f over %d pairs", name, table["qe"].mean(), len(table))


run(main, snakemake.log[0])
