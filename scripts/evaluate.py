"""Rule evaluate: BLEU and chrF with signatures, decoding speed and model size for one model and split."""

import json
from pathlib import Path

from memkd.errors import InputError
from memkd.evaluate import corpus_quality
from memkd.io import read_lines, read_tsv, write_json_atomic
from memkd.rulerun import run


def main():
    references = read_tsv(snakemake.input.pairs, columns=["tgt"])["tgt"].tolist()
    hypotheses = read_lines(snakemake.input.hypotheses)
    if len(hypotheses) != len(references):
        raise InputError(f"{snakemake.input.hypotheses}: {len(hypotheses)} lines for {len(references)} references")
    timing = json.loads(Path(snakemake.input.timing).read_text())
    summary = json.loads((Path(snakemake.input.model) / "training_summary.json").read_text())
    w = snakemake.wildcards
    write_json_atomic(
        snakemake.output[0],
        {
            "corpus": w.corpus,
            "direction": f"{w.src}-{w.tgt}",
            "role": w.role,
            "seed": int(w.seed),
            "split": w.split,
            "decoding": w.decoding,
            "decoding_signature": timing["decoding"],
            **corpus_quality(hypotheses, references),
            "sentences": len(references),
            "sentences_per_s": timing["sentences_per_s"],
            "decode_threads": timing["threads"],
            "parameters": summary["parameters"],
            "nonzero_parameters": summary.get("nonzero_parameters", summary["parameters"]),
            "training_pairs": summary["training_pairs"],
            "training_steps": summary["steps"],
        },
    )


run(main, snakemake.log[0])
