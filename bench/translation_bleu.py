"""How well the NMT core translates when it has data: one model preset trained on a direction's whole training
split within a time budget, then test BLEU and chrF (sacreBLEU, signatures) for greedy and beam-5 decoding.

The study's default trains on 200 pairs to memorize them, so its test BLEU (about 1) says nothing about whether the
training and decoding code can make a translation model. This script answers that on the full corpus, with the
library code the workflow runs (memkd.train, memkd.decode, memkd.evaluate). Meant for a GPU; runs anywhere.

    python bench/translation_bleu.py --config config.yaml configs/bible_full.yaml --role teacher \\
        --train results/data/bible/en-es/train.tsv --test results/data/bible/en-es/test.tsv \\
        --spm results/data/bible/spm.model --minutes 6 --out translation_bleu.json

With --seqkd-minutes the script goes on through the SeqKD chain: the trained model, as teacher, translates the
training sources greedily, and a baseline (the student preset on the references) and a SeqKD student (the same preset
on the teacher's translations) train for that long each and are tested the same way.

The run's length is set by --minutes: a short probe (after a warm-up one) measures seconds per step, and the real
run takes as many steps as fit (an inverse-sqrt schedule with --warmup steps). Prints figures and writes one JSON report; asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import yaml

from memkd.data import encode, make_batches
from memkd.decode import decoding_signature, translate
from memkd.evaluate import corpus_quality
from memkd.io import atomic_path, read_tsv
from memkd.model import build_model, count_parameters, pick_device
from memkd.tokenizer import load
from memkd.train import pick_precision, train


def merged(base: dict, overlay: dict) -> dict:
    """`overlay` over `base`, nested mappings merged key by key (as Snakemake layers --configfile files)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def run_settings(config: dict, role: str, args: argparse.Namespace, max_tokens: int | None) -> dict:
    """The config's training settings of `role` with this script's seed, warm-up and precision, no checkpoints, and
    `max_tokens` when given."""
    settings = {**config["training"][role], "seed": args.seed, "warmup_steps": args.warmup,
                "precision": args.precision, "checkpoint_every": 10**9, "log_every": 50}
    if max_tokens:
        settings["max_tokens"] = max_tokens
    return settings


def write_report(path: str, report: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["config.yaml"], help="study config files, later ones on top")
    parser.add_argument("--role", choices=["teacher", "student", "cm"], default="teacher")
    parser.add_argument("--train", required=True, help="a direction view TSV (id, src, tgt, ...)")
    parser.add_argument("--test", required=True)
    parser.add_argument("--spm", required=True)
    parser.add_argument("--minutes", type=float, default=6.0, help="training time budget")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--max-tokens", type=int, default=None, help="default: the config's")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--probe-steps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seqkd-minutes", type=float, default=0.0,
                        help="when > 0: then the SeqKD chain, a baseline and a SeqKD student of the student preset, "
                             "each trained for this long")
    parser.add_argument("--decode-max-tokens", type=int, default=16000, help="source tokens per batch (SeqKD decoding)")
    parser.add_argument("--out", default="translation_bleu.json")
    args = parser.parse_args()

    config: dict = {}
    for path in args.config:
        config = merged(config, yaml.safe_load(Path(path).read_text()) or {})
    device = pick_device()
    processor = load(args.spm)
    preset = config["models"][args.role]
    train_pairs = read_tsv(args.train, columns=["src", "tgt"])
    test_pairs = read_tsv(args.test, columns=["src", "tgt"])
    sources = encode(processor, train_pairs["src"].tolist(), preset["max_positions"])
    targets = encode(processor, train_pairs["tgt"].tolist(), preset["max_positions"])
    settings = run_settings(config, args.role, args, args.max_tokens)
    build = lambda: build_model(preset, processor.vocab_size(), args.seed)  # noqa: E731
    steps_per_epoch = len(make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"]))
    report = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "precision": str(pick_precision(args.precision, device) or "fp32"),
        "config": args.config,
        "role": args.role,
        "preset": preset,
        "parameters": count_parameters(build()),
        "train_pairs": len(train_pairs),
        "test_pairs": len(test_pairs),
        "steps_per_epoch": steps_per_epoch,
    }
    print(json.dumps(report), flush=True)

    decoding = config["decoding"]
    with tempfile.TemporaryDirectory() as folder:
        model, report["training"] = train_within(build, sources, targets, settings, args.minutes, args.probe_steps,
                                                 f"{folder}/{args.role}", device)
        print(json.dumps({k: v for k, v in report["training"].items() if k != "loss_curve"}), flush=True)
        write_report(args.out, report)
        report["test"] = {}
        for name, quality in test_quality(model, processor, test_pairs, decoding, device):
            report["test"][name] = quality
            write_report(args.out, report)
        if not args.seqkd_minutes:
            return

        # The SeqKD chain on the same data: the model above as teacher translates the training sources greedily; a
        # baseline (student preset, references) and a student (student preset, the teacher's translations) train
        # for the same time each.
        started = time.perf_counter()
        outputs, _ = translate(model, processor, train_pairs["src"].tolist(), beam=1,
                               max_tokens=args.decode_max_tokens, max_len_a=decoding["max_len_a"],
                               max_len_b=decoding["max_len_b"], device=device)
        teacher_outputs = [o[0] for o in outputs]
        report["seqkd"] = {
            "decode_seconds": round(time.perf_counter() - started, 1),
            "teacher_replication_pct": round(100 * sum(h.strip() == r.strip() for h, r in
                                                       zip(teacher_outputs, train_pairs["tgt"])) / len(train_pairs), 2),
        }
        print(json.dumps(report["seqkd"]), flush=True)
        del model
        student_preset = config["models"]["student"]
        student_settings = run_settings(config, "student", args, settings["max_tokens"])
        student_sources = encode(processor, train_pairs["src"].tolist(), student_preset["max_positions"])
        seqkd_targets = encode(processor, teacher_outputs, student_preset["max_positions"])
        reference_targets = encode(processor, train_pairs["tgt"].tolist(), student_preset["max_positions"])
        build_student = lambda: build_model(student_preset, processor.vocab_size(), args.seed)  # noqa: E731
        report["seqkd"]["preset"] = student_preset
        report["seqkd"]["parameters"] = count_parameters(build_student())
        for role, student_targets in (("baseline", reference_targets), ("student", seqkd_targets)):
            student, training = train_within(build_student, student_sources, student_targets, student_settings,
                                              args.seqkd_minutes, args.probe_steps, f"{folder}/{role}", device)
            report["seqkd"][role] = {"training": training, "test": {}}
            print(role, json.dumps({k: v for k, v in training.items() if k not in ("loss_curve", "settings")}),
                  flush=True)
            for name, quality in test_quality(student, processor, test_pairs, decoding, device):
                report["seqkd"][role]["test"][name] = quality
                write_report(args.out, report)


