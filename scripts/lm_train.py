"""Rules lm_pretrain and lm_train: pre-train a small or large decoder-only LM from scratch, or fine-tune one from
its pre-trained start (teacher, baseline, soft or hard student, or a student without the predictor's flagged
examples) and score its extractable memorization on the fine-tuning and held-out examples in the same job."""

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from memkd.io import read_table, read_tsv, write_json_atomic, write_tsv_atomic
from memkd.lm import data, extraction, model as lm_model
from memkd.lm.train import train
from memkd.lm.workflow import ROLES
from memkd.rulerun import run
from memkd.tokenizer import load as load_tokenizer


def fine_tuning_rows(spec: dict, examples: pd.DataFrame, teacher, lm: dict, out: Path) -> np.ndarray:
    """The rows one model trains on: the examples, or (hard) their prefixes with the teacher's greedy
    continuations, less the predictor's flagged examples for a removal run; each repeated `copies` times."""
    table = examples
    if spec["rows"] == "hard":
        rows = extraction.hard_rows(teacher, data.id_matrix(examples), lm["prefix_tokens"], lm["suffix_tokens"],
                                    lm["eval_batch_size"])
        table = examples[["id", "copies"]].assign(ids=[data.ids_to_text(r) for r in rows])
        write_tsv_atomic(out / "hard_rows.tsv", table)  # the teacher's outputs, kept for inspection
    if spec["removal"]:
        flagged = read_table(snakemake.input.flagged)
        drop = set(flagged.loc[flagged[f"{spec['removal']}_flagged"].astype(bool), "id"])
        logging.info("removing %d flagged examples of %d", len(drop), len(table))
        table = table[~table["id"].isin(drop)]
    return data.training_rows(table)


def save(model, tmp: Path, directory: Path, info: dict) -> None:
    """Complete the hidden sibling `tmp`, then rename it: the directory appears whole or not at all."""
    lm_model.save(model, tmp)
    write_json_atomic(tmp / "training.json", info)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def main():
    torch.set_num_threads(snakemake.threads)
    settings, lm = snakemake.params.settings, snakemake.params.lm
    role, seed = snakemake.params.role, int(snakemake.params.seed)
    out = Path(snakemake.output.model)
    tmp = out.with_name(f".{out.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if role.startswith("pretrain_"):
        processor = load_tokenizer(snakemake.input.spm)
        rows = np.load(snakemake.input.pretrain)
        model = lm_model.build(lm["models"][snakemake.wildcards.size], processor.vocab_size(), rows.shape[1], seed,
                               processor.eos_id())
        teacher = None
    else:
        spec = ROLES[role]
        model = lm_model.load(snakemake.input.init)
        teacher = lm_model.load(snakemake.input.teacher) if "teacher" in snakemake.input.keys() else None
        rows = fine_tuning_rows(spec, read_tsv(snakemake.input.examples), teacher, lm, tmp)
        if not spec["soft"]:
            teacher = None  # the hard student only needed the teacher's continuations
    logging.info("%s: %d parameters", role, lm_model.count_parameters(model))
    records = train(model, rows, settings, seed, teacher, lm["distillation"]["temperature"])
    save(model, tmp, out, {"role": role, "seed": seed, "rows": int(len(rows)),
                      "parameters": lm_model.count_parameters(model), "epochs": records})
    if "scores" in snakemake.output.keys():
        examples = {"finetune": read_tsv(snakemake.input.examples), "heldout": read_tsv(snakemake.input.heldout)}
        scores = extraction.score(model, examples, lm["prefix_tokens"], lm["suffix_tokens"], lm["eval_batch_size"])
        logging.info("%s memorized %d of %d fine-tuning examples", role,
                     scores.loc[scores.split == "finetune", "memorized"].sum(), len(examples["finetune"]))
        write_tsv_atomic(snakemake.output.scores, scores)

run(main, snakemake.log[0])
