"""Rule train_model: train one Transformer from scratch and save it with its tokenizer."""

import json
import logging
import math
import os
import re
import shutil
import time
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from memkd.data import encode, make_batches
from memkd.distributed import train_data_parallel
from memkd.io import read_tsv
from memkd.errors import InputError
from memkd.model import build_model, count_parameters, load as load_model, pick_device, save
from memkd.prune import magnitude_prune, make_permanent, nonzero_parameters
from memkd.rulerun import run
from memkd.tokenizer import load
from memkd.train import budget_for_steps, final_learning_rate, fine_tuning_steps, pick_precision, precision_name, train


OPTIMIZER_FILE = "optimizer.pt"  # final Adam state, kept in the folders of models that others fine-tune


def model_seed(chain_seed: int, role: str) -> int:
    """The seed of one model's initialisation, dropout and batch order. CM models (cm00, cm01, ...) each get
    their own, so that the M models differ in training randomness as well as in their halves."""
    cm_model = re.fullmatch(r"cm([0-9]+)", role)
    return chain_seed * 1000 + int(cm_model.group(1)) + 1 if cm_model else chain_seed


def main():
    torch.set_num_threads(snakemake.threads)
    preset = dict(snakemake.params.preset)
    # a QE model (rule train_qe_model, one per corpus) has no seed or role wildcard: its rule passes them as params
    role = snakemake.params.get("role") or snakemake.wildcards.role
    seed = model_seed(int(snakemake.params.get("seed") or snakemake.wildcards.seed), role)
    settings = {**snakemake.params.settings, "seed": seed}
    processor = load(snakemake.input.spm)
    pairs = read_tsv(snakemake.input.pairs, columns=["src", "tgt"])
    sources = encode(processor, pairs["src"].tolist(), preset["max_positions"])
    targets = encode(processor, pairs["tgt"].tolist(), preset["max_positions"])
    device = pick_device()
    build = partial(build_model, preset, processor.vocab_size(), seed)
    started = time.perf_counter()
    # the checkpoint is resumed only by a run of the same preset on the same training file
    run_key = json.dumps(preset, sort_keys=True) + snakemake.input.pairs
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    # a distilled variant learns from the teacher's token distributions as well
    teacher = load_model(snakemake.input.teacher, device) if "teacher" in snakemake.input.keys() else None
    pruning, initial = settings.get("prune"), snakemake.input.get("initial")
    if gpus > 1 and (teacher is not None or initial):
        raise InputError(f"gpus: data-parallel training of distilled, pruned or fine-tuned variants is not supported; "
                         f"give role {role!r} one GPU (gpus.student: 1)")
    if initial and settings["lr"] == "final":  # go on at the learning rate the start model ended with
        start = json.loads((Path(initial) / "training_summary.json").read_text())
        settings["lr"] = final_learning_rate(start["settings"], start["steps"])
        logging.info("fine-tuning at the final learning rate of %s: %.3g (%s)", initial, settings["lr"],
                     settings.get("schedule", "inverse_sqrt"))
    if settings.get("min_steps"):  # Adaptive-SeqKD teachers: at least min_steps optimizer steps on a small selection
        lengths = [len(s) for s in sources], [len(t) for t in targets]
        if settings.get("min_steps_by") == "smaller_batches":  # one pass in min_steps batches (fewer pairs: one each)
            wanted = math.ceil(settings["min_steps"] / settings["epochs"]) * settings["grad_accumulation"]
            settings["max_tokens"] = budget_for_steps(*lengths, settings["max_tokens"], wanted)
        batches = make_batches(*lengths, settings["max_tokens"])
        per_epoch = math.ceil(len(batches) / settings["grad_accumulation"])
        settings["max_steps"] = fine_tuning_steps(per_epoch, settings["epochs"], settings["min_steps"])
        logging.info("%d pairs in %d batches: %d optimizer steps (%d epoch(s) of %d steps, at least %d)", len(pairs),
                     len(batches), settings["max_steps"], settings["epochs"], per_epoch, settings["min_steps"])
    # a model that others fine-tune (the teacher, for Adaptive-SeqKD) keeps its final optimizer state
    moments = Path(snakemake.params.checkpoint).with_name("final_optimizer.pt") if snakemake.params.get(
        "keep_optimizer") else None
    if initial:  # start from a trained model (pruned first, or fine-tuned as it is)
        model = load_model(initial, "cpu").train()
        if pruning:  # retraining keeps the pruned weights at zero
            zeroed = magnitude_prune(model, pruning["sparsity"])
            logging.info("pruned %d linear-layer weights of %s (sparsity %s)", zeroed, initial, pruning["sparsity"])
        initial_moments = None
        if settings.get("optimizer") == "continue":  # go on with the start model's own Adam moments
            saved = Path(initial) / OPTIMIZER_FILE
            if not saved.exists():
                raise InputError(f"{saved} is missing: optimizer 'continue' needs the start model's optimizer state "
                                 f"(rerun its training: snakemake --forcerun train_model for {initial})")
            initial_moments = torch.load(saved, map_location="cpu", weights_only=True)
            logging.info("fine-tuning with the optimizer state of %s (Adam moments of %d weights)", initial,
                         len(initial_moments))
        records = train(model, sources, targets, settings, snakemake.params.checkpoint, device,
                        fingerprint_extra=run_key, teacher=teacher, initial_moments=initial_moments,
                        moments_path=moments)
        make_permanent(model)
    elif gpus > 1:  # a job with several GPUs trains data-parallel, one process per GPU
        model, records = train_data_parallel(build, sources, targets, settings, snakemake.params.checkpoint, gpus,
                                             fingerprint_extra=run_key, log_path=snakemake.log[0],
                                             moments_path=moments)
        device = f"{gpus} x cuda (DDP)"
    else:
        model = build()
        records = train(model, sources, targets, settings, snakemake.params.checkpoint, device,
                        fingerprint_extra=run_key, teacher=teacher, moments_path=moments)
    seconds = time.perf_counter() - started

    # Build the model folder under a temporary name, then rename: the output exists only when complete.
    output = Path(snakemake.output[0])
    staging = output.with_name(f".{output.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    save(model.cpu(), staging, snakemake.input.spm)
    pd.DataFrame(records).to_csv(staging / "training_log.tsv", sep="\t", index=False)
    summary = {
        "role": role,
        "seed": seed,
        "parameters": count_parameters(model),
        "nonzero_parameters": nonzero_parameters(model),
        "training_pairs": len(pairs),
        "steps": records[-1]["step"] if records else 0,
        "final_loss": records[-1]["loss"] if records else None,
        "train_seconds_this_run": round(seconds, 1),
        "device": device,
        # what the loop ran (auto is timed on CPUs with native bf16): fp32, bf16 or fp16
        "precision_used": records[-1]["precision"] if records else precision_name(
            pick_precision(settings["precision"], pick_device())),
        "preset": preset,
        "settings": settings,
    }
    (staging / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if moments is not None:
        os.replace(moments, staging / OPTIMIZER_FILE)
    shutil.rmtree(output, ignore_errors=True)
    os.replace(staging, output)
    Path(snakemake.params.checkpoint).unlink(missing_ok=True)
    logging.info("saved %s (%d parameters)", output, summary["parameters"])


run(main, snakemake.log[0])
