"""Data-parallel training (DDP) in W local processes: NCCL on one GPU each, or gloo on the CPU (how the tests run it).

The rule script calls `train_data_parallel` when its job has more than one GPU; each process runs the ordinary
`memkd.train.train` loop, which shards the batches by rank once a process group exists. Rank 0 alone writes the
checkpoint and hands the trained weights back to the caller.
"""

from __future__ import annotations

import logging
import socket
import tempfile
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from memkd.train import train

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, backend: str, port: int, threads: int, build: Callable[[], torch.nn.Module],
            sources, targets, settings: dict, checkpoint_path: str, fingerprint_extra: str, result: str,
            log_path: str | None, devices: list[str], moments_path: str | None) -> None:
    torch.set_num_threads(threads)
    if rank == 0 and log_path:  # a spawned process starts without the job's logging: rank 0 appends to its log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [rank 0] %(message)s",
                            handlers=[logging.FileHandler(log_path, mode="a", encoding="utf-8")], force=True)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        device = devices[rank]
        if device.startswith("cuda"):
            torch.cuda.set_device(device)
        model = build()
        records = train(model, sources, targets, settings, checkpoint_path, device, fingerprint_extra,
                        moments_path=moments_path)
        if rank == 0:
            torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "records": records}, result)
    finally:
        dist.destroy_process_group()


def train_data_parallel(build: Callable[[], torch.nn.Module], sources, targets, settings: dict,
                        checkpoint_path: str | Path, processes: int, backend: str | None = None,
                        threads_per_process: int = 1, fingerprint_extra: str = "",
                        log_path: str | None = None, devices: list[str] | None = None,
                        moments_path: str | Path | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """Train the model that `build()` makes (picklable, same weights in every process) with `processes` DDP workers;
    returns the trained model (on the CPU) and rank 0's log records. `devices` (one per process) defaults to
    cuda:0..W-1 under NCCL and the CPU under gloo (gloo also reduces CUDA tensors, which lets one GPU host 2 ranks)."""
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl" and torch.cuda.device_count() < processes:
        raise ValueError(f"{processes} processes need {processes} GPUs, found {torch.cuda.device_count()}")
    devices = devices or [f"cuda:{rank}" if backend == "nccl" else "cpu" for rank in range(processes)]
    if len(devices) != processes:
        raise ValueError(f"{processes} processes need {processes} devices, got {devices}")
    with tempfile.TemporaryDirectory(prefix="memkd-ddp-") as folder:
        result = str(Path(folder) / "rank0.pt")
        log.info("data-parallel training: %d processes, backend %s", processes, backend)
        mp.spawn(_worker, nprocs=processes, join=True,
                 args=(processes, backend, free_port(), threads_per_process, build, sources, targets, settings,
                       str(checkpoint_path), fingerprint_extra, result, log_path, devices,
                       None if moments_path is None else str(moments_path)))
        trained = torch.load(result, weights_only=False)
    model = build()
    model.load_state_dict(trained["model"])
    return model.eval(), trained["records"]
