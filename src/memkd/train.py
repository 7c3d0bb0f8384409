"""The training loop: length-bucketed batches, Adam with inverse-sqrt warm-up, label smoothing,
gradient accumulation, bf16 autocast where the hardware has it, and checkpoints with exact resume.

Exact resume: a checkpoint holds model, optimizer, scheduler, RNG states and the data position
(epoch, batch index). The batch order of an epoch depends only on (seed, epoch), so a run killed at
any point and resumed from its last checkpoint continues with the same batches and dropout masks as
an uninterrupted run from that checkpoint.
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
import torch.nn.functional as F
from tqdm.auto import tqdm

from memkd.data import IGNORE_INDEX, collate, epoch_order, make_batches
from memkd.io import atomic_path

log = logging.getLogger(__name__)


def inverse_sqrt(step: int, warmup: int) -> float:
    """LR multiplier: linear warm-up to 1 at `warmup`, then decay with 1/sqrt(step)."""
    step = max(step, 1)
    return min(step / warmup, math.sqrt(warmup / step))


def pick_precision(requested: str, device: str) -> torch.dtype | None:
    """bf16 autocast where it pays (CUDA with bf16, CPUs with native bf16); None means fp32."""
    if requested == "fp32":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or getattr(
        torch.cpu, "_is_amx_tile_supported", lambda: False
    )()
    return torch.bfloat16 if native else None


def label_smoothed_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> tuple[torch.Tensor, int]:
    """(sum of token losses, number of target tokens); padding (IGNORE_INDEX) excluded."""
    loss = F.cross_entropy(
        logits.float().view(-1, logits.size(-1)),
        labels.view(-1),
        ignore_index=IGNORE_INDEX,
        label_smoothing=smoothing,
        reduction="sum",
    )
    return loss, int((labels != IGNORE_INDEX).sum())


def settings_fingerprint(settings: dict, n_examples: int, extra: str = "") -> str:
    """Identifies a training run, so a checkpoint from other settings or data is never resumed."""
    blob = json.dumps({"settings": settings, "n": n_examples, "extra": extra}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
) -> list[dict]:
    """Train in place; return the per-step log records. Resumes from `checkpoint_path` when it holds
    a checkpoint of the same run (same settings, data size and `fingerprint_extra`)."""
    checkpoint_path = Path(checkpoint_path)
    seed = settings["seed"]
    accumulation = settings["grad_accumulation"]
    batches = make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"])
    steps_per_epoch = math.ceil(len(batches) / accumulation)
    total_steps = settings["max_steps"] or settings["epochs"] * steps_per_epoch
    fingerprint = settings_fingerprint(settings, len(sources), fingerprint_extra)

    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"], betas=(0.9, 0.98), eps=1e-9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: inverse_sqrt(s, settings["warmup_steps"]))
    precision = pick_precision(settings["precision"], device)
    step, epoch, position, records = 0, 0, 0, []
    torch.manual_seed(seed)
    random.seed(seed)

    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if state["fingerprint"] == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["python_rng"])
            step, epoch, position, records = state["step"], state["epoch"], state["position"], state["records"]
            log.info("resumed from checkpoint %s at step %d (epoch %d, batch %d)", checkpoint_path, step, epoch, position)
        else:
            log.info("ignoring checkpoint %s: it belongs to other settings or data", checkpoint_path)

    log.info(
        "training: %d pairs, %d batches/epoch, %d steps, precision %s, device %s",
        len(sources), len(batches), total_steps, precision or "fp32", device,
    )
    tokens_since, time_since, loss_sum, loss_tokens = 0, time.perf_counter(), 0.0, 0
    micro = 0
    # A progress bar where someone watches (a terminal); jobs under Snakemake or SLURM get the log lines instead.
    bar = tqdm(total=total_steps, initial=step, unit="step", desc="train", disable=not sys.stderr.isatty(), mininterval=1)
    while step < total_steps:
        order = epoch_order(len(batches), seed, epoch)
        while position < len(order) and step < total_steps:
            indices = batches[order[position]]
            position += 1
            batch = collate([sources[i] for i in indices], [targets[i] for i in indices])
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device_type=device.split(":")[0], dtype=precision, enabled=precision is not None):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).logits
            loss, n_tokens = label_smoothed_loss(logits, batch["labels"], settings["label_smoothing"])
            (loss / max(n_tokens, 1) / accumulation).backward()
            loss_sum, loss_tokens = loss_sum + loss.item(), loss_tokens + n_tokens
            tokens_since += n_tokens + int(batch["attention_mask"].sum())
            micro += 1
            if micro % accumulation and position < len(order):
                continue
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings["clip_norm"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step, micro = step + 1, 0
            bar.update(1)
            if step % settings["log_every"] == 0 or step == total_steps:
                elapsed = time.perf_counter() - time_since
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
                save_checkpoint(
                    checkpoint_path,
                    {
                        "fingerprint": fingerprint,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "torch_rng": torch.get_rng_state(),
                        "python_rng": random.getstate(),
                        "step": step,
                        "epoch": epoch,
                        "position": position,
                        "records": records,
                    },
                )
        if position >= len(order):
            epoch, position = epoch + 1, 0
    bar.close()
    model.eval()
    return records
