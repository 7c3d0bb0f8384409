"""Benchmark: decoding speed of the two engines (memkd's Hugging Face decoder and CTranslate2) on one trained model,
side by side, greedy and beam 5, with the memorization length limit and the evaluation one; and teacher-forced
scoring (memkd.decode.score vs CTranslate2's score_batch). The engines take turns for --rounds rounds; the median
sentences/s and speed ratio are reported, with how many outputs the engines disagree on. Prints a markdown report.

    .venv/bin/python bench/decode_speed.py --model results/models/bible/en-es/seed1/teacher \\
        --pairs results/data/bible/en-es/study_train.tsv --threads 1 --rounds 3

On a GPU: --device cuda, and --precision bf16 (decoding.precision's CUDA default) or fp32; both engines decode in it.

Without a finished run, --train PRESET trains a model of config.yaml's PRESET on --pairs first (--epochs, the
preset's training settings), e.g. the default teacher on a study's pairs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import yaml

from memkd import ct2
from memkd import train as memkd_train
from memkd.data import encode
from memkd.decode import Decoder, length_limit
from memkd.io import read_tsv
from memkd.metrics.oscillation import is_oscillatory
from memkd.model import build_model, count_parameters, save
from memkd.tokenizer import load as load_tokenizer

ROOT = Path(__file__).resolve().parents[1]


def train_model(preset_name: str, pairs, spm: str, epochs: int, folder: Path) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    processor = load_tokenizer(spm)
    preset = config["models"][preset_name]
    settings = {**config["training"][preset_name], "seed": 1, "epochs": epochs, "max_steps": None, "precision": "fp32",
                "checkpoint_every": 10**9, "log_every": 10**9}
    src = encode(processor, pairs["src"].tolist(), preset["max_positions"])
    tgt = encode(processor, pairs["tgt"].tolist(), preset["max_positions"])
    model = build_model(preset, processor.vocab_size(), seed=1)
    started = time.perf_counter()
    memkd_train.train(model, src, tgt, settings, folder / "checkpoint.pt")
    print(f"trained `{preset_name}` ({count_parameters(model):,} parameters) for {epochs} epochs on {len(src)} pairs "
          f"in {time.perf_counter() - started:.0f} s")
    save(model, folder / "model", spm)
    return folder / "model"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a saved model folder (memkd.model.save)")
    parser.add_argument("--pairs", required=True, help="TSV with src (and tgt, for scoring and --train)")
    parser.add_argument("--train", metavar="PRESET", help="train a model of this config.yaml preset on --pairs first")
    parser.add_argument("--spm", help="SentencePiece model for --train")
    parser.add_argument("--epochs", type=int, default=38)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-sentences", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="decoding.precision")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    decoding = config["decoding"]
    pairs = read_tsv(args.pairs)
    if args.max_sentences:
        pairs = pairs.head(args.max_sentences)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = train_model(args.train, pairs, args.spm, args.epochs, Path(tmp)) if args.train else args.model
        engines = {name: Decoder(model_dir, name, threads=args.threads, device=args.device, precision=args.precision)
                   for name in ("memkd", "ctranslate2")}
        report(engines, pairs, decoding, args)


def report(engines: dict[str, Decoder], pairs, decoding: dict, args) -> None:
    memkd = engines["memkd"]
    sources = pairs["src"].tolist()
    limits = {"memorization": length_limit(decoding, "study_train", memkd.max_positions),
              "evaluation": length_limit(decoding, "test", memkd.max_positions)}
    print(f"\n{len(sources)} sources from `{args.pairs}`, model `{args.model or args.train}` "
          f"({count_parameters(memkd.model):,} parameters), {args.device}, {args.precision}, {args.threads} thread(s), "
          f"{args.rounds} alternating "
          f"rounds, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the start; {ct2.ENGINE}, torch {torch.__version__}\n")
    osc = config_oscillation()
    print("| decoding | length limit | memkd sent/s | ctranslate2 sent/s | speed-up | outputs differing | "
          "outputs at the limit | oscillatory (OscHal) |")
    print("|---|---|---|---|---|---|---|---|")
    for beam in (1, 5):
        for limit_name, (a, b) in limits.items():
            speeds: dict[str, list[float]] = {name: [] for name in engines}
            outputs = {}
            for _ in range(args.rounds):
                for name, decoder in engines.items():
                    hypotheses, seconds = decoder.translate(sources, beam=beam, max_tokens=decoding["max_tokens"],
                                                            max_len_a=a, max_len_b=b)
                    speeds[name].append(len(sources) / seconds)
                    outputs[name] = [h[0] for h in hypotheses]
            differing = sum(x != y for x, y in zip(outputs["memkd"], outputs["ctranslate2"]))
            at_limit = at_length_limit(memkd, sources, outputs["memkd"], a, b)
            oscillatory = sum(bool(is_oscillatory(s, o, osc["min_count"], osc["min_excess"], osc["max_source_tokens"]))
                              for s, o in zip(sources, outputs["memkd"]))
            ratio = statistics.median(c / m for c, m in zip(speeds["ctranslate2"], speeds["memkd"]))
            label = f"{b} tokens" if a == 0 else f"{a:g} x src + {b}"
            print(f"| {'greedy' if beam == 1 else f'beam{beam}'} | {limit_name}: {label} | "
                  f"{statistics.median(speeds['memkd']):.1f} | {statistics.median(speeds['ctranslate2']):.1f} | "
                  f"x{ratio:.2f} | {differing} | {at_limit} | {oscillatory} |")
    if "tgt" in pairs:
        score_report(engines, sources, pairs["tgt"].tolist(), decoding, args.rounds)


def config_oscillation() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())["memorization"]["oscillation"]


def at_length_limit(decoder: Decoder, sources, outputs, a, b) -> int:
    """Outputs as long as their length limit allows (cut short; approximate: the limit of a one-sentence batch)."""
    count = 0
    for source, output in zip(sources, outputs):
        limit = min(int(a * (len(decoder.processor.encode(source)) + 1) + b), decoder.max_positions - 1)
        count += len(decoder.processor.encode(output)) >= limit - 1
    return count


def score_report(engines, sources, targets, decoding, rounds) -> None:
    """Teacher-forced log-probabilities of the references: memkd.decode.score vs CTranslate2's score_batch."""
    memkd = engines["memkd"]
    translator, processor = engines["ctranslate2"].translator, memkd.processor
    src = [[processor.id_to_piece(i) for i in ids] for ids in encode(processor, sources, memkd.max_positions)]
    # score_batch appends </s> itself
    tgt = [[processor.id_to_piece(i) for i in ids[:-1]] for ids in encode(processor, targets, memkd.max_positions)]
    memkd_speed, ct2_speed = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        expected = memkd.score(sources, targets, max_tokens=decoding["max_tokens"])
        memkd_speed.append(len(sources) / (time.perf_counter() - started))
        started = time.perf_counter()
        got = translator.score_batch(src, tgt, max_batch_size=decoding["max_tokens"], batch_type="tokens",
                                     max_input_length=0)
        ct2_speed.append(len(sources) / (time.perf_counter() - started))
    gap = max(abs(sum(r.log_probs) - lp) for r, (_, lp) in zip(got, expected))
    same_lengths = all(len(r.log_probs) == n for r, (n, _) in zip(got, expected))
    print(f"\nTeacher-forced scoring of the references: memkd {statistics.median(memkd_speed):.1f} sent/s, "
          f"CTranslate2 score_batch {statistics.median(ct2_speed):.1f} sent/s; largest difference of a sentence's "
          f"summed log-probability {gap:.2e} (token counts {'equal' if same_lengths else 'DIFFER'})")


if __name__ == "__main__":
    main()
