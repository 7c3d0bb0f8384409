"""Rule memorization_examples: per study pair and one model, replication (vs the corpus and, for students, vs the
teacher), extractive memorization by prefix decoding, oscillatory and natural hallucination flags; plus the
oscillatory rate on the held-out probe and a summary with every setting behind the numbers."""

import logging

import pandas as pd

from memkd.decode import Decoder, length_limit
from memkd.errors import InputError
from memkd.exmem import EXMEM_COLUMNS, exmem_flags
from memkd.io import read_columns, read_lines, write_json_atomic, write_tsv_atomic
from memkd.langid import LANGUAGE_ID_MODEL
from memkd.metrics.natural import natural_hallucinations, shared_outputs, unique_pair_units
from memkd.metrics.oscillation import is_oscillatory
from memkd.metrics.replication import exact_matches
from memkd.rulerun import run


def lines_for(path: str, n: int, what: str) -> list[str]:
    lines = read_lines(path)
    if len(lines) != n:
        raise InputError(f"{path}: {len(lines)} lines for {n} {what}; a translation must have one line per pair")
    return lines


def teacher_targets(path: str, ids: list[str]) -> list[str]:
    """The teacher outputs a model is compared with: a SeqKD-style training file (the targets a student learned
    from, e.g. the teacher's beam-5 translations) or the teacher's greedy translation file, in study order."""
    if not path.endswith(".tsv"):
        return lines_for(path, len(ids), "study pairs")
    table = read_columns(path, ["id", "tgt"])
    if table["id"].tolist() != ids:
        raise InputError(f"{path}: its {len(table)} rows do not follow the study pairs ({len(ids)}) id by id")
    return table["tgt"].tolist()


def read_exmem(path: str, ids: list[str], is_teacher: bool):
    """exmem_flags' three lists from the gathered exmem_shard table (in study order)."""
    table = read_columns(path, ["id", *EXMEM_COLUMNS])
    if table["id"].tolist() != ids:
        raise InputError(f"{path}: its {len(table)} rows do not follow the study pairs ({len(ids)}) id by id")
    candidate = (table["exmem_candidate"] == "1").tolist()
    candidate_teacher = [None] * len(ids) if is_teacher else (table["exmem_teacher_candidate"] == "1").tolist()
    return candidate, candidate_teacher, [None if p == "" else int(p) for p in table["exmem_prefix_tokens"]]


def as_flag(values) -> list:
    return ["" if v is None else int(v) for v in values]


def percent(count: int, total: int) -> float | None:
    return round(100 * count / total, 4) if total else None


