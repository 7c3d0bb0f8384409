"""Benchmark: memkd's training loop against the best peer a user would reach for, side by side. Prints a Markdown
table; asserts nothing.

The same model (a preset of config.yaml, or tests/config/tiny.yaml's with --quick) is trained from the same
initialisation on the same pairs for one timed epoch, i.e. the same target tokens, by:

- Hugging Face `Seq2SeqTrainer` with length-grouped batches (`train_sampling_strategy="group_by_length"`, what
  `group_by_length=True` was called before transformers 5), its best CPU settings: the fused AdamW it defaults to, no
  evaluation, no saving, no logging, no workers, in fp32 and in bf16 (where the CPU has native bf16). Trainer batches
  by sentence count, not by tokens: its per-device batch size is the mean number of pairs per batch of memkd's token
  budget on these pairs (printed), so both loops take about the same number of steps of the same mean size;
- memkd's loop (memkd.train.train) with precision fp32, bf16 and auto, with the preset's training settings from
  config.yaml (token budget, lr, warm-up, label smoothing, clipping).

Every loop runs with glibc keeping freed memory (`--malloc kept`, memkd.train.keep_freed_memory, which memkd's
training sets for itself and which a user of Trainer can set with MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ or
by preloading jemalloc or tcmalloc, as CPU-training guides advise): it speeds up Trainer more than memkd, whose loop
allocates fewer large temporaries. `--malloc default` runs every loop with glibc's defaults.

Each loop trains --warm-epochs untimed epochs (default 1) right before its timed one, every round: every training
job of the study runs 10-80 epochs over the same batches, and on a CPU the first epoch is not what the others cost,
because oneDNN builds its bf16 (AMX) matrix-product kernels for every new batch shape the first time it meets it
(1-3 ms each; about 1.4 s of a 9 s first epoch of memkd's student on 2,000 pairs) and keeps the last 1,024 it built.
Without the warm-up a loop's bf16 round was timed cold or warm depending on which loop ran before it (Trainer bf16's
batch shapes push memkd's out of the kernel cache). fp32 builds no kernels per shape (MKL).

Loops take turns within each round, so a slow spell of a shared machine hits all of them; each round's figures are
divided by that round's best peer, and the medians over rounds are the figures to read. Tokens/s counts the real
(unpadded) source and target tokens of the epoch over the wall time of the whole training call, set-up included.

Data: the first --examples pairs of a direction view written by the data stage, e.g. after
`snakemake -c2 results/data/bible/en-es/train.tsv` (its SentencePiece model is results/data/bible/spm.model):

    .venv/bin/python bench/train_peers.py --pairs results/data/bible/en-es/train.tsv \\
        --spm results/data/bible/spm.model --presets student teacher --rounds 2 --threads 1

OpenNMT-py is not among the peers: its last release (3.5.1) requires torch<2.3 and would replace the pinned torch.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import yaml

from memkd import train as memkd_train
from memkd.data import collate, encode, make_batches
from memkd.io import read_tsv
from memkd.model import PAD_ID, build_model, count_parameters
from memkd.tokenizer import load

ROOT = Path(__file__).resolve().parents[1]


def preset_and_settings(name: str, quick: bool) -> tuple[dict, dict]:
    """A model preset and its training settings: config.yaml's, or tiny.yaml's over them with --quick."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    preset, settings = config["models"][name], dict(config["training"][name])
    if quick:
        tiny = yaml.safe_load((ROOT / "tests/config/tiny.yaml").read_text())
        preset, settings = tiny["models"][name], dict(tiny["training"][name])
    return preset, settings


def load_before(train_file: str, losses_file: str):
    """An earlier memkd.train (e.g. `git show 0360d61:src/memkd/train.py > /tmp/train_before.py`) with the
    label_smoothed_loss of its memkd.losses, for before/after rows ("before fp32") in the same rounds."""
    import importlib.util

    modules = []
    for name, path in (("memkd_losses_before", losses_file), ("memkd_train_before", train_file)):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    losses, train = modules
    train.label_smoothed_loss = losses.label_smoothed_loss
    return train