def train_within(build, sources, targets, settings: dict, minutes: float, probe_steps: int, prefix: str,
                 device: str):
    """A model trained for as many steps as fit in `minutes` (seconds per step from a probe run after a warm-up
    one), and the training figures."""
    probe = {**settings, "max_steps": probe_steps}
    train(build(), sources, targets, probe, f"{prefix}-warm-up.pt", device)  # CUDA start-up, kernel choice
    started = time.perf_counter()
    train(build(), sources, targets, probe, f"{prefix}-probe.pt", device)
    seconds_per_step = (time.perf_counter() - started) / probe_steps
    steps = max(probe_steps, int(minutes * 60 / seconds_per_step))
    steps_per_epoch = len(make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"]))
    model = build()
    started = time.perf_counter()
    records = train(model, sources, targets, {**settings, "max_steps": steps}, f"{prefix}.pt", device)
    return model, {
        "settings": {**settings, "max_steps": steps},
        "steps": steps,
        "epochs": round(steps / steps_per_epoch, 2),
        "seconds": round(time.perf_counter() - started, 1),
        "tokens_per_s": round(sum(r["tokens_per_s"] for r in records[1:]) / max(len(records) - 1, 1)),
        "loss_first": round(records[0]["loss"], 4),
        "loss_last": round(records[-1]["loss"], 4),
        "loss_curve": [(r["step"], round(r["loss"], 3)) for r in records],
    }


def test_quality(model, processor, test_pairs, decoding: dict, device: str):
    """(decoding name, BLEU/chrF with signatures, speed, three examples) for greedy and beam 5 on the test pairs."""
    references = test_pairs["tgt"].tolist()
    for name, beam in (("greedy", 1), ("beam5", 5)):
        outputs, seconds = translate(model, processor, test_pairs["src"].tolist(), beam=beam,
                                     max_tokens=decoding["max_tokens"], max_len_a=decoding["max_len_a"],
                                     max_len_b=decoding["max_len_b"], device=device)
        hypotheses = [o[0] for o in outputs]
        quality = {
            **corpus_quality(hypotheses, references),
            "decoding_signature": decoding_signature(beam, 1, decoding["max_len_a"], decoding["max_len_b"], "memkd"),
            "sentences_per_s": round(len(hypotheses) / seconds, 1),
            "examples": [{"src": s, "ref": r, "hyp": h} for s, r, h in
                         list(zip(test_pairs["src"], references, hypotheses))[:3]],
        }
        print(name, json.dumps({k: v for k, v in quality.items() if k != "examples"}), flush=True)
        yield name, quality


if __name__ == "__main__":
    main()
