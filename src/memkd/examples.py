"""One model's per-pair memorization examples, streamed: replication (vs the corpus and, for students, vs the
teacher), ExMem, oscillatory and natural hallucination flags, read, computed and written `chunk_rows` study pairs at
a time, so that a study of millions of pairs never sits in memory as strings.

Two passes over the inputs. The first reads sources and outputs only, checks the row counts, and turns the texts
into 16-byte digests (memkd.digests): the natural-hallucination flags need every output's
distinct sources, which the digests give as integer codes (about 50 bytes a pair at their peak). The second reads
every input a chunk at a time and yields the examples table's rows, summing the summary's counts as it goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.exmem import EXMEM_COLUMNS, exmem_flags
from memkd.io import CHUNK_ROWS, iter_chunks, iter_lines
from memkd.digests import codes, text_keys
from memkd.metrics.natural import first_pair_flags, shared_output_flags
from memkd.metrics.oscillation import is_oscillatory
from memkd.metrics.replication import exact_matches

COLUMNS = ["id", "output", "exact_match", "exact_match_teacher", "exmem_candidate", "exmem_prefix_tokens", "exmem",
           "exmem_teacher_candidate", "exmem_teacher", "osc_hal", "nat_hal_candidate", "nat_hal", "nat_hal_unit",
           "output_qe"]


@dataclass
class Inputs:
    pairs: str  # the study pairs (id, src, tgt)
    hypotheses: str  # the model's translation of the study sources, one line per pair
    teacher_hypotheses: str  # a SeqKD-style table (id, tgt) or the teacher's translation lines; unused for the teacher
    output_quality: str  # quality estimates of the model's outputs (id, qe, qe_method)
    exmem: str | None = None  # the gathered exmem_shard table; None: decode the prefixes here


@dataclass
class Counts:
    """What the summary reports, summed over the chunks."""
    pairs: int = 0
    replication: int = 0
    replication_vs_teacher: int = 0
    exmem_candidates: int = 0
    exmem: int = 0
    exmem_vs_teacher_candidates: int = 0
    exmem_vs_teacher: int = 0
    osc_hal_train_evaluated: int = 0
    osc_hal_train: int = 0
    nat_hal_candidates: int = 0
    nat_hal: int = 0
    nat_hal_units: int = 0
    nat_hal_counted: int = 0
    nat_hal_unique_outputs: int = 0
    qe_method: str | None = None
    _natural_output_codes: list = field(default_factory=list, repr=False, compare=False)


def _line_count_error(path: str, lines: int, n: int) -> InputError:
    return InputError(f"{path}: {lines} lines for {n} study pairs; a translation must have one line per pair")


def _rows_error(path: str, rows: int, n: int) -> InputError:
    return InputError(f"{path}: its {rows} rows do not follow the study pairs ({n}) id by id")


def natural_structure(inputs: Inputs, min_sources: int, teacher_lines: bool, chunk_rows: int):
    """First pass: (NatHal candidate flag, first-occurrence-of-pair flag, output code) per pair, as numpy arrays;
    raises InputError when a translation file's lines do not match the pairs (before anything is written)."""
    source_keys, output_keys = [], []
    outputs = iter_lines(inputs.hypotheses)
    n = lines = 0
    for chunk in iter_chunks(inputs.pairs, ["src"], chunk_rows):
        chunk_lines = list(islice(outputs, len(chunk)))
        source_keys.append(text_keys(chunk["src"], strip=True))
        output_keys.append(text_keys(chunk_lines, strip=True))
        n, lines = n + len(chunk), lines + len(chunk_lines)
    lines += sum(1 for _ in outputs)
    if lines != n:
        raise _line_count_error(inputs.hypotheses, lines, n)
    if teacher_lines:
        lines = sum(1 for _ in iter_lines(inputs.teacher_hypotheses))
        if lines != n:
            raise _line_count_error(inputs.teacher_hypotheses, lines, n)
    source_codes = codes(np.concatenate(source_keys))
    del source_keys
    output_codes = codes(np.concatenate(output_keys))
    del output_keys
    return (shared_output_flags(source_codes, output_codes, min_sources), first_pair_flags(source_codes, output_codes),
            output_codes)


def _count_rows(path: str) -> int:
    return sum(len(chunk) for chunk in iter_chunks(path, ["id"]))


def _flags(values) -> list:
    return ["" if v is None else int(v) for v in values]