def main():
    w, settings, decoding = snakemake.wildcards, snakemake.params.settings, snakemake.params.decoding
    is_teacher = w.role == "teacher"
    pairs = read_columns(snakemake.input.pairs, ["id", "src", "tgt"])
    sources, references, n = pairs.pop("src").tolist(), pairs.pop("tgt").tolist(), len(pairs)
    outputs = lines_for(snakemake.input.hypotheses, n, "study pairs")
    teacher_outputs = teacher_targets(snakemake.input.teacher_hypotheses, pairs["id"].tolist())
    probe_sources = read_columns(snakemake.input.probe, ["src"])["src"].tolist()
    probe_outputs = lines_for(snakemake.input.probe_hypotheses, len(probe_sources), "probe sources")
    quality = read_columns(snakemake.input.output_quality, ["id", "qe", "qe_method"])
    if quality["id"].tolist() != pairs["id"].tolist():
        raise InputError(f"{snakemake.input.output_quality}: ids differ from {snakemake.input.pairs}")
    output_qe = quality["qe"].astype(float).tolist()

    # Replication, and the ExMem filter against the corpus and (students) against the teacher's outputs.
    exact = exact_matches(outputs, references)
    exact_teacher = [None] * n if is_teacher else exact_matches(outputs, teacher_outputs)
    decoder = Decoder(snakemake.input.model, decoding["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=decoding["precision"])
    if "exmem" in snakemake.input.keys():  # sharding on: candidates and prefixes from the exmem_shard jobs
        candidate, candidate_teacher, prefix = read_exmem(snakemake.input.exmem, pairs["id"].tolist(), is_teacher)
    else:
        candidate, candidate_teacher, prefix = exmem_flags(
            decoder, sources, references, outputs, None if is_teacher else teacher_outputs, exact,
            None if is_teacher else exact_teacher, w.src, w.tgt, settings["exmem"], decoding)
    del references, teacher_outputs  # millions of strings at paper scale, not needed below
    exmem = [bool(candidate[i] and prefix[i] is not None) for i in range(n)]
    exmem_teacher = [None if is_teacher else bool(candidate_teacher[i] and prefix[i] is not None) for i in range(n)]

    osc = settings["oscillation"]
    oscillatory = [is_oscillatory(s, o, osc["min_count"], osc["min_excess"], osc["max_source_tokens"]) for s, o in zip(sources, outputs)]
    probe_oscillatory = [
        is_oscillatory(s, o, osc["min_count"], osc["min_excess"], osc["max_source_tokens"])
        for s, o in zip(probe_sources, probe_outputs)
    ]
    nat = settings["natural"]
    nat_candidate = shared_outputs(sources, outputs, nat["min_sources"])
    natural = natural_hallucinations(sources, outputs, output_qe, nat["min_sources"], nat["qe_threshold"])
    # the rate's units: distinct non-empty (source, output) pairs, each counted once
    nat_unit = unique_pair_units(sources, outputs)
    nat_counted = [h and u for h, u in zip(natural, nat_unit)]

    examples = pd.DataFrame(
        {
            "id": pairs["id"],
            "output": outputs,
            "exact_match": as_flag(exact),
            "exact_match_teacher": as_flag(exact_teacher),
            "exmem_candidate": as_flag(candidate),
            "exmem_prefix_tokens": ["" if p is None else p for p in prefix],
            "exmem": as_flag(exmem),
            "exmem_teacher_candidate": as_flag(candidate_teacher),
            "exmem_teacher": as_flag(exmem_teacher),
            "osc_hal": as_flag(oscillatory),
            "nat_hal_candidate": as_flag(nat_candidate),
            "nat_hal": as_flag(natural),
            "nat_hal_unit": as_flag(nat_unit),
            "output_qe": output_qe,
        }
    )
    write_tsv_atomic(snakemake.output.examples, examples)

    evaluated = [o for o in oscillatory if o is not None]
    probe_evaluated = [o for o in probe_oscillatory if o is not None]
    summary = {
        "corpus": w.corpus,
        "direction": f"{w.src}-{w.tgt}",
        "seed": int(w.seed),
        "role": w.role,
        "pairs": n,
        "replication": sum(exact),
        "replication_pct": percent(sum(exact), n),
        "teacher_outputs": None if is_teacher else snakemake.input.teacher_hypotheses,
        "replication_vs_teacher": None if is_teacher else sum(exact_teacher),
        "replication_vs_teacher_pct": None if is_teacher else percent(sum(exact_teacher), n),
        "exmem_candidates": sum(candidate),
        "exmem": sum(exmem),
        "exmem_pct": percent(sum(exmem), sum(candidate)),
        "exmem_vs_teacher_candidates": None if is_teacher else sum(candidate_teacher),
        "exmem_vs_teacher": None if is_teacher else sum(exmem_teacher),
        "exmem_vs_teacher_pct": None if is_teacher else percent(sum(exmem_teacher), sum(candidate_teacher)),
        "osc_hal_train_evaluated": len(evaluated),
        "osc_hal_train": sum(evaluated),
        "osc_hal_train_pct": percent(sum(evaluated), len(evaluated)),
        "osc_hal_probe_evaluated": len(probe_evaluated),
        "osc_hal_probe": sum(probe_evaluated),
        "osc_hal_probe_pct": percent(sum(probe_evaluated), len(probe_evaluated)),
        "nat_hal_candidates": sum(nat_candidate),
        "nat_hal": sum(natural),
        "nat_hal_units": sum(nat_unit),
        "nat_hal_pct": percent(sum(nat_counted), sum(nat_unit)),
        "nat_hal_unique_outputs": len({o.strip() for o, h in zip(outputs, natural) if h}),
        "decoding": decoder.signature(1, 1, *length_limit(decoding, "study_train", decoder.max_positions)),
        "language_id": LANGUAGE_ID_MODEL,
        "qe_method": quality["qe_method"].iloc[0] if n else snakemake.params.qe_method,
        "settings": settings,
    }
    write_json_atomic(snakemake.output.summary, summary)
    logging.info(
        "%s: replication %d/%d, ExMem %d/%d candidates, OscHal %d train %d probe, NatHal %d",
        w.role, sum(exact), n, sum(exmem), sum(candidate), sum(evaluated), sum(probe_evaluated), sum(natural),
    )


run(main, snakemake.log[0])
