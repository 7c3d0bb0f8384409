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

import fcntl
import hashlib
import json
import logging
import math
import os
import platform
import random
import sys
import time
from copy import deepcopy
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from memkd.data import TokenArrays, collate, epoch_order, lengths_of, make_batches
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


PRECISIONS = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}  # name -> autocast dtype (None: no autocast)


def precision_name(dtype: torch.dtype | None) -> str:
    return "fp32" if dtype is None else str(dtype).removeprefix("torch.").replace("bfloat16", "bf16").replace(
        "float16", "fp16")


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: where oneDNN runs bf16 matrix products natively (elsewhere bf16 is emulated, and slow)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def pick_precision(requested: str, device: str, timed: dict | None = None) -> torch.dtype | None:
    """The autocast dtype of a run; None means fp32. `auto` takes bf16 (fp16 without bf16) on CUDA. On a CPU it
    takes bf16 only where a measurement says it is faster (`timed`: seconds per precision name, see
    time_precisions): on a Xeon with AMX native bf16 trains the teacher preset about 2x and the student preset
    1.3-1.4x faster than fp32 (bench/results/train_peers_xeon.md), on an AMD EPYC with AVX512-BF16 the teacher up
    to 1.7x faster (bench/results/train_peers.md). Without a measurement, auto is fp32 on a CPU."""
    if requested == "fp32":
        return None
    if requested == "bf16":
        return torch.bfloat16
    if requested == "fp16":  # GPUs without bf16 (V100, T4); the loop scales the loss against underflow
        return torch.float16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if timed and timed.get("bf16", math.inf) < (1 - BF16_MARGIN) * timed["fp32"]:
        return torch.bfloat16
    return None


# bf16 must beat fp32 by this share before auto takes it: within the timing noise fp32 wins, being the exact path.
# The probe times the steady state (time_precisions): the first step of each batch shape, when oneDNN builds its
# bf16 kernels, once made the student preset look level with fp32 (0.44 against 0.45 s; 0.316 against 0.285 s
# under load) where it trains 1.3x faster over the epochs a job runs; timed in the steady state it measures
# 0.70-0.81 of fp32's time on a Xeon with AMX, the teacher 0.5-0.6, and a 10% margin keeps near-ties (at 3% two
# fresh runs on one EPYC picked fp32 and then bf16) with fp32.
BF16_MARGIN = 0.10
PROBE_BATCHES, PROBE_WARMUP = 6, 1