def example_chunks(inputs: Inputs, is_teacher: bool, settings: dict, src: str, tgt: str, decoder, decoding: dict,
                   counts: Counts, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The examples table, `chunk_rows` rows at a time; `counts` holds the summary's sums once it is exhausted.
    `settings` is config `memorization`; `decoder` decodes ExMem's prefixes when `inputs.exmem` is None."""
    nat, osc = settings["natural"], settings["oscillation"]
    teacher_table = not is_teacher and inputs.teacher_hypotheses.endswith(".tsv")
    shared, first_pair, output_codes = natural_structure(
        inputs, nat["min_sources"], teacher_lines=not is_teacher and not teacher_table, chunk_rows=chunk_rows)
    n = len(output_codes)
    outputs = iter_lines(inputs.hypotheses)
    teacher = (iter_chunks(inputs.teacher_hypotheses, ["id", "tgt"], chunk_rows) if teacher_table else
               None if is_teacher else iter_lines(inputs.teacher_hypotheses))
    quality = iter_chunks(inputs.output_quality, ["id", "qe", "qe_method"], chunk_rows)
    exmem_table = None if inputs.exmem is None else iter_chunks(inputs.exmem, ["id", *EXMEM_COLUMNS], chunk_rows)
    start = 0
    for pairs in iter_chunks(inputs.pairs, ["id", "src", "tgt"], chunk_rows):
        rows = len(pairs)
        ids, sources, references = pairs["id"], pairs["src"].tolist(), pairs["tgt"].tolist()
        lines = list(islice(outputs, rows))
        teacher_outputs = None
        if teacher_table:
            chunk = next(teacher, None)
            if chunk is None or not chunk["id"].reset_index(drop=True).equals(ids.reset_index(drop=True)):
                raise _rows_error(inputs.teacher_hypotheses, _count_rows(inputs.teacher_hypotheses), n)
            teacher_outputs = chunk["tgt"].tolist()
        elif not is_teacher:
            teacher_outputs = list(islice(teacher, rows))
        estimates = next(quality, None)
        if estimates is None or not estimates["id"].reset_index(drop=True).equals(ids.reset_index(drop=True)):
            raise InputError(f"{inputs.output_quality}: ids differ from {inputs.pairs}")
        if counts.qe_method is None and len(estimates):
            counts.qe_method = estimates["qe_method"].iloc[0]
        output_qe = estimates["qe"].astype(float).to_numpy()

        exact = exact_matches(lines, references)
        exact_teacher = [None] * rows if is_teacher else exact_matches(lines, teacher_outputs)
        if exmem_table is not None:
            table = next(exmem_table, None)
            if table is None or not table["id"].reset_index(drop=True).equals(ids.reset_index(drop=True)):
                raise _rows_error(inputs.exmem, _count_rows(inputs.exmem), n)
            candidate = (table["exmem_candidate"] == "1").tolist()
            candidate_teacher = [None] * rows if is_teacher else (table["exmem_teacher_candidate"] == "1").tolist()
            prefix = [None if p == "" else int(p) for p in table["exmem_prefix_tokens"]]
        else:
            candidate, candidate_teacher, prefix = exmem_flags(
                decoder, sources, references, lines, teacher_outputs, exact, None if is_teacher else exact_teacher,
                src, tgt, settings["exmem"], decoding)
        exmem = [bool(c and p is not None) for c, p in zip(candidate, prefix)]
        exmem_teacher = [None if is_teacher else bool(c and p is not None) for c, p in zip(candidate_teacher, prefix)]
        oscillatory = [is_oscillatory(s, o, osc["min_count"], osc["min_excess"], osc["max_source_tokens"])
                       for s, o in zip(sources, lines)]
        nat_candidate = shared[start:start + rows]
        natural = nat_candidate & (output_qe < nat["qe_threshold"])
        unit = first_pair[start:start + rows] & np.array([bool(line.strip()) for line in lines], dtype=bool)

        counts.pairs += rows
        counts.replication += sum(exact)
        counts.exmem_candidates += sum(candidate)
        counts.exmem += sum(exmem)
        if not is_teacher:
            counts.replication_vs_teacher += sum(exact_teacher)
            counts.exmem_vs_teacher_candidates += sum(candidate_teacher)
            counts.exmem_vs_teacher += sum(exmem_teacher)
        evaluated = [o for o in oscillatory if o is not None]
        counts.osc_hal_train_evaluated += len(evaluated)
        counts.osc_hal_train += sum(evaluated)
        counts.nat_hal_candidates += int(nat_candidate.sum())
        counts.nat_hal += int(natural.sum())
        counts.nat_hal_units += int(unit.sum())
        counts.nat_hal_counted += int((natural & unit).sum())
        counts._natural_output_codes.append(output_codes[start:start + rows][natural])

        yield pd.DataFrame({
            "id": ids.reset_index(drop=True),
            "output": lines,
            "exact_match": _flags(exact),
            "exact_match_teacher": _flags(exact_teacher),
            "exmem_candidate": _flags(candidate),
            "exmem_prefix_tokens": ["" if p is None else p for p in prefix],
            "exmem": _flags(exmem),
            "exmem_teacher_candidate": _flags(candidate_teacher),
            "exmem_teacher": _flags(exmem_teacher),
            "osc_hal": _flags(oscillatory),
            "nat_hal_candidate": nat_candidate.astype(int),
            "nat_hal": natural.astype(int),
            "nat_hal_unit": unit.astype(int),
            "output_qe": output_qe,
        }, columns=COLUMNS)
        start += rows
    if any(len(chunk) for chunk in quality):
        raise InputError(f"{inputs.output_quality}: ids differ from {inputs.pairs}")
    for rest, path in ((exmem_table, inputs.exmem), (teacher if teacher_table else None, inputs.teacher_hypotheses)):
        if rest is not None and any(len(chunk) for chunk in rest):
            raise _rows_error(path, _count_rows(path), n)
    counts.nat_hal_unique_outputs = int(np.unique(np.concatenate(counts._natural_output_codes)).size)
    counts._natural_output_codes.clear()
