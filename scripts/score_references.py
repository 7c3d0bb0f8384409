"""Rules score_references (one model), score_references_shard (one model, one shard of the study pairs: config
sharding.sentences; gather_scores joins the shards), score_cm_references (a direction and seed's CM models, in one
process) and score_cm_references_shard (those models on one shard, from their convert_model folders):
teacher-forced log-probability of every study reference under each model, scored with decoding.engine (CTranslate2
from the model's converted folder, or converted in memory where it has none; or memkd's torch scoring). The pairs
are read, scored and written memkd.shards.CHUNK_ROWS at a time (memkd.shards.row_chunks), so memory does
not grow with the study. Batches form within a shard, so a sharded score can differ in the last rounded digit."""

import pandas as pd

from memkd.decode import Decoder
from memkd.io import write_tsv_chunks_atomic
from memkd.rulerun import run
from memkd.shards import row_chunks


def scored_chunks(scorer):
    shard = int(snakemake.wildcards.shard) if "shard" in snakemake.wildcards.keys() else None
    for pairs in row_chunks(snakemake.input.pairs, ["id", "src", "tgt"], snakemake.input.get("plan"), shard):
        scores = scorer.score(pairs["src"].tolist(), pairs["tgt"].tolist(), max_tokens=snakemake.params.max_tokens)
        yield pd.DataFrame(
            {"id": pairs["id"], "tokens": [n for n, _ in scores], "log_prob": [round(lp, 6) for _, lp in scores]}
        )


def score(model_dir, ct2_dir, output):
    scorer = Decoder(model_dir, snakemake.params.engine, threads=snakemake.threads, ct2_dir=ct2_dir,
                     precision=snakemake.params.precision)
    write_tsv_chunks_atomic(output, scored_chunks(scorer))


def main():
    if "models" in snakemake.input.keys():  # score_cm_references(_shard): output k is model k's
        models = list(snakemake.input.models)
        ct2_dirs = list(snakemake.input.get("ct2", [])) or [None] * len(models)
        for model_dir, ct2_dir, output in zip(models, ct2_dirs, snakemake.output, strict=True):
            score(model_dir, ct2_dir, output)
    else:
        score(snakemake.input.model, snakemake.input.get("ct2"), snakemake.output[0])


run(main, snakemake.log[0])
