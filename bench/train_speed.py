"""Benchmark: training tokens/s of memkd's loop vs a plain Hugging Face fp32 loop, and decoding speed.

Same model preset, same data, same number of examples; the loops take turns for --rounds rounds and the median
speed ratio is reported. Prints figures; asserts nothing.

    .venv/bin/python bench/train_speed.py --pairs results/data/bible/en-es/train.tsv \\
        --spm results/data/bible/spm.model --examples 3000 --threads 2

The plain loop is what a first attempt looks like: shuffled fixed-size batches of sentences padded
to the longest in the batch, fp32, no length bucketing. memkd's loop buckets by length (padding to
multiples of 8, batches by token budget); its `auto` precision is bf16 where that was timed faster on this CPU.
bench/train_peers.py compares the loop with the best peer (Hugging Face Seq2SeqTrainer, length-grouped batches).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

from memkd import train as memkd_train
from memkd.data import IGNORE_INDEX, collate, encode
from memkd.decode import translate
from memkd.io import read_tsv
from memkd.model import build_model, count_parameters
from memkd.tokenizer import load

PRESETS = {
    "tiny": {"d_model": 128, "encoder_layers": 2, "decoder_layers": 2, "heads": 4, "ffn_dim": 512, "dropout": 0.1, "max_positions": 256},
    "small": {"d_model": 256, "encoder_layers": 3, "decoder_layers": 3, "heads": 4, "ffn_dim": 1024, "dropout": 0.1, "max_positions": 256},
}


def plain_loop(model, sources, targets, batch_size: int, seed: int) -> tuple[int, float]:
    """(real tokens, seconds) of one pass with shuffled fixed-size fp32 batches, through Hugging Face's forward."""
    from memkd.marian import to_hugging_face

    model = to_hugging_face(model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.98))
    order = list(range(len(sources)))
    random.Random(seed).shuffle(order)
    tokens, started = 0, time.perf_counter()
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = collate([sources[i] for i in idx], [targets[i] for i in idx], multiple=1)
        loss = model(**batch).loss  # HF cross-entropy, mean over tokens
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        tokens += int(batch["attention_mask"].sum()) + int((batch["labels"] != IGNORE_INDEX).sum())
    return tokens, time.perf_counter() - started


def memkd_loop(model, sources, targets, max_tokens: int, precision: str, seed: int,
               workdir: str) -> tuple[int, float, str]:
    settings = {
        "seed": seed, "max_tokens": max_tokens, "epochs": 1, "max_steps": None, "lr": 5e-4, "warmup_steps": 100,
        "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": precision,
        "log_every": 10**9, "checkpoint_every": 10**9,
    }
    tokens = sum(len(s) + len(t) for s, t in zip(sources, targets))
    started = time.perf_counter()
    records = memkd_train.train(model, sources, targets, settings, f"{workdir}/bench.pt")
    return tokens, time.perf_counter() - started, records[-1]["precision"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, help="a direction view TSV (id, src, tgt, ...)")
    parser.add_argument("--spm", required=True)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per batch in the plain loop")
    parser.add_argument("--max-tokens", type=int, default=1500, help="padded tokens per batch in memkd's loop")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--decode-sentences", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of the plain loop and memkd's")
    parser.add_argument("--skip-forced-bf16", action="store_true")
    args = parser.parse_args()

    import tempfile

    torch.set_num_threads(args.threads)
    processor = load(args.spm)
    table = read_tsv(args.pairs, columns=["src", "tgt"]).head(args.examples)
    preset = PRESETS[args.preset]
    sources = encode(processor, table["src"].tolist(), preset["max_positions"])
    targets = encode(processor, table["tgt"].tolist(), preset["max_positions"])
    vocab = processor.vocab_size()
    print(f"data: {len(sources)} pairs, {sum(map(len, sources)) + sum(map(len, targets))} real tokens; "
          f"preset {args.preset} ({count_parameters(build_model(preset, vocab, 0)):,} parameters); "
          f"{args.threads} threads; torch {torch.__version__}")
    # Rounds alternate the loops, so that a slow spell of a shared machine hits both: the ratio per round and its
    # median are the figures to read, not one run's tokens/s.
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):
            tokens, seconds = plain_loop(build_model(preset, vocab, args.seed), sources, targets, args.batch_size,
                                         args.seed)
            rates.setdefault("plain HF fp32, fixed batches", []).append(tokens / seconds)
            for precision in ("fp32", "auto"):
                model = build_model(preset, vocab, args.seed)
                tokens, seconds, chosen = memkd_loop(model, sources, targets, args.max_tokens, precision, args.seed,
                                                     workdir)
                rates.setdefault(f"memkd loop, {precision} ({chosen})", []).append(tokens / seconds)
        if not args.skip_forced_bf16:  # once: on CPUs without native bf16 it is an order of magnitude slower
            tokens, seconds, _ = memkd_loop(build_model(preset, vocab, args.seed), sources, targets, args.max_tokens,
                                            "bf16", args.seed, workdir)
            rates["memkd loop, bf16 forced"] = [tokens / seconds]
    baseline = rates["plain HF fp32, fixed batches"]
    for name, values in rates.items():
        ratios = [v / b for v, b in zip(values, baseline)]
        print(f"train  {name:<34s} {statistics.median(values):10,.0f} tokens/s   "
              f"x{statistics.median(ratios):.2f} median of rounds ({' '.join(f'x{r:.2f}' for r in ratios)})")
    model.eval()
    decode_sources = table["src"].tolist()[: args.decode_sentences]
    for beam in (1, 5):
        _, seconds = translate(model, processor, decode_sources, beam=beam, max_len_a=1.2, max_len_b=10)
        print(f"decode {'greedy' if beam == 1 else f'beam {beam}':<40s} {len(decode_sources) / seconds:10,.1f} sentences/s")


if __name__ == "__main__":
    main()
