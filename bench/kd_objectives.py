"""Token-level distillation objectives side by side: one student per objective, trained from a finished run's teacher
on that run's study pairs, and how many of its training targets (and of the teacher's outputs) its greedy translation
reproduces. Used to read why the Self-Evolution KD student replicates almost nothing (README, "Variants").

    python bench/kd_objectives.py --study . --direction en-es --workers 2 --out kd_objectives.jsonl \\
        --objective '{"method": "word_kd", "alpha": 1.0, "temperature": 1.0}' \\
        --objective '{"method": "self_evolution", "prior_weight": 0.5, "difficulty_threshold": "q0.8",
                      "max_difficulty": 5.0, "nll_weight": 1.0}'

Each student uses the student preset and training settings of --config (seed 1 unless --seed), one thread per
worker. Prints one JSON line per objective and appends it to --out; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import yaml

from memkd.data import encode
from memkd.decode import translate
from memkd.io import read_tsv
from memkd.model import build_model, load as load_model
from memkd.tokenizer import load
from memkd.train import train


def run(objective: dict, study: str, direction: str, config_path: str, seed: int, epochs: int | None) -> dict:
    torch.set_num_threads(1)
    config = yaml.safe_load(Path(config_path).read_text())
    corpus = Path(study) / "results"
    processor = load(corpus / "data/bible/spm.model")
    pairs = read_tsv(corpus / f"data/bible/{direction}/study_train.tsv", columns=["src", "tgt"])
    teacher = load_model(corpus / f"models/bible/{direction}/seed{seed}/teacher")
    preset = config["models"]["student"]
    settings = {**config["training"]["student"], "seed": seed, "distillation": objective}
    if epochs:
        settings["epochs"] = epochs
    sources = encode(processor, pairs["src"].tolist(), preset["max_positions"])
    targets = encode(processor, pairs["tgt"].tolist(), preset["max_positions"])
    student = build_model(preset, processor.vocab_size(), seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        records = train(student, sources, targets, settings, f"{folder}/student.pt", teacher=teacher)
    outputs, _ = translate(student, processor, pairs["src"].tolist())
    teacher_outputs, _ = translate(teacher, processor, pairs["src"].tolist())
    hypotheses = [o[0].strip() for o in outputs]
    return {
        "objective": objective,
        "direction": direction,
        "seed": seed,
        "epochs": settings["epochs"],
        "pairs": len(pairs),
        "replication_pct": round(100 * sum(h == t.strip() for h, t in zip(hypotheses, pairs["tgt"])) / len(pairs), 2),
        "equals_teacher_pct": round(100 * sum(h == t[0].strip() for h, t in zip(hypotheses, teacher_outputs))
                                    / len(pairs), 2),
        "final_loss": round(records[-1]["loss"], 4),
        "train_s": round(time.perf_counter() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default=".", help="a folder where the default study has run (its results/)")
    parser.add_argument("--direction", default="en-es")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--objective", action="append", required=True, help="a distillation block, as JSON")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="default: the student preset's")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="kd_objectives.jsonl")
    args = parser.parse_args()
    objectives = [json.loads(o) for o in args.objective]
    with ProcessPoolExecutor(args.workers, mp_context=torch.multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run, o, args.study, args.direction, args.config, args.seed, args.epochs)
                   for o in objectives]
        for future in futures:
            result = future.result()
            print(json.dumps(result), flush=True)
            with open(args.out, "a") as out:
                out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
