"""Token-level distillation objectives side by side: one student per objective, trained from a finished run's teacher
on that run's study pairs: how many of its training targets (and of the teacher's outputs) its greedy translation
reproduces, how many of its training-source translations oscillate (STUDY.md section 3) and its greedy test BLEU/chrF.
Used to read why the Self-Evolution KD reconstruction replicated almost nothing and to choose its defaults
(bench/results/kd_objectives.md).

    python bench/kd_objectives.py --study . --direction en-es --workers 2 --out kd_objectives.jsonl \\
        --objective '{"method": "word_kd", "alpha": 1.0, "temperature": 1.0}' \\
        --objective '{"method": "self_evolution", "prior_weight": 0.5, "difficulty_threshold": "q0.8",
                      "max_difficulty": 5.0, "nll_weight": 1.0, "max_proxy_weight": 0.5}'

A teacher for it, cheaply (data stage and the en-es teacher of the default workflow only; a few minutes on one core):
    snakemake --directory /tmp/sekd --configfile config.yaml --cores 1 results/models/bible/en-es/seed1/teacher

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
from memkd.evaluate import corpus_quality
from memkd.io import read_tsv
from memkd.metrics.oscillation import is_oscillatory
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
    decoding = config["decoding"]
    # As the workflow decodes: training sources with a fixed, generous limit (oscillations are not cut short),
    # the test set with a * source length + b.
    train_a, train_b = 0, min(decoding.get("memorization_max_len", 256), preset["max_positions"] - 1)
    test_a, test_b = decoding["max_len_a"], decoding["max_len_b"]
    outputs, _ = translate(student, processor, pairs["src"].tolist(), max_len_a=train_a, max_len_b=train_b,
                           max_source_len=preset["max_positions"])
    teacher_outputs, _ = translate(teacher, processor, pairs["src"].tolist(), max_len_a=train_a, max_len_b=train_b,
                                   max_source_len=preset["max_positions"])
    hypotheses = [o[0].strip() for o in outputs]
    judged = [is_oscillatory(s, h) for s, h in zip(pairs["src"], hypotheses)]
    judged = [j for j in judged if j is not None]
    source_lang, target_lang = direction.split("-")
    test = read_tsv(corpus / "data/bible/test.tsv", columns=[source_lang, target_lang])
    test_outputs, _ = translate(student, processor, test[source_lang].tolist(), max_len_a=test_a, max_len_b=test_b,
                                max_source_len=preset["max_positions"])
    quality = corpus_quality([o[0] for o in test_outputs], test[target_lang].tolist())
    return {
        "objective": objective,
        "direction": direction,
        "seed": seed,
        "epochs": settings["epochs"],
        "pairs": len(pairs),
        "replication_pct": round(100 * sum(h == t.strip() for h, t in zip(hypotheses, pairs["tgt"])) / len(pairs), 2),
        "equals_teacher_pct": round(100 * sum(h == t[0].strip() for h, t in zip(hypotheses, teacher_outputs))
                                    / len(pairs), 2),
        "oscillatory_pct": round(100 * sum(judged) / len(judged), 2) if judged else None,
        "test_greedy_bleu": quality["bleu"],
        "test_greedy_chrf": quality["chrf"],
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
