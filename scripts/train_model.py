"""Rules train_model and train_cm_models: train a Transformer from scratch (or several, one after another) and save it
with its tokenizer."""

import json
import logging
import math
import os
import re
import shutil
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from memkd.data import design_half, file_digest, lengths_of, make_batches, read_token_store
from memkd.distributed import train_data_parallel
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
    """Rule train_model (one model), or train_cm_models (params.roles: a direction and seed's CM models, one after
    another in this process, which pays torch's start-up once instead of once per model)."""
    torch.set_num_threads(snakemake.threads)
    if snakemake.params.get("roles"):
        train_models_in_turn(list(snakemake.params.roles))
        return
    # a QE model (rule train_qe_model, one per corpus) has no seed or role wildcard: its rule passes them as params
    role = snakemake.params.get("role") or snakemake.wildcards.role
    chain_seed = int(snakemake.params.get("seed") or snakemake.wildcards.seed)
    inputs = snakemake.input
    train_and_save(role, chain_seed, inputs.pairs, inputs.tokens, inputs.spm, snakemake.output[0], snakemake.params.checkpoint,
                   design=inputs.get("design"), teacher=inputs.get("teacher"), initial=inputs.get("initial"),
                   keep_optimizer=bool(snakemake.params.get("keep_optimizer")))


