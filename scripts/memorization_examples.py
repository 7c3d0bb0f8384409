"""Rule memorization_examples: per study pair and one model, replication (vs the corpus and, for students, vs the
teacher), extractive memorization by prefix decoding, oscillatory and natural hallucination flags; plus the
oscillatory rate on the held-out probe and a summary with every setting behind the numbers."""

import logging

from memkd.decode import Decoder, length_limit
from memkd.errors import InputError
from memkd.examples import Counts, Inputs, example_chunks
from memkd.io import read_columns, read_lines, write_json_atomic, write_tsv_chunks_atomic
from memkd.langid import LANGUAGE_ID_MODEL
from memkd.metrics.oscillation import is_oscillatory
from memkd.rulerun import run


def percent(count: int, total: int) -> float | None:
    return round(100 * count / total, 4) if total else None


def main():
    w, settings, decoding = snakemake.wildcards, snakemake.params.settings, snakemake.params.decoding
    is_teacher = w.role == "teacher"
    decoder = Decoder(snakemake.input.model, decoding["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=decoding["precision"])
    inputs = Inputs(snakemake.input.pairs, snakemake.input.hypotheses, snakemake.input.teacher_hypotheses,
                    snakemake.input.output_quality, snakemake.input.get("exmem"))  # exmem: sharding on
    osc = settings["oscillation"]
    probe_sources = read_columns(snakemake.input.probe, ["src"])["src"].tolist()
    probe_outputs = read_lines(snakemake.input.probe_hypotheses)
    if len(probe_outputs) != len(probe_sources):
        raise InputError(f"{snakemake.input.probe_hypotheses}: {len(probe_outputs)} lines for {len(probe_sources)} "
                         "probe sources; a translation must have one line per pair")
    probe_evaluated = [
        o for o in (is_oscillatory(s, h, osc["min_count"], osc["min_excess"], osc["max_source_tokens"])
                    for s, h in zip(probe_sources, probe_outputs)) if o is not None
    ]
    counts = Counts()
    write_tsv_chunks_atomic(snakemake.output.examples,
                            example_chunks(inputs, is_teacher, settings, w.src, w.tgt, decoder, decoding, counts))

    c = counts
    summary = {
        "corpus": w.corpus,
        "direction": f"{w.src}-{w.tgt}",
        "seed": int(w.seed),
        "role": w.role,
        "pairs": c.pairs,
        "replication": c.replication,
        "replication_pct": percent(c.replication, c.pairs),
        "teacher_outputs": None if is_teacher else snakemake.input.teacher_hypotheses,
        "replication_vs_teacher": None if is_teacher else c.replication_vs_teacher,
        "replication_vs_teacher_pct": None if is_teacher else percent(c.replication_vs_teacher, c.pairs),
        "exmem_candidates": c.exmem_candidates,
        "exmem": c.exmem,
        "exmem_pct": percent(c.exmem, c.exmem_candidates),
        "exmem_vs_teacher_candidates": None if is_teacher else c.exmem_vs_teacher_candidates,
        "exmem_vs_teacher": None if is_teacher else c.exmem_vs_teacher,
        "exmem_vs_teacher_pct": None if is_teacher else percent(c.exmem_vs_teacher, c.exmem_vs_teacher_candidates),
        "osc_hal_train_evaluated": c.osc_hal_train_evaluated,
        "osc_hal_train": c.osc_hal_train,
        "osc_hal_train_pct": percent(c.osc_hal_train, c.osc_hal_train_evaluated),
        "osc_hal_probe_evaluated": len(probe_evaluated),
        "osc_hal_probe": sum(probe_evaluated),
        "osc_hal_probe_pct": percent(sum(probe_evaluated), len(probe_evaluated)),
        "nat_hal_candidates": c.nat_hal_candidates,
        "nat_hal": c.nat_hal,
        "nat_hal_units": c.nat_hal_units,
        "nat_hal_pct": percent(c.nat_hal_counted, c.nat_hal_units),
        "nat_hal_unique_outputs": c.nat_hal_unique_outputs,
        "decoding": decoder.signature(1, 1, *length_limit(decoding, "study_train", decoder.max_positions)),
        "language_id": LANGUAGE_ID_MODEL,
        "qe_method": c.qe_method if c.pairs else snakemake.params.qe_method,
        "settings": settings,
    }
    write_json_atomic(snakemake.output.summary, summary)
    logging.info(
        "%s: replication %d/%d, ExMem %d/%d candidates, OscHal %d train %d probe, NatHal %d",
        w.role, c.replication, c.pairs, c.exmem, c.exmem_candidates, c.osc_hal_train, sum(probe_evaluated), c.nat_hal,
    )


run(main, snakemake.log[0])
