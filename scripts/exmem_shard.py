"""Rule exmem_shard: ExMem for one shard of the study pairs and one model (config sharding.sentences): which of the
model's exact matches (vs the corpus and, for students, vs the teacher's outputs) are candidates, and each candidate's
shortest memorized prefix, decoded here (memkd.exmem). Rule gather_exmem joins the shards; memorization_examples reads
the gathered table instead of decoding every candidate's prefixes in one job. Prefix translations have a fixed length
limit, so the table equals what the unsharded job computes."""

import logging

from memkd.decode import Decoder
from memkd.errors import InputError
from memkd.exmem import exmem_flags, exmem_table
from memkd.io import write_tsv_atomic
from memkd.metrics.replication import exact_matches
from memkd.rulerun import run
from memkd.shards import read_line_range, read_plan, read_row_range, read_shard_rows


def teacher_targets(path: str, start: int, stop: int, ids: list[str]) -> list[str]:
    """Rows start..stop-1 of what the model is compared with (memorization_examples.teacher_targets)."""
    if not path.endswith(".tsv"):
        return read_line_range(path, start, stop)
    rows = read_row_range(path, start, stop, ["id", "tgt"])
    if rows["id"].tolist() != ids:
        raise InputError(f"{path}: rows {start}..{stop - 1} do not follow the study pairs id by id")
    return rows["tgt"].tolist()


def main():
    w, settings, decoding = snakemake.wildcards, snakemake.params.settings, snakemake.params.decoding
    is_teacher = w.role == "teacher"
    shard = int(w.shard)
    plan = read_plan(snakemake.input.plan)
    start, stop = plan["shards"][shard]
    pairs = read_shard_rows(snakemake.input.pairs, plan, shard, ["id", "src", "tgt"])
    ids, sources, references = pairs["id"].tolist(), pairs["src"].tolist(), pairs["tgt"].tolist()
    outputs = read_line_range(snakemake.input.hypotheses, start, stop)
    teacher_outputs = None if is_teacher else teacher_targets(snakemake.input.teacher_hypotheses, start, stop, ids)
    exact = exact_matches(outputs, references)
    exact_teacher = None if is_teacher else exact_matches(outputs, teacher_outputs)
    decoder = Decoder(snakemake.input.model, decoding["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=decoding["precision"])
    candidate, candidate_teacher, prefix = exmem_flags(decoder, sources, references, outputs, teacher_outputs, exact,
                                                       exact_teacher, w.src, w.tgt, settings["exmem"], decoding)
    write_tsv_atomic(snakemake.output[0], exmem_table(ids, candidate, candidate_teacher, prefix))
    logging.info("shard %d (rows %d-%d): %d candidates, %d with a memorized prefix", shard, start, stop - 1,
                 sum(candidate), sum(p is not None for p in prefix))


run(main, snakemake.log[0])
