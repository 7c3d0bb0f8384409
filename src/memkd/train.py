"""The training loop: length-bucketed batches, Adam with inverse-sqrt warm-up, label smoothing,
gradient accumulation, bf16 autocast where the hardware has it, and checkpoints with exact resume.

Exact resume: a checkpoint holds model, optimizer, scheduler, RNG states and the data position
(epoch, batch index). The batch order of an epoch depends only on (seed, epoch), so a run killed at
any point and resumed from its last checkpoint continues with the same batches and dropout masks as
an uninterrupted run from that checkpoint.

Data parallel (DDP): when a torch.distributed process group is initialised (see memkd.distributed), each of the W
processes takes every W-th batch of the shared epoch order, so one optimizer step sees W batches (like gradient
accumulation over W batches); an epoch's last len(order) % W batches are skipped so every process steps together.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from memkd.data import collate, epoch_order, make_batches
from memkd.io import atomic_path
from memkd.losses import label_smoothed_loss, training_loss
from memkd.model import IGNORE_INDEX, TargetLogits

log = logging.getLogger(__name__)


def inverse_sqrt(step: int, warmup: int) -> float:
    """LR multiplier: linear warm-up to 1 at `warmup`, then decay with 1/sqrt(step)."""
    step = max(step, 1)
    return min(step / warmup, math.sqrt(warmup / step))


def learning_rate_multiplier(settings: dict):
    """The schedule of a run: inverse_sqrt (default), or constant (Adaptive-SeqKD's teacher fine-tuning)."""
    if settings.get("schedule", "inverse_sqrt") == "constant":
        return lambda step: 1.0
    return lambda step: inverse_sqrt(step, settings["warmup_steps"])


def final_learning_rate(settings: dict, steps: int) -> float:
    """The learning rate a run of `settings` ended with after `steps` optimizer steps."""
    return settings["lr"] * learning_rate_multiplier(settings)(steps)


def pick_precision(requested: str, device: str) -> torch.dtype | None:
    """The autocast dtype of a run; None means fp32. `auto` takes bf16 (fp16 without bf16) on CUDA only: on CPUs,
    native bf16 (AVX512-BF16, AMX) trained these small models 30-37% *slower* than fp32 on a Xeon with AMX
    (Hugging Face's Seq2SeqTrainer too), so auto never picks it there; ask for `bf16` to try it."""
    if requested == "fp32":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if requested == "fp16":  # GPUs without bf16 (V100, T4); the loop scales the loss against underflow
        return torch.float16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


# Training keys that change how fast a run goes, never its result: a checkpoint stays resumable when they change.
NON_RESULT_KEYS = ("teacher_cache_mb",)
DEFAULT_TEACHER_CACHE_MB = 1024


def settings_fingerprint(settings: dict, n_examples: int, extra: str = "") -> str:
    """Identifies a training run, so a checkpoint from other settings or data is never resumed."""
    settings = {k: v for k, v in settings.items() if k not in NON_RESULT_KEYS}
    blob = json.dumps({"settings": settings, "n": n_examples, "extra": extra}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class TeacherLogits:
    """The teacher's logits at a batch's target positions, computed at their first use and kept for every later
    epoch (Word-KD, Self-Evolution KD): the teacher is frozen and runs without dropout, and a batch always holds the
    same pairs, so its logits never change. Batches that would take the cache past `budget_mb` are recomputed at
    every use; the result is the same either way, only slower."""

    def __init__(self, teacher: torch.nn.Module, budget_mb: float):
        self.teacher, self.budget = TargetLogits(teacher), budget_mb * 2**20
        self.cached: dict[int, torch.Tensor] = {}
        self.used = self.recomputed = 0

    def __call__(self, batch_index: int, batch: dict) -> torch.Tensor:
        if batch_index in self.cached:
            return self.cached[batch_index]
        with torch.no_grad():
            logits = self.teacher(**batch)
        size = logits.numel() * logits.element_size()
        if self.used + size <= self.budget:
            self.cached[batch_index], self.used = logits, self.used + size
        else:
            self.recomputed += 1
        return logits


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def train(
    model: torch.nn.Module,
    sources: list[list[int]],
    targets: list[list[int]],
    settings: dict,
    checkpoint_path: str | Path,
    device: str = "cpu",
    fingerprint_extra: str = "",
    teacher: torch.nn.Module | None = None,
) -> list[dict]:
    """Train in place; return the per-step log records. Resumes from `checkpoint_path` when it holds
    a checkpoint of the same run (same settings, data size, process count and `fingerprint_extra`)."""
    checkpoint_path = Path(checkpoint_path)
    seed = settings["seed"]
    accumulation = settings["grad_accumulation"]
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    batches = make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"])
    usable = len(batches) - len(batches) % world  # batches per epoch that every process steps through together
    if usable == 0:
        raise ValueError(f"{len(batches)} batches per epoch cannot feed {world} processes")
    steps_per_epoch = math.ceil(usable / world / accumulation)
    total_steps = settings["max_steps"] or settings["epochs"] * steps_per_epoch
    extra = fingerprint_extra + (f"|world{world}" if world > 1 else "")
    fingerprint = settings_fingerprint(settings, len(sources), extra)

    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval()
        teacher_logits = TeacherLogits(teacher, settings.get("teacher_cache_mb", DEFAULT_TEACHER_CACHE_MB))
    # DDP broadcasts rank 0's weights at construction and averages gradients in backward()
    forward = DistributedDataParallel(TargetLogits(model)) if world > 1 else TargetLogits(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"], betas=(0.9, 0.98), eps=1e-9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_multiplier(settings))
    precision = pick_precision(settings["precision"], device)
    # fp16 (CUDA without bf16) needs loss scaling against gradient underflow; bf16 and fp32 do not
    scaler = torch.amp.GradScaler("cuda", enabled=precision == torch.float16)
    step, epoch, position, records = 0, 0, 0, []
    torch.manual_seed(seed + rank)  # own dropout masks per process; rank 0 is the single-process run
    random.seed(seed + rank)

    if checkpoint_path.exists():
        # on the CPU: RNG states must stay CPU byte tensors; load_state_dict moves weights and moments to the device
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        if state["fingerprint"] == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["torch_rng"][rank] if world > 1 else state["torch_rng"])
            random.setstate(state["python_rng"][rank] if world > 1 else state["python_rng"])
            cuda_rng = state.get("cuda_rng")
            cuda_rng = cuda_rng[rank] if world > 1 and cuda_rng is not None else cuda_rng
            if cuda_rng is not None and device.startswith("cuda"):  # dropout masks drawn on the GPU
                torch.cuda.set_rng_state(cuda_rng, device)
            step, epoch, position, records = state["step"], state["epoch"], state["position"], state["records"]
            log.info("resumed from checkpoint %s at step %d (epoch %d, batch %d)", checkpoint_path, step, epoch, position)
        else:
            log.info("ignoring checkpoint %s: it belongs to other settings or data", checkpoint_path)

    log.info(
        "training: %d pairs, %d batches/epoch, %d steps, precision %s, device %s, processes %d",
        len(sources), len(batches), total_steps, precision or "fp32", device, world,
    )
    tokens_since, time_since, loss_sum, loss_tokens = 0, time.perf_counter(), 0.0, 0
    micro = 0
    # A progress bar where someone watches (a terminal); jobs under Snakemake or SLURM get the log lines instead.
    bar = tqdm(total=total_steps, initial=step, unit="step", desc="train",
               disable=rank != 0 or not sys.stderr.isatty(), mininterval=1)
    while step < total_steps:
        order = epoch_order(len(batches), seed, epoch)[:usable]
        while position < len(order) and step < total_steps:
            batch_index = order[position + rank]
            indices = batches[batch_index]
            position += world
            batch = collate([sources[i] for i in indices], [targets[i] for i in indices])
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device_type=device.split(":")[0], dtype=precision, enabled=precision is not None):
                logits = forward(**batch)  # (target tokens, vocab): padding rows are never computed
            labels = batch["labels"][batch["labels"] != IGNORE_INDEX]
            if teacher is None:
                loss, n_tokens = label_smoothed_loss(logits, labels, settings["label_smoothing"])
            else:  # word-level distillation: the teacher's distributions on the same reference prefix
                loss, n_tokens = training_loss(logits, teacher_logits(batch_index, batch), labels, settings)
            scaler.scale(loss / max(n_tokens, 1) / accumulation).backward()
            loss_sum, loss_tokens = loss_sum + loss.item(), loss_tokens + n_tokens
            tokens_since += n_tokens + int(batch["attention_mask"].sum())
            micro += 1
            if micro % accumulation and position < len(order):
                continue
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings["clip_norm"])
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step, micro = step + 1, 0
            bar.update(1)
            if step % settings["log_every"] == 0 or step == total_steps:
                elapsed = time.perf_counter() - time_since
                if world > 1:  # the log shows all processes' tokens and loss
                    # on the job's device: NCCL reduces GPU tensors only
                    totals = torch.tensor([loss_sum, loss_tokens, tokens_since], dtype=torch.float64, device=device)
                    dist.all_reduce(totals)
                    loss_sum, loss_tokens, tokens_since = totals.tolist()
                record = {
                    "step": step,
                    "epoch": epoch + position / len(order),
                    "loss": loss_sum / max(loss_tokens, 1),
                    "lr": scheduler.get_last_lr()[0],
                    "tokens_per_s": tokens_since / elapsed,
                }
                records.append(record)
                log.info("step %(step)d epoch %(epoch).2f loss %(loss).4f lr %(lr).2e tok/s %(tokens_per_s).0f", record)
                bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}", refresh=False)
                tokens_since, time_since, loss_sum, loss_tokens = 0, time.perf_counter(), 0.0, 0
            if step % settings["checkpoint_every"] == 0 and step < total_steps:
                torch_rng, python_rng = torch.get_rng_state(), random.getstate()
                cuda_rng = torch.cuda.get_rng_state(device) if device.startswith("cuda") else None
                if world > 1:  # every process's RNG goes into rank 0's checkpoint
                    states = [None] * world
                    dist.all_gather_object(states, (torch_rng, python_rng, cuda_rng))
                    torch_rng, python_rng, cuda_rng = ([s[i] for s in states] for i in range(3))
                if rank == 0:
                    save_checkpoint(
                        checkpoint_path,
                        {
                            "fingerprint": fingerprint,
                            "model": model.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(),
                            "scaler": scaler.state_dict(),
                            "torch_rng": torch_rng,
                            "python_rng": python_rng,
                            "cuda_rng": cuda_rng,
                            "step": step,
                            "epoch": epoch,
                            "position": position,
                            "records": records,
                        },
                    )
        if position >= len(order):
            epoch, position = epoch + 1, 0
    bar.close()
    if teacher is not None:
        log.info("teacher logits: %d batches cached (%.0f MB), %d computations beyond the cache budget",
                 len(teacher_logits.cached), teacher_logits.used / 2**20, teacher_logits.recomputed)
    model.eval()
    return records
