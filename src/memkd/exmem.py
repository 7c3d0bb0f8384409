"""Extractive memorization per study pair, with a model at hand: which of a model's exact matches are ExMem
candidates (memkd.metrics.extractive.is_candidate, language ID on the matched pairs only) and, for every candidate, the
shortest source prefix whose translation is already the model's full translation. Used by rule memorization_examples
and, with sharding on, by exmem_shard for its rows (each pair is decided on its own, so shards change nothing)."""

from __future__ import annotations

from memkd.decode import length_limit
from memkd.langid import languages_match
from memkd.metrics.extractive import is_candidate, prefixes, shortest_memorized_prefix


def candidates(sources: list[str], targets: list[str], matched: list[bool], src_lang: str, tgt_lang: str,
               settings: dict) -> list[bool]:
    """The ExMem filter over the exact matches against `targets`; language ID runs only on the matched pairs (few)."""
    picked = [i for i, m in enumerate(matched) if m]
    ok = languages_match([sources[i] for i in picked], [targets[i] for i in picked], src_lang, tgt_lang)
    candidate = [False] * len(sources)
    for i, languages_ok in zip(picked, ok):
        candidate[i] = is_candidate(sources[i], targets[i], languages_ok, settings["min_tokens"], settings["max_ratio"])
    return candidate


def prefix_lengths(decoder, sources: list[str], outputs: list[str], indices: list[int], decoding: dict,
                   max_fraction: float) -> dict[int, int | None]:
    """Shortest memorized prefix per candidate index: all prefixes of all candidates decoded in one batched call,
    with the length limit of the full sources' translations (a prefix's output is compared with the full one)."""
    jobs = [(i, p) for i in indices for p in prefixes(sources[i])]
    max_len_a, max_len_b = length_limit(decoding, "study_train", decoder.max_positions)
    translated, _ = decoder.translate([p for _, p in jobs], beam=1, max_tokens=decoding["max_tokens"],
                                      max_len_a=max_len_a, max_len_b=max_len_b)
    per_example: dict[int, list[str]] = {i: [] for i in indices}
    for (i, _), hyps in zip(jobs, translated):
        per_example[i].append(hyps[0])
    return {i: shortest_memorized_prefix(sources[i], outputs[i], per_example[i], max_fraction) for i in indices}


def exmem_flags(decoder, sources: list[str], references: list[str], outputs: list[str],
                teacher_outputs: list[str] | None, exact: list[bool], exact_teacher: list[bool] | None,
                src_lang: str, tgt_lang: str, settings: dict, decoding: dict):
    """(candidate vs the corpus, candidate vs the teacher's outputs (None per pair for the teacher itself: no
    teacher_outputs), shortest memorized prefix or None) per pair; `settings` is config memorization.exmem."""
    n = len(sources)
    candidate = candidates(sources, references, exact, src_lang, tgt_lang, settings)
    candidate_teacher = ([None] * n if teacher_outputs is None else
                         candidates(sources, teacher_outputs, exact_teacher, src_lang, tgt_lang, settings))
    to_decode = sorted({i for i in range(n) if candidate[i] or candidate_teacher[i]})
    shortest = prefix_lengths(decoder, sources, outputs, to_decode, decoding, settings["max_prefix_fraction"])
    return candidate, candidate_teacher, [shortest.get(i) for i in range(n)]


EXMEM_COLUMNS = ["exmem_candidate", "exmem_teacher_candidate", "exmem_prefix_tokens"]


def exmem_table(ids: list[str], candidate: list, candidate_teacher: list, prefix: list):
    """exmem_flags' lists as exmem_shard writes them: 1/0 flags, empty where a flag does not apply (the teacher's
    own teacher candidates) and where no prefix is memorized, as the examples table writes the same columns."""
    import pandas as pd

    def cells(values):
        return ["" if v is None else int(v) for v in values]

    return pd.DataFrame({"id": ids, "exmem_candidate": cells(candidate),
                         "exmem_teacher_candidate": cells(candidate_teacher), "exmem_prefix_tokens": cells(prefix)})