def precision_cache_dir() -> Path:
    """Where measured precision choices are kept, per machine and preset: $MEMKD_CACHE_DIR, else
    $XDG_CACHE_HOME/memkd (~/.cache/memkd)."""
    if os.environ.get("MEMKD_CACHE_DIR"):
        return Path(os.environ["MEMKD_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "memkd"


def training_code_digest() -> str:
    """The source of the modules a training step runs (the forward pass, the losses, this loop): a measured
    precision choice is only as current as the code it timed."""
    package = Path(__file__).parent
    blob = b"".join((package / name).read_bytes() for name in ("model.py", "losses.py", "train.py"))
    return hashlib.sha256(blob).hexdigest()[:16]


def machine_and_preset_key(model: torch.nn.Module, settings: dict, device: str) -> dict:
    """What decides which precision is faster: the CPU, torch, the thread count, the model's shape, the
    batch size and the training code."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    config = model.config
    return {
        "cpu": cpu, "capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "device": device,
        "model": [config.d_model, config.encoder_layers, config.decoder_layers, config.encoder_attention_heads,
                  config.encoder_ffn_dim, config.vocab_size],
        "max_tokens": settings["max_tokens"], "code": training_code_digest(),
    }


def precision_cache_path(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return precision_cache_dir() / "precision" / f"{digest}.json"


def time_precisions(model: torch.nn.Module, batches: list[dict], settings: dict, device: str,
                    candidates=("fp32", "bf16"), warmup: int = PROBE_WARMUP) -> dict[str, float]:
    """Seconds per candidate precision of full training steps (forward, loss, backward, clipping, Adam) of a copy
    of `model` on `batches`, in the steady state a training job spends nearly all its steps in: every batch is
    stepped twice in a row and only the second step is timed. On a CPU the first step of a new batch shape is
    not representative: oneDNN builds its bf16 (AMX) matrix-product kernels for each new shape then (1-3 ms
    each, about 1.4 s over the first epoch of 2,000 pairs, bench/results/train_peers_xeon.md), while every
    training job of the study runs 10-80 epochs over the same batches, so the kernels are built once and reused;
    timing the first step alone made bf16 look level with fp32 for the student preset where it trains 1.3x
    faster. The first `warmup` batches are not timed at all. The candidates take turns batch by batch, so a slow
    spell of a shared machine hits both. `model` is left as it was; the global RNG is not (train seeds it
    afterwards)."""
    seconds = dict.fromkeys(candidates, 0.0)
    copies = {}
    for name in candidates:
        copy = TargetLogits(deepcopy(model).to(device).train())
        copies[name] = copy, make_optimizer(copy.model, settings)
    for i, batch in enumerate(batches):
        batch = {k: v.to(device) for k, v in batch.items()}
        labels = batch["labels"][batch["labels"] != IGNORE_INDEX]
        for name in candidates:
            forward, optimizer = copies[name]
            dtype = getattr(torch, PRECISIONS[name]) if PRECISIONS[name] else None
            for timed in (False, True):  # the first step of a shape builds its kernels; the second is the job's
                started = time.perf_counter()
                with torch.autocast(device_type=device.split(":")[0], dtype=dtype, enabled=dtype is not None):
                    logits = forward(**batch)
                loss, n_tokens = label_smoothed_loss(logits, labels, settings["label_smoothing"])
                (loss / max(n_tokens, 1)).backward()
                torch.nn.utils.clip_grad_norm_(forward.model.parameters(), settings["clip_norm"])
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if timed and i >= warmup:
                    seconds[name] += time.perf_counter() - started
    return seconds


def measured_precision(model: torch.nn.Module, sources, targets, batches: list, settings: dict,
                       device: str) -> tuple[torch.dtype | None, str]:
    """`precision: auto` on a CPU with native bf16: fp32 or bf16, whichever trains this preset faster here, timed
    over a few steps at the first job of a machine and preset and cached for the others (a lock lets concurrent jobs
    wait for one measurement rather than each take their own). Returns (dtype, how it was decided)."""
    key = machine_and_preset_key(model, settings, device)
    path = precision_cache_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            timed, how = json.loads(path.read_text())["seconds"], f"measured earlier, cached in {path}"
        else:
            # batches come sorted by length: evenly spaced ones cover short and long sentences
            picks = [batches[round(i * (len(batches) - 1) / max(PROBE_BATCHES - 1, 1))]
                     for i in range(min(PROBE_BATCHES, len(batches)))]
            picks = [batches[0]] * PROBE_WARMUP + picks  # the first steps of a process run slow (allocator, caches)
            collated = [collate([sources[i] for i in b], [targets[i] for i in b]) for b in picks]
            timed = time_precisions(model, collated, settings, device)
            with atomic_path(path) as tmp:
                Path(tmp).write_text(json.dumps({"key": key, "seconds": timed}, indent=1) + "\n")
            how = f"measured now, cached in {path}"
    dtype = pick_precision("auto", device, timed)
    return dtype, (f"auto: {precision_name(dtype)} ({how}: "
                   + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timed.items()) + ")")


def resolve_precision(model, sources, targets, batches, settings: dict, device: str) -> tuple[torch.dtype | None, str]:
    """(autocast dtype, how it was chosen) for a run's `precision` setting."""
    requested = settings["precision"]
    if requested == "auto" and device == "cpu" and cpu_has_native_bf16():
        return measured_precision(model, sources, targets, batches, settings, device)
    dtype = pick_precision(requested, device)
    return dtype, f"{requested}: {precision_name(dtype)}"


def fine_tuning_steps(steps_per_epoch: int, epochs: int, min_steps: int | None) -> int:
    """Optimizer steps of a teacher's fine-tuning: `epochs` passes over the selected pairs, and more passes when
    that is fewer than `min_steps` (a few pairs fill one batch, so one pass would be one step)."""
    if steps_per_epoch < 1:
        raise ValueError(f"a fine-tuning epoch of {steps_per_epoch} steps")
    return max(epochs * steps_per_epoch, min_steps or 0)


def budget_for_steps(source_lengths, target_lengths, max_tokens: int, batches: int) -> int:
    """The largest token budget, at most `max_tokens`, under which make_batches cuts the pairs into at least
    `batches` batches; 1 (one pair per batch) when even that gives fewer. Adaptive-SeqKD's teacher sees its few
    selected pairs once, in min_steps small batches, instead of min_steps passes over one batch of all of them
    (which taught the default's teacher to answer other sources with one of those pairs' targets).

    The budgets tried are max_tokens, max_tokens - 8, ... (> 0). make_batches cuts its fixed order greedily, and a
    batch that fits a budget fits any larger one, so the number of batches never grows with the budget: a binary
    search over those budgets finds the largest one a scan from the top would (log2(max_tokens / 8) calls, not up to
    max_tokens / 8, each sorting every pair)."""
    enough = lambda k: len(make_batches(source_lengths, target_lengths, max_tokens - 8 * k)) >= batches
    low, high = 0, (max_tokens - 1) // 8  # budget max_tokens - 8k for k in [low, high]; high: the smallest budget > 0
    if max_tokens < 1 or not enough(high):
        return 1
    while low < high:  # the smallest k (largest budget) that gives enough batches lies in [low, high]
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return max_tokens - 8 * low


def keep_freed_memory() -> None:
    """Tell glibc's malloc to keep freed memory for reuse. By default it hands large freed blocks (the logits,
    the attention buffers) back to the kernel, and the next step's allocation of the same size faults in fresh
    zeroed pages: 200,000-400,000 page faults per epoch of the student preset on 2,000 pairs, none with this,
    and 2-5% more tokens/s on a 2-core Xeon (the teacher preset in bf16 gains little). Blocks up to 32 MiB (glibc's
    largest threshold) now come from the heap, and the heap keeps up to 1 GiB free at its top. Training jobs are
    one model each, so the memory kept is this job's own peak. A no-op outside glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 32 * 2**20)
    libc.mallopt(m_trim_threshold, 2**30)


def hold_mkl_threads() -> None:
    """Keep MKL (torch's CPU math library) at the thread count torch sets. By default MKL may run a call on fewer
    threads (MKL_DYNAMIC), which can split the work differently and change the last bits of a result. The one such
    call found in training, the exp of the loss's backward (7 of 210 runs of tests/unit/test_determinism.py's
    training differed, 2 threads), is gone: the losses take softmax from torch's own kernel (memkd.losses). This
    stays as a guard for the MKL calls left (matrix products); it costs nothing measurable. The workflow also sets
    MKL_DYNAMIC=FALSE for every job (workflow/rules/common.smk); this covers the processes that imported torch
    before it was set. A no-op where torch has no MKL."""
    import ctypes

    try:
        ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")).MKL_Set_Dynamic(0)
    except (OSError, AttributeError):  # another platform's library name, or a torch built without MKL
        pass


def make_optimizer(model: torch.nn.Module, settings: dict) -> torch.optim.Optimizer:
    """Adam, fused: one kernel over all parameters instead of a dozen small ops per tensor (on the CPU too)."""
    return torch.optim.Adam(model.parameters(), lr=settings["lr"], betas=(0.9, 0.98), eps=1e-9, fused=True)


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


def adam_moments(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, dict[str, torch.Tensor]]:
    """The optimizer's per-weight state (Adam: step, first and second moments) keyed by parameter name, on the CPU."""
    return {name: {key: value.detach().cpu().clone() for key, value in optimizer.state[param].items()}
            for name, param in model.named_parameters() if param in optimizer.state}


def load_adam_moments(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      moments: dict[str, dict[str, torch.Tensor]]) -> None:
    """Give the optimizer the per-weight state of an earlier run of the same architecture (its learning rate and
    schedule stay this run's): fine-tuning then goes on with the step sizes the model was trained with, where a
    fresh Adam moves every weight by about lr in its first steps, whatever its gradient."""
    params = {name: param for name, param in model.named_parameters() if param.requires_grad}
    missing, unknown = sorted(set(params) - set(moments)), sorted(set(moments) - set(params))
    if missing or unknown:
        raise ValueError(f"optimizer state does not fit the model: missing {missing[:3]}, unknown {unknown[:3]}")
    for name, param in params.items():
        state = moments[name]
        if state["exp_avg"].shape != param.shape:
            raise ValueError(f"optimizer state of {name} has shape {tuple(state['exp_avg'].shape)}, "
                             f"the weight {tuple(param.shape)}")
        optimizer.state[param] = {key: value.to(param.device).clone() for key, value in state.items()}


def train(
    model: torch.nn.Module,
    sources: list[list[int]] | TokenArrays,
    targets: list[list[int]] | TokenArrays,
    settings: dict,
    checkpoint_path: str | Path,
    device: str = "cpu",
    fingerprint_extra: str = "",
    teacher: torch.nn.Module | None = None,
    initial_moments: dict | None = None,
    moments_path: str | Path | None = None,
) -> list[dict]:
    """Train in place; return the per-step log records. Resumes from `checkpoint_path` when it holds
    a checkpoint of the same run (same settings, data size, process count and `fingerprint_extra`).
    `initial_moments` (from `adam_moments` of an earlier run) start the optimizer; `moments_path`, when given,
    receives this run's final optimizer state for a later run to go on with."""
    checkpoint_path = Path(checkpoint_path)
    seed = settings["seed"]
    accumulation = settings["grad_accumulation"]
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    batches = make_batches(lengths_of(sources), lengths_of(targets), settings["max_tokens"])
    usable = len(batches) - len(batches) % world  # batches per epoch that every process steps through together
    if usable == 0:
        raise ValueError(f"{len(batches)} batches per epoch cannot feed {world} processes")
    steps_per_epoch = math.ceil(usable / world / accumulation)
    total_steps = settings["max_steps"] or settings["epochs"] * steps_per_epoch
    extra = fingerprint_extra + (f"|world{world}" if world > 1 else "")
    fingerprint = settings_fingerprint(settings, len(sources), extra)

    keep_freed_memory()
    hold_mkl_threads()
    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval()
        teacher_logits = TeacherLogits(teacher, settings.get("teacher_cache_mb", DEFAULT_TEACHER_CACHE_MB))
    # DDP broadcasts rank 0's weights at construction and averages gradients in backward()
    forward = DistributedDataParallel(TargetLogits(model)) if world > 1 else TargetLogits(model)
    optimizer = make_optimizer(model, settings)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_multiplier(settings))
    step, epoch, position, records = 0, 0, 0, []
    state = None
    if checkpoint_path.exists():
        # on the CPU: RNG states must stay CPU byte tensors; load_state_dict moves weights and moments to the device
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        if state["fingerprint"] != fingerprint:
            log.info("ignoring checkpoint %s: it belongs to other settings or data", checkpoint_path)
            state = None
    if state is not None and "precision" in state:  # a resumed run keeps its precision, wherever it resumes
        precision = pick_precision(state["precision"], device)
        how = f"{settings['precision']}: {state['precision']} (from the checkpoint)"
    else:  # before the seeding below: a timed choice of `auto` draws dropout masks
        precision, how = resolve_precision(model, sources, targets, batches, settings, device)
    if world > 1:  # every process trains at rank 0's precision, even if their timings disagreed
        chosen = [precision_name(precision), how]
        dist.broadcast_object_list(chosen, src=0)
        precision, how = pick_precision(chosen[0], device), chosen[1]
    used = precision_name(precision)
    # fp16 (CUDA without bf16) needs loss scaling against gradient underflow; bf16 and fp32 do not
    scaler = torch.amp.GradScaler("cuda", enabled=precision == torch.float16)
    torch.manual_seed(seed + rank)  # own dropout masks per process; rank 0 is the single-process run
    random.seed(seed + rank)

    if initial_moments is not None and state is None:
        load_adam_moments(model, optimizer, initial_moments)
    if state is not None:
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

    log.info(
        "training: %d pairs, %d batches/epoch, %d steps, precision %s, device %s, processes %d",
        len(sources), len(batches), total_steps, how, device, world,
    )
    # the loss sum stays a tensor until a log line needs it: no per-step .item()
    tokens_since, time_since, loss_sum, loss_tokens = 0, time.perf_counter(), torch.zeros((), dtype=torch.float64), 0
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
            loss_sum, loss_tokens = loss_sum + loss.detach().to("cpu", torch.float64), loss_tokens + n_tokens
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
                    totals = torch.tensor([float(loss_sum), loss_tokens, tokens_since], dtype=torch.float64,
                                          device=device)
                    dist.all_reduce(totals)
                    loss_sum, loss_tokens, tokens_since = totals.tolist()
                record = {
                    "step": step,
                    "epoch": epoch + position / len(order),
                    "loss": float(loss_sum) / max(loss_tokens, 1),
                    "lr": scheduler.get_last_lr()[0],
                    "tokens_per_s": tokens_since / elapsed,
                    "precision": used,
                }
                records.append(record)
                log.info("step %(step)d epoch %(epoch).2f loss %(loss).4f lr %(lr).2e tok/s %(tokens_per_s).0f", record)
                bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}", refresh=False)
                tokens_since, time_since, loss_sum, loss_tokens = 0, time.perf_counter(), torch.zeros((), dtype=torch.float64), 0
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
                            "precision": used,
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
    if moments_path is not None and rank == 0:
        save_checkpoint(Path(moments_path), adam_moments(model, optimizer))
    model.eval()
    return records
