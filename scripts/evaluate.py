"""Rule evaluate: BLEU and chrF with signatures, decoding speed and model size for one model's test translations,
one file per decoding (params.decodings; inputs hypotheses and timing and the outputs in that order)."""

import json
from pathlib import Path

from memkd.errors import InputError
from memkd.evaluate import corpus_quality
from memkd.io import read_columns, read_lines, write_json_atomic
from memkd.rulerun import run


def main():
    references = read_columns(snakemake.input.pairs, ["tgt"])["tgt"].tolist()
    summary = json.loads((Path(snakemake.input.model) / "training_summary.json").read_text())
    w = snakemake.wildcards
    for decoding, hypotheses_path, timing_path, output in zip(
        snakemake.params.decodings, snakemake.input.hypotheses, snakemake.input.timing, snakemake.output, strict=True
    ):
        hypotheses = read_lines(hypotheses_path)
        if len(hypotheses) != len(references):
            raise InputError(f"{hypotheses_path}: {len(hypotheses)} lines for {len(references)} references")
        timing = json.loads(Path(timing_path).read_text())
        write_json_atomic(
            output,
            {
                "corpus": w.corpus,
                "direction": f"{w.src}-{w.tgt}",
                "role": w.role,
                "seed": int(w.seed),
                "split": "test",
                "decoding": decoding,
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
