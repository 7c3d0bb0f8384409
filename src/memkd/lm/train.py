"""A small causal-LM training loop: every row of the data is one equal-length token sequence, so batches need no
padding. Cross-entropy on the rows, or (with a teacher) T^2 KL of the softened teacher from the softened student."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch

from memkd.lm.losses import causal_ce, soft_kd_loss

log = logging.getLogger(__name__)


def lr_multiplier(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to the peak, then cosine decay to a tenth of it."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def train(model: torch.nn.Module, rows: np.ndarray, settings: dict, seed: int, teacher: torch.nn.Module | None = None,
          temperature: float = 1.0) -> list[dict]:
    """Train in place on (n, L) token rows for settings['epochs'] epochs; return per-epoch log records."""
    rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
    if len(rows) == 0:
        raise ValueError("no training rows")
    batch_size = settings["batch_size"]
    steps_per_epoch = math.ceil(len(rows) / batch_size)
    total = settings["epochs"] * steps_per_epoch
    torch.manual_seed(seed)
    model.train()
    if teacher is not None:
        teacher.eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_multiplier(s, settings["warmup_steps"], total))
    log.info("training %d parameters on %d rows x %d tokens: %d epochs, %d steps, %s",
             sum(p.numel() for p in model.parameters()), len(rows), rows.shape[1], settings["epochs"], total,
             f"soft KD at T={temperature}" if teacher is not None else "cross-entropy")
    records, start, step = [], time.perf_counter(), 0
    progress_every = max(1, total // 10)  # ten progress lines per run, whatever the epochs
    for epoch in range(settings["epochs"]):
        order, loss_sum = epoch_order(len(rows), seed, epoch), 0.0
        for i in range(0, len(rows), batch_size):
            batch = rows[order[i:i + batch_size]]
            logits = model(batch).logits
            if teacher is None:
                loss = causal_ce(logits, batch)
            else:
                with torch.no_grad():
                    teacher_logits = teacher(batch).logits
                loss = soft_kd_loss(logits, teacher_logits, temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings["clip_norm"])
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(batch)
            step += 1
            if step % progress_every == 0:
                log.info("step %d/%d loss %.4f (%.1f s)", step, total, loss.item(), time.perf_counter() - start)
        record = {"epoch": epoch + 1, "loss": loss_sum / len(rows), "seconds": round(time.perf_counter() - start, 1)}
        records.append(record)
        log.info("epoch %(epoch)d loss %(loss).4f (%(seconds).1f s)", record)
    model.eval()
    return records