def train_and_save(role: str, chain_seed: int, pairs_path: str, tokens_path: str, spm: str, output: str,
                   checkpoint: str, design: str | None = None, teacher: str | None = None,
                   initial: str | None = None, keep_optimizer: bool = False) -> dict:
    """Train one model of the rule's preset and settings on `pairs_path`, read from its token store `tokens_path`
    (for a CM model, the study pairs' store and `design`, whose column `role` marks the rows of its half), and save
    it as the folder `output` (built under a temporary name, then renamed: it exists only when complete). Returns
    its training summary."""
    preset = dict(snakemake.params.preset)
    seed = model_seed(chain_seed, role)
    settings = {**snakemake.params.settings, "seed": seed}
    processor = load(spm)
    # the table's token ids, memory-mapped from its store and truncated to the preset's length as they are read
    sources, targets = read_token_store(tokens_path, preset["max_positions"], spm)
    if design is not None:  # a CM model: its half of the study pairs
        rows = design_half(design, role, pairs_path, len(sources))
        sources, targets = sources.select(rows), targets.select(rows)
    device = pick_device()
    build = partial(build_model, preset, processor.vocab_size(), seed)
    started = time.perf_counter()
    # the checkpoint is resumed only by a run of the same preset on the same training file (and half)
    run_key = json.dumps(preset, sort_keys=True) + pairs_path + (f"|{role}" if design is not None else "")
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    # a distilled variant learns from the teacher's token distributions as well
    teacher = load_model(teacher, device) if teacher else None
    pruning = settings.get("prune")
    if gpus > 1 and (teacher is not None or initial):
        raise InputError(f"gpus: data-parallel training of distilled, pruned or fine-tuned variants is not supported; "
                         f"give role {role!r} one GPU (gpus.student: 1)")
    if initial and settings["lr"] == "final":  # go on at the learning rate the start model ended with
        start = json.loads((Path(initial) / "training_summary.json").read_text())
        settings["lr"] = final_learning_rate(start["settings"], start["steps"])
        logging.info("fine-tuning at the final learning rate of %s: %.3g (%s)", initial, settings["lr"],
                     settings.get("schedule", "inverse_sqrt"))
    if settings.get("min_steps"):  # Adaptive-SeqKD teachers: at least min_steps optimizer steps on a small selection
        lengths = lengths_of(sources), lengths_of(targets)
        if settings.get("min_steps_by") == "smaller_batches":  # one pass in min_steps batches (fewer pairs: one each)
            wanted = math.ceil(settings["min_steps"] / settings["epochs"]) * settings["grad_accumulation"]
            settings["max_tokens"] = budget_for_steps(*lengths, settings["max_tokens"], wanted)
        batches = make_batches(*lengths, settings["max_tokens"])
        per_epoch = math.ceil(len(batches) / settings["grad_accumulation"])
        settings["max_steps"] = fine_tuning_steps(per_epoch, settings["epochs"], settings["min_steps"])
        logging.info("%d pairs in %d batches: %d optimizer steps (%d epoch(s) of %d steps, at least %d)", len(sources),
                     len(batches), settings["max_steps"], settings["epochs"], per_epoch, settings["min_steps"])
    # a model that others fine-tune (the teacher, for Adaptive-SeqKD) keeps its final optimizer state
    moments = Path(checkpoint).with_name("final_optimizer.pt") if keep_optimizer else None
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
        records = train(model, sources, targets, settings, checkpoint, device,
                        fingerprint_extra=run_key, teacher=teacher, initial_moments=initial_moments,
                        moments_path=moments)
        make_permanent(model)
    elif gpus > 1:  # a job with several GPUs trains data-parallel, one process per GPU
        model, records = train_data_parallel(build, sources, targets, settings, checkpoint, gpus,
                                             fingerprint_extra=run_key, log_path=snakemake.log[0],
                                             moments_path=moments)
        device = f"{gpus} x cuda (DDP)"
    else:
        model = build()
        records = train(model, sources, targets, settings, checkpoint, device,
                        fingerprint_extra=run_key, teacher=teacher, moments_path=moments)
    seconds = time.perf_counter() - started

    # Build the model folder under a temporary name, then rename: the output exists only when complete.
    output = Path(output)
    staging = output.with_name(f".{output.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    save(model.cpu(), staging, spm)
    pd.DataFrame(records).to_csv(staging / "training_log.tsv", sep="\t", index=False)
    summary = {
        "role": role,
        "seed": seed,
        "parameters": count_parameters(model),
        "nonzero_parameters": nonzero_parameters(model),
        "training_pairs": len(sources),
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
    Path(checkpoint).unlink(missing_ok=True)
    logging.info("saved %s (%d parameters)", output, summary["parameters"])
    return summary


def finished_key(role: str, chain_seed: int, pairs_path: str, design: str, spm: str) -> dict:
    """What a model kept from an interrupted train_cm_models job must match to be used instead of training it again:
    its role and seed, the preset, settings and library code, and the contents of the study pairs, the design (its
    half) and the tokenizer."""
    return {
        "role": role, "seed": model_seed(chain_seed, role), "preset": dict(snakemake.params.preset),
        "settings": dict(snakemake.params.settings), "code": snakemake.params.get("code"),
        "pairs": file_digest(pairs_path), "design": file_digest(design), "spm": file_digest(spm),
    }


@contextmanager
def also_logged_to(path: str):
    """Send the log records of the block to `path` as well (one model's own log within a job that trains several)."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def train_models_in_turn(roles: list[str]) -> None:
    """Rule train_cm_models: train `roles` (same preset and settings, each on its half of the study pairs) one after
    another, each exactly as train_model would (same seeds, data and settings; one model's training shares no state
    with the next).

    Resume: an interrupted job loses its outputs (Snakemake deletes a failed job's outputs), so each finished model
    is first kept outside results/, beside its checkpoint (checkpoints/.../<role>/finished, with finished.json naming
    what it was trained from). A rerun uses a kept model whose finished.json matches instead of training it again,
    resumes the interrupted one from its checkpoint, and moves every model into results/ once all are done."""
    chain_seed = int(snakemake.wildcards.seed)
    spm, pairs_path, design = snakemake.input.spm, snakemake.input.pairs, snakemake.input.design
    kept = []
    for role, output, checkpoint, model_log in zip(roles, snakemake.output, snakemake.params.checkpoints,
                                                   snakemake.log.models, strict=True):
        folder = Path(checkpoint).with_name("finished")
        record = folder.with_name("finished.json")
        key = finished_key(role, chain_seed, pairs_path, design, spm)
        kept.append((folder, record, Path(output)))
        with also_logged_to(model_log):
            if folder.is_dir() and record.exists() and json.loads(record.read_text()) == key:
                logging.info("%s: trained by an earlier run of this job (%s), not trained again", role, folder)
                continue
            record.unlink(missing_ok=True)
            logging.info("%s: training on its half of %s (model %d of %d in this job)", role, pairs_path, len(kept),
                         len(roles))
            train_and_save(role, chain_seed, pairs_path, snakemake.input.tokens, spm, str(folder), checkpoint,
                           design=design)
            record.write_text(json.dumps(key, indent=1) + "\n")
    for folder, record, output in kept:
        shutil.rmtree(output, ignore_errors=True)
        shutil.move(folder, output)
        record.unlink()
    logging.info("saved %d models: %s", len(kept), ", ".join(str(output) for _, _, output in kept))


run(main, snakemake.log[0])
