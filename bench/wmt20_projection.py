"""Per-stage GPU-hours of configs/wmt20_en_de.yaml at the paper's scale, projected from measured speeds.

A projection, not a measurement: nothing here ran at that scale. It reads the measured rates in bench/results
(translation_bleu_h100.json: training tokens/s and greedy sentences/s of a d512 6+6 model; gpu_check_h200.json:
greedy sentences/s of a d256 3+3 model) and scales them to the preset's models by parameter count, then multiplies by
the work of each stage at N training pairs per direction. Prints a Markdown table (README, "Paper scale (WMT20)").

    python bench/wmt20_projection.py [--pairs 40000000] [--prefixes 18]
"""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from pathlib import Path

import torch
import yaml

from memkd.model import build_model, count_parameters

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# exact-match replication of teacher / baseline / student on En-De in the paper (STUDY.md section 5)
REPLICATION = {"teacher": 0.128, "baseline": 0.108, "student": 0.113}


def parameters(preset: dict, vocab: int) -> int:
    with torch.device("meta"):  # shapes only, no weights
        return count_parameters(build_model(preset, vocab, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=float, default=40e6, help="training pairs per direction")
    parser.add_argument("--prefixes", type=float, default=18, help="ExMem prefixes per exact match (words - 2)")
    args = parser.parse_args()

    big_run = json.loads((RESULTS / "translation_bleu_h100.json").read_text())
    small_run = json.loads((RESULTS / "gpu_check_h200.json").read_text())
    preset = yaml.safe_load((ROOT / "configs" / "wmt20_en_de.yaml").read_text())
    vocab = preset["tokenizer"]["vocab_size"]
    teacher_settings, student_settings = preset["training"]["teacher"], preset["training"]["student"]
    tokens_per_step = teacher_settings["max_tokens"] * teacher_settings["grad_accumulation"]

    measured_params = big_run["parameters"]  # d512 6+6 at the Bible run's vocabulary
    # its vocabulary: parameters grow by d_model per vocabulary entry (tied embeddings)
    measured_vocab = 1000 + (measured_params - parameters(big_run["preset"], 1000)) // big_run["preset"]["d_model"]
    small_params = parameters(small_run["preset"], measured_vocab)
    train_tok_s = big_run["training"]["tokens_per_s"]
    tokens_per_pair = train_tok_s * big_run["training"]["seconds"] / (big_run["training"]["epochs"] * big_run["train_pairs"])
    greedy = big_run["test"]["greedy"]["sentences_per_s"]
    # greedy decoding slows with size far less than linearly: the exponent between the two measured models
    exponent = math.log(small_run["decoding"]["cuda_beam1_sentences_per_s"] / greedy) / math.log(measured_params / small_params)

    size = {role: parameters(preset["models"][role], vocab) / measured_params for role in ("teacher", "student")}
    train = {role: train_tok_s / size[role] for role in size}  # tokens/s, FLOPs ~ parameters
    decode = {role: greedy / size[role] ** exponent for role in size}  # sentences/s
    score = {role: 3 * train[role] / tokens_per_pair for role in size}  # pairs/s: a forward pass ~ 1/3 of a step
    n, cm = args.pairs, preset["counterfactual"]["models"]
    hours = lambda seconds: seconds / 3600  # noqa: E731

    def exmem(role: str, model: str) -> float:
        return hours(REPLICATION[role] * n * args.prefixes / decode[model])

    rows = [
        ("train teacher", f"{teacher_settings['max_steps']:,} steps x {tokens_per_step:,} tokens",
         hours(teacher_settings["max_steps"] * tokens_per_step / train["teacher"]), "A"),
        ("train baseline + student", f"2 x {student_settings['max_steps']:,} steps",
         hours(2 * student_settings["max_steps"] * tokens_per_step / train["student"]), "A"),
        (f"train {cm} CM models (teacher size)", f"{cm} x {preset['training']['cm']['max_steps']:,} steps",
         hours(cm * preset["training"]["cm"]["max_steps"] * tokens_per_step / train["teacher"]), "A"),
        ("teacher translates the training sources (SeqKD targets)", f"{n / 1e6:.0f}M sentences greedy",
         hours(n / decode["teacher"]), "B"),
        ("baseline + student translate them", f"2 x {n / 1e6:.0f}M", hours(2 * n / decode["student"]), "B"),
        ("ExMem prefixes of exact matches (T, B, S)", f"12.8/10.8/11.3% x {args.prefixes:.0f} prefixes",
         exmem("teacher", "teacher") + exmem("baseline", "student") + exmem("student", "student"), "B, upper bound"),
        (f"CM scoring ({cm} models x all pairs)", f"{cm} x {n / 1e6:.0f}M pairs", hours(cm * n / score["teacher"]), "C"),
        ("references under T, B, S; teacher-baseline KL", f"5 x {n / 1e6:.0f}M pairs",
         hours(2 * n / score["teacher"] + 3 * n / score["student"]), "C"),
        ("in-sample QE (both teachers) of references, T, B, S outputs", f"8 x {n / 1e6:.0f}M pairs",
         hours(8 * n / score["teacher"]), "C"),
    ]
    print(f"<!-- bench/wmt20_projection.py --pairs {n:.0f} --prefixes {args.prefixes:.0f} -->")
    print("| stage (one direction) | work | GPU-hours | from |")
    print("| --- | --- | ---: | --- |")
    for stage, work, value, source in rows:
        print(f"| {stage} | {work} | {value:,.0f} | {source} |")
    print(f"| **total per direction** | | **{sum(r[2] for r in rows):,.0f}** | |")
    print()
    note = (f"A: {train_tok_s:,.0f} tokens/s training in bf16, B: {greedy} sentences/s greedy (memkd.decode.translate), "
          f"both of a d512 6+6 model ({measured_params / 1e6:.1f}M parameters) on one H100 (translation_bleu_h100.json); "
          f"scaled to the preset's teacher (x{size['teacher']:.2f} parameters) and student (x{size['student']:.2f}) by "
          f"FLOPs ~ parameters for training and sentences/s ~ parameters^-{exponent:.2f} for decoding (the exponent "
          f"between that model and a d256 3+3 one, {small_params / 1e6:.1f}M parameters, "
          f"{small_run['decoding']['cuda_beam1_sentences_per_s']} sentences/s on an H200: gpu_check_h200.json). "
          f"C: not measured: a forward pass taken as 3x the training token rate, {tokens_per_pair:.0f} tokens per pair "
          f"(the Bible run's).")
    print(textwrap.fill(note, width=118))
    # fit_sweep_h200.jsonl: the same 1,400 steps of small batches for two model sizes
    sweep = [json.loads(line) for line in (RESULTS / "fit_sweep_h200.jsonl").read_text().splitlines()]
    pick = {r["role"]: r for r in sweep if r.get("n") == 1000 and r.get("epochs") == 40 and "direction" not in r}
    if {"teacher", "student"} <= set(pick):
        ms = {role: 1000 * pick[role]["train_seconds"] / pick[role]["steps"] for role in ("teacher", "student")}
        print()
        print(textwrap.fill(f"Small batches do not scale so: in fit_sweep_h200.jsonl a d256 3+3 and a d128 2+2 model take "
              f"{ms['teacher']:.0f} and {ms['student']:.0f} ms per step (1,400 steps of the default study's small batches, H200), "
              f"a per-step floor, not FLOPs; the preset's {tokens_per_step:,}-token steps are far above it.", width=118))


if __name__ == "__main__":
    main()