def memkd_run(model, sources, targets, settings: dict, precision: str, workdir: str,
              module=memkd_train) -> tuple[float, str]:
    """(seconds, precision used) of one epoch of memkd's loop."""
    settings = {**settings, "seed": 1, "epochs": 1, "max_steps": None, "precision": precision,
                "log_every": 10**9, "checkpoint_every": 10**9}
    checkpoint = Path(workdir) / "memkd.pt"
    checkpoint.unlink(missing_ok=True)
    started = time.perf_counter()
    records = module.train(model, sources, targets, settings, checkpoint)
    return time.perf_counter() - started, records[-1].get("precision", precision)


class Pairs(torch.utils.data.Dataset):
    """Token ids as Trainer's length-grouped sampler reads them (a dict with input_ids per example)."""

    def __init__(self, sources, targets):
        self.items = [{"input_ids": s, "labels": t} for s, t in zip(sources, targets)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def hf_collate(features: list[dict]) -> dict:
    """Padded to the batch's longest (Trainer's usual collator), with the decoder inputs that Trainer's label
    smoother needs (it takes the labels away before calling the model)."""
    from transformers.models.marian.modeling_marian import shift_tokens_right

    batch = collate([f["input_ids"] for f in features], [f["labels"] for f in features], multiple=1)
    batch["decoder_input_ids"] = shift_tokens_right(batch["labels"], PAD_ID, PAD_ID)
    return batch


def hf_run(model, sources, targets, settings: dict, batch_size: int, bf16: bool, workdir: str) -> float:
    """Seconds of one epoch of Seq2SeqTrainer, on the model as Hugging Face's MarianMTModel (the same weights)."""
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

    from memkd.marian import to_hugging_face

    model = to_hugging_face(model)
    args = Seq2SeqTrainingArguments(
        output_dir=workdir, per_device_train_batch_size=batch_size, num_train_epochs=1,
        learning_rate=settings["lr"], warmup_steps=settings["warmup_steps"], lr_scheduler_type="inverse_sqrt",
        adam_beta1=0.9, adam_beta2=0.98, adam_epsilon=1e-9, weight_decay=0.0, max_grad_norm=settings["clip_norm"],
        label_smoothing_factor=settings["label_smoothing"], train_sampling_strategy="group_by_length",
        bf16=bf16, use_cpu=True, seed=1, eval_strategy="no", save_strategy="no", logging_strategy="no",
        report_to="none", disable_tqdm=True, dataloader_num_workers=0,
    )
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=Pairs(sources, targets), data_collator=hf_collate)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # Trainer prints its metrics
        trainer.train()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, help="a direction view TSV written by the data stage")
    parser.add_argument("--spm", required=True, help="its SentencePiece model")
    parser.add_argument("--presets", nargs="+", default=["student", "teacher"])
    parser.add_argument("--quick", action="store_true", help="tests/config/tiny.yaml's presets and settings")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--loops", nargs="+", default=["hf fp32", "hf bf16", "memkd fp32", "memkd bf16", "memkd auto"])
    parser.add_argument("--before", nargs=2, metavar=("TRAIN_PY", "LOSSES_PY"),
                        help="an earlier memkd/train.py and memkd/losses.py: loops 'before fp32' etc. run them")
    parser.add_argument("--warm-epochs", type=int, default=1,
                        help="untimed epochs each loop trains (a fresh model, the same pairs) right before its timed "
                             "epoch, every round: the timed epoch is then what epochs 2 and later of a training job "
                             "cost (oneDNN's bf16 kernels built for these batch shapes); 0 times a first epoch")
    parser.add_argument("--malloc", choices=["kept", "default"], default="kept",
                        help="kept: glibc keeps freed memory for every loop (memkd.train.keep_freed_memory, which "
                             "memkd's training sets for itself); default: glibc's default for every loop")
    args = parser.parse_args()
    before = load_before(*args.before) if args.before else None
    logging.getLogger("transformers").setLevel(logging.ERROR)

    # memkd's training sets this process-wide allocator setting for itself: every loop gets it (kept), so that the
    # peers run at their best too, or none does (default: memkd's call is disabled); the figures compare the
    # loops, not the allocators
    if args.malloc == "kept":
        memkd_train.keep_freed_memory()
    else:
        memkd_train.keep_freed_memory = lambda: None
    processor = load(args.spm)
    table = read_tsv(args.pairs, columns=["src", "tgt"]).head(args.examples)
    native_bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    loops = [loop for loop in args.loops if native_bf16 or "bf16" not in loop]
    print(f"{platform.processor() or platform.machine()}, {torch.backends.cpu.get_cpu_capability()}, "
          f"native bf16: {native_bf16}; torch {torch.__version__}; {len(table)} pairs of {args.pairs}; "
          f"malloc {args.malloc} for every loop\n")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name in args.presets:
            preset, settings = preset_and_settings(name, args.quick)
            sources = encode(processor, table["src"].tolist(), preset["max_positions"])
            targets = encode(processor, table["tgt"].tolist(), preset["max_positions"])
            tokens = sum(map(len, sources)) + sum(map(len, targets))
            n_batches = len(make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"]))
            batch_size = round(len(sources) / n_batches)
            vocab = processor.vocab_size()
            rates: dict[str, list[float]] = {loop: [] for loop in loops}
            used: dict[str, str] = {}
            if "memkd auto" in loops:  # its timed choice, made once per machine and preset (cached), before the rounds
                _, how = memkd_train.resolve_precision(
                    build_model(preset, vocab, seed=1), sources, targets,
                    make_batches([len(s) for s in sources], [len(t) for t in targets], settings["max_tokens"]),
                    {**settings, "precision": "auto"}, "cpu")
                print(f"memkd auto, preset {name}, {threads} thread(s): {how}\n")
            with tempfile.TemporaryDirectory() as workdir:
                for _ in range(args.rounds):
                    for loop in loops:
                        kind, precision = loop.split()
                        for _ in range(args.warm_epochs + 1):  # the last epoch is timed
                            model = build_model(preset, vocab, seed=1)
                            if kind == "hf":
                                seconds = hf_run(model, sources, targets, settings, batch_size, precision == "bf16",
                                                 workdir)
                            else:
                                seconds, used[loop] = memkd_run(model, sources, targets, settings, precision,
                                                                workdir, before if kind == "before" else memkd_train)
                        rates[loop].append(tokens / seconds)
            peers = [loop for loop in loops if loop.startswith("hf")]
            best = [max(rates[p][r] for p in peers) for r in range(args.rounds)] if peers else None
            print(f"### preset {name}{' (tiny.yaml)' if args.quick else ''}: "
                  f"{count_parameters(build_model(preset, vocab, 1)):,} parameters, {threads} thread(s), "
                  f"{tokens:,} real tokens per epoch, memkd max_tokens {settings['max_tokens']} "
                  f"({n_batches} batches), Trainer batch size {batch_size}\n")
            print("| loop | tokens/s (median) | per round | vs best peer, per round | vs best peer (median) |")
            print("|---|---:|---|---|---:|")
            for loop in loops:
                label = f"{loop} (ran {used[loop]})" if loop in used and loop.endswith("auto") else loop
                ratios = [v / b for v, b in zip(rates[loop], best)] if best else []
                print(f"| {label} | {statistics.median(rates[loop]):,.0f} | "
                      f"{' / '.join(f'{v:,.0f}' for v in rates[loop])} | "
                      f"{' / '.join(f'{r:.2f}' for r in ratios)} | "
                      f"{statistics.median(ratios) if ratios else float('nan'):.2f} |")
            print(flush=True)


if __name__ == "__main__":
    main()
