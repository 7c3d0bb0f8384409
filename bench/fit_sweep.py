"""How well a model preset fits its training pairs, over a grid of sizes and settings (used to size the default).

For each grid point it trains one model on the first n study pairs and reports what the study needs from it:
optimizer steps (multiply by a measured seconds/step to price it), the final training loss, how many training
targets greedy decoding reproduces exactly (replication) and how many distinct outputs it gives (a model that has
learnt the target language but not to read the source gives one sentence for every source), training and test BLEU,
and the mean geometric token probability of training (IN) vs held-out (OUT) pairs -- the contrast that
counterfactual memorization measures.

    python bench/fit_sweep.py --data results/data/bible --grid bench/fit_grid.json --device cuda --workers 4

A grid is a JSON list of objects: role (a preset in config.yaml), n, epochs and any training/model key to override
(lr, dropout, label_smoothing, max_tokens, ...); direction defaults to en-es. Results go to --out as JSON lines,
one per grid point, as each finishes.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import sacrebleu
import torch
import yaml

from memkd.data import encode
from memkd.decode import score, translate
from memkd.io import read_tsv
from memkd.model import build_model
from memkd.tokenizer import load
from memkd.train import train

MODEL_KEYS = {"d_model", "encoder_layers", "decoder_layers", "heads", "ffn_dim", "dropout", "max_positions"}


def mean_probability(model, processor, sources, targets, device) -> float:
    if not sources:
        return float("nan")
    scores = score(model, processor, sources, targets, device=device)
    return sum(math.exp(total / max(n, 1)) for n, total in scores) / len(scores)


def run_point(point: dict, data: str, config_path: str, device: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    config = yaml.safe_load(Path(config_path).read_text())
    role, n, direction = point["role"], point["n"], point.get("direction", "en-es")
    preset = {**config["models"][role], **{k: v for k, v in point.items() if k in MODEL_KEYS}}
    overrides = {k: v for k, v in point.items() if k not in MODEL_KEYS | {"role", "n", "direction"}}
    settings = {**config["training"][role], "seed": 1, "log_every": 50, "checkpoint_every": 10**9,
                "precision": "fp32", **overrides}
    processor = load(f"{data}/spm.model")
    pairs = read_tsv(f"{data}/{direction}/study_train.tsv", columns=["src", "tgt"])
    train_pairs, held_out = pairs.head(n), pairs.iloc[n:n + 250]
    test = read_tsv(f"{data}/{direction}/test.tsv", columns=["src", "tgt"])
    model = build_model(preset, processor.vocab_size(), 1)
    src = encode(processor, train_pairs["src"].tolist(), preset["max_positions"])
    tgt = encode(processor, train_pairs["tgt"].tolist(), preset["max_positions"])
    started = time.perf_counter()
    checkpoint = Path(f"/tmp/fit-sweep-{abs(hash(json.dumps(point, sort_keys=True)))}.pt")
    records = train(model, src, tgt, settings, checkpoint, device)
    seconds = time.perf_counter() - started
    hypotheses = [h[0] for h in translate(model, processor, train_pairs["src"].tolist(), device=device)[0]]
    references = train_pairs["tgt"].tolist()
    test_hypotheses = [h[0] for h in translate(model, processor, test["src"].tolist(), device=device)[0]]
    result = {
        **point,
        "steps": records[-1]["step"],
        "train_seconds": round(seconds, 1),
        "loss": [round(r["loss"], 3) for r in records[:: max(len(records) // 6, 1)]] + [round(records[-1]["loss"], 3)],
        "replication_pct": round(100 * sum(h.strip() == r.strip() for h, r in zip(hypotheses, references)) / n, 1),
        "distinct_outputs": len(set(hypotheses)),
        "train_bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 1),
        "test_bleu": round(sacrebleu.corpus_bleu(test_hypotheses, [test["tgt"].tolist()]).score, 1),
        "p_in": round(mean_probability(model, processor, train_pairs["src"].tolist(), references, device), 3),
        "p_out": round(mean_probability(model, processor, held_out["src"].tolist(), held_out["tgt"].tolist(), device), 3),
    }
    checkpoint.unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with spm.model and <direction>/study_train.tsv, test.tsv")
    parser.add_argument("--grid", required=True)
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--out", default="fit_sweep.jsonl")
    args = parser.parse_args()
    grid = json.loads(Path(args.grid).read_text())
    with ProcessPoolExecutor(args.workers, mp_context=torch.multiprocessing.get_context("spawn")) as pool, \
            open(args.out, "a", encoding="utf-8") as out:
        futures = {pool.submit(run_point, p, args.data, args.config, args.device, args.threads): p for p in grid}
        for future in as_completed(futures):  # written as each finishes: a run cut short keeps what it has
            point = futures[future]
            try:
                result = future.result()
            except Exception as error:  # one failed point must not lose the others
                result = {**point, "error": repr(error)}
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
