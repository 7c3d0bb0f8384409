"""GPU check of the training and decoding code (run by hand on a machine with a CUDA GPU; CI has none).

What it shows, on real study pairs and the teacher preset of config.yaml, and prints as one JSON report:
  1. the same model gives the same first losses on the CPU and the GPU (fp32, no dropout);
  2. fp32, bf16 autocast and fp16 with loss scaling on the GPU: loss curves, tokens/s, peak GPU memory, and each
     mixed-precision run's final loss against fp32's;
  3. a run killed at a checkpoint and resumed on the GPU ends where the uninterrupted run ends;
  4. data-parallel training: NCCL with one process per GPU (as many as there are), and 2 gloo processes sharing GPU 0
     (what a single-GPU machine can show of the 2-process path) against 1 process with gradient accumulation 2;
  5. greedy and beam-5 decoding speed on the GPU against the CPU, and how many greedy outputs agree.

    python bench/gpu_check.py --spm results/data/bible/spm.model \
        --pairs results/data/bible/en-es/study_train.tsv --out gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import yaml

from memkd.data import encode
from memkd.decode import translate
from memkd.distributed import train_data_parallel
from memkd.io import read_tsv
from memkd.model import build_model
from memkd.tokenizer import load
from memkd.train import train


def losses(records: list[dict]) -> list[float]:
    return [round(r["loss"], 4) for r in records]


def timed_train(build, sources, targets, settings, checkpoint, device) -> dict:
    model = build()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    records = train(model, sources, targets, settings, checkpoint, device)
    seconds = time.perf_counter() - started
    return {
        "model": model,
        "loss": losses(records),
        "tokens_per_s": round(float(np.median([r["tokens_per_s"] for r in records[1:]] or [0])), 0),
        "seconds": round(seconds, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if device.startswith("cuda") else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spm", required=True)
    parser.add_argument("--pairs", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--max-tokens", type=int, default=4000)
    parser.add_argument("--decode-sentences", type=int, default=500)
    parser.add_argument("--parts", default="1,2,3,4,5", help="which checks to run, e.g. 3,4")
    parser.add_argument("--out", default="gpu_check.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here; run it on a GPU machine")

    config = yaml.safe_load(Path(args.config).read_text())
    processor = load(args.spm)
    pairs = read_tsv(args.pairs, columns=["src", "tgt"])
    preset = config["models"]["teacher"]
    sources = encode(processor, pairs["src"].tolist(), preset["max_positions"])
    targets = encode(processor, pairs["tgt"].tolist(), preset["max_positions"])
    settings = {**config["training"]["teacher"], "seed": 1, "max_steps": args.steps, "max_tokens": args.max_tokens,
                "log_every": 20, "checkpoint_every": 10**9, "precision": "fp32"}
    build = partial(build_model, preset, processor.vocab_size(), 1)
    report = {
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "gpus": torch.cuda.device_count(),
        "bf16_supported": torch.cuda.is_bf16_supported(),
        "pairs": len(pairs),
        "preset": preset,
        "settings": settings,
    }
    folder = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    parts = {int(p) for p in args.parts.split(",")}

    if 1 in parts:
        cpu_vs_gpu(report, build_model, preset, processor, sources, targets, settings, folder)
    if 2 in parts or 5 in parts:  # decoding uses the bf16-trained model
        bf16_model = precision_runs(report, build, sources, targets, settings, folder)
    if 3 in parts:
        resume_check(report, build, sources, targets, settings, folder, args.steps)
    if 4 in parts:
        data_parallel(report, build, sources, targets, settings, folder)
    if 5 in parts:
        decoding(report, bf16_model, processor, pairs, args.decode_sentences)

    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def cpu_vs_gpu(report, build_model, preset, processor, sources, targets, settings, folder):
    """1. The same model gives the same first losses on the CPU and the GPU (fp32, no dropout)."""
    exact = {**settings, "max_steps": 5, "log_every": 1}
    no_dropout = partial(build_model, {**preset, "dropout": 0.0}, processor.vocab_size(), 1)
    cpu = train(no_dropout(), sources, targets, exact, folder / "cpu.pt", "cpu")
    gpu = train(no_dropout(), sources, targets, exact, folder / "gpu.pt", "cuda")
    report["cpu_vs_gpu_fp32"] = {"cpu": losses(cpu), "gpu": losses(gpu),
                                 "max_rel_diff": float(np.max(np.abs(np.subtract(losses(cpu), losses(gpu)))
                                                               / np.array(losses(cpu))))}
    print("1. cpu vs gpu", report["cpu_vs_gpu_fp32"], flush=True)


def precision_runs(report, build, sources, targets, settings, folder):
    """2. fp32, bf16 autocast, fp16 autocast with the gradient scaler; keeps the bf16 model for decoding."""
    runs = {}
    for precision in ["fp32", "bf16", "fp16"]:
        runs[precision] = timed_train(build, sources, targets, {**settings, "precision": precision},
                                      folder / f"{precision}.pt", "cuda")
        print(f"2. {precision}", {k: v for k, v in runs[precision].items() if k != "model"}, flush=True)
    report["precision"] = {p: {k: v for k, v in r.items() if k != "model"} for p, r in runs.items()}
    for precision in ["bf16", "fp16"]:
        report["precision"][precision]["final_loss_rel_to_fp32"] = round(
            runs[precision]["loss"][-1] / runs["fp32"]["loss"][-1], 4)
    return runs["bf16"]["model"]


def resume_check(report, build, sources, targets, settings, folder, steps):
    """3. A run stopped at its half-way checkpoint and resumed ends where the uninterrupted run ends."""
    resume = {**settings, "precision": "bf16", "checkpoint_every": steps // 2}
    whole = train(build(), sources, targets, resume, folder / "resume.pt", "cuda")  # leaves the half-way checkpoint
    resumed = train(build(), sources, targets, resume, folder / "resume.pt", "cuda")
    report["resume_bf16"] = {"uninterrupted_last": losses(whole)[-3:], "resumed_last": losses(resumed)[-3:],
                             "max_abs_diff": float(np.max(np.abs(np.subtract(losses(whole), losses(resumed)))))}
    print("3. resume", report["resume_bf16"], flush=True)


def data_parallel(report, build, sources, targets, settings, folder):
    """4. NCCL over every GPU here; 2 gloo processes sharing GPU 0 vs 1 process accumulating 2 batches."""
    ddp = {**settings, "precision": "bf16"}
    n_gpus = torch.cuda.device_count()
    _, nccl = train_data_parallel(build, sources, targets, ddp if n_gpus > 1 else dict(ddp, grad_accumulation=1),
                                  folder / "nccl.pt", processes=n_gpus, backend="nccl")
    single = train(build(), sources, targets, dict(ddp, grad_accumulation=2), folder / "single2.pt", "cuda")
    _, gloo = train_data_parallel(build, sources, targets, ddp, folder / "gloo.pt", processes=2, backend="gloo",
                                  devices=["cuda:0", "cuda:0"])
    rel = np.abs(np.subtract(losses(gloo), losses(single))) / np.array(losses(single))
    report["data_parallel"] = {
        f"nccl_{n_gpus}_processes": losses(nccl)[::4],
        "single_process_accumulation_2": losses(single)[::4],
        "gloo_2_processes_on_gpu0": losses(gloo)[::4],
        "gloo_vs_single_max_rel_diff": round(float(rel.max()), 4),
    }
    print("4. data parallel", report["data_parallel"], flush=True)


def decoding(report, model, processor, pairs, n_sentences):
    """5. Greedy and beam-5 speed on the GPU and the CPU (the model in fp32), and greedy agreement."""
    model = model.float()
    texts = pairs["src"].tolist()[:n_sentences]
    result, outputs = {}, {}
    for device in ["cuda", "cpu"]:
        for beam in [1, 5]:
            out, seconds = translate(model, processor, texts, beam=beam, device=device)
            outputs[(device, beam)] = [o[0] for o in out]
            result[f"{device}_beam{beam}_sentences_per_s"] = round(len(texts) / seconds, 1)
    result["greedy_outputs_identical_cpu_gpu"] = sum(
        a == b for a, b in zip(outputs[("cuda", 1)], outputs[("cpu", 1)])) / len(texts)
    report["decoding"] = result
    print("5. decoding", result, flush=True)


if __name__ == "__main__":
    main()
