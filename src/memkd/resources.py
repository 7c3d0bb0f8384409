"""Job resources that follow the input: memory and time limits linear in the size of a job's data files, and larger
on each retry (workflow/rules/common.smk, rule resources `mem_mb` and `runtime`).

    value = ceil(attempt x (base + per_mb x data MB)), at most `cap`

`data MB` is the size of the job's existing data files (DATA_SUFFIXES: pairs, translations, per-example tables, token
arrays; not models, tokenizers or directories) in MiB. A job's memory and time grow with its pairs; the base is what a
small study needs (the rules' former fixed values), so the default study asks for about what it always did. Snakemake
evaluates these when a job is ready (its input exists) and again, with attempt + 1, when it retries one that failed,
for example at its memory or time limit. During a dry run before the inputs exist, they count as 0 MB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

# rule -> resource -> (base, per MiB of data): MB of memory, minutes. Minutes per MiB from GPU speeds (bench/results:
# an H100 trains ~2 s per MiB and epoch, decodes ~380 sentences/s greedy, scores ~580/s) with room for beam search,
# slower GPUs and 40-80 epochs; score_cm_references scores each of its M models. Memory per MiB: the slope of a job's
# peak between the 1M and 2M points of the paper-scale rehearsal on the current code (a5692b4; bench/rehearsal.py
# --fit-memory, bench/results/rehearsal_cpu.md) with a quarter more, or a rule's line measured by max RSS in
# bench/results/job_memory.md where that asks more (those are cited at the rule). The base is the rule's former fixed
# value, which also holds a real model (the rehearsal's are tiny). The shard rules read one shard's share at every
# size, so the rehearsal has no slope for them: their 10 MB per MiB adds ~230 MB to a 100k-pair shard.
RULES = {
    # token ids in flat arrays: 550 / 596 / 774 MB at 48 / 246 / 515 MiB, 0.66 MB per MiB from 1M to 2M
    "train_model": {"mem_mb": (4000, 0.85), "runtime": (120, 5)},
    # one chunk of texts at a time (memkd.data.write_token_store): 340 / 383 / 394 MB at 48 / 246 / 515 MiB, 427 MB
    # max RSS at 107 MiB (bench/results/token_store.md); minutes per MiB with 30x room
    "tokenize_pairs": {"mem_mb": (1000, 0.1), "runtime": (10, 0.05)},
    "translate_model": {"mem_mb": (4000, 10), "runtime": (60, 2)},
    "translate_shard": {"mem_mb": (4000, 10), "runtime": (60, 2)},
    "score_references": {"mem_mb": (4000, 10), "runtime": (30, 1)},
    "score_references_shard": {"mem_mb": (4000, 10), "runtime": (30, 1)},
    "score_cm_references": {"mem_mb": (4000, 10), "runtime": (60, 1)},  # runtime per MiB: per model
    "score_cm_references_shard": {"mem_mb": (4000, 10), "runtime": (30, 1)},  # runtime per MiB: per model
    "quality_estimate": {"mem_mb": (4000, 10), "runtime": (30, 2)},
    "quality_estimate_shard": {"mem_mb": (4000, 10), "runtime": (30, 2)},
    # sharding off: it also decodes every exact match's prefixes (ExMem), ~4-8 KB a pair in memory
    "memorization_examples": {"mem_mb": (4000, 20), "runtime": (60, 5)},
    # sharding on (ExMem decoded in exmem_shard jobs): it only joins the per-pair tables, a chunk of rows at a time
    # (memkd.examples): 437 / 498 / 575 MB at 112 / 573 / 1,173 MiB of inputs (bench/results/job_memory.md),
    # 0.13 MB per MiB, asked 0.2; 258 s at 1,226 MiB on the 2M-pair rehearsal, asked 20x its time
    "memorization_examples_sharded": {"mem_mb": (4000, 0.2), "runtime": (10, 0.07)},
    "exmem_shard": {"mem_mb": (4000, 20), "runtime": (60, 5)},
    # rule translate: translate_model's work for one split
    "translate": {"mem_mb": (4000, 10), "runtime": (60, 2)},
    # the teacher's k-best (k = 35 in the default's Seq-Inter variants) of every training source, each scored
    "seq_inter_data": {"mem_mb": (4000, 10), "runtime": (120, 10)},
    "seq_inter_data_shard": {"mem_mb": (4000, 10), "runtime": (120, 10)},
    # teacher and baseline scored teacher-forced on the study pairs, full-vocabulary distributions compared
    "teacher_baseline_kl": {"mem_mb": (4000, 10), "runtime": (30, 2)},
    "teacher_baseline_kl_shard": {"mem_mb": (4000, 10), "runtime": (30, 2)},
    # the teacher's confidence on its translations of the study pairs beside their QE scores
    "adaptive_selection": {"mem_mb": (4000, 10), "runtime": (15, 1)},
    # pairs and translations joined a chunk at a time: 305 / 332 / 338 MB at 200k / 1M / 2M pairs
    # (bench/results/job_memory.md; 1,159 MB at 542 MiB on the rehearsal when it held them)
    "seqkd_data": {"mem_mb": (1000, 0.1), "runtime": (5, 0.05)},
    # every model's examples and the pairs' buckets, BLEU/chrF statistics summed per bucket: 778 / 1,026 / 1,315 MB
    # (summed over its 2 workers) at 117 / 598 / 1,234 MiB, 0.45 MB per MiB; 1,283 s at 2M pairs on 2 cores
    "subgroups_table": {"mem_mb": (2000, 0.6), "runtime": (10, 0.1)},
    "adaptive_seqkd_data": {"mem_mb": (1000, 10), "runtime": (5, 0.05)},
    # Whole-table jobs: a chunk of rows at a time, or numbers and digests per pair. Peak MB at 200k / 1M / 2M pairs
    # of the current-code rehearsal where it sets the line; adaptive_seqkd_table, adaptive_seqkd_data and
    # plot_predictor_roc's lines are older estimates (variants were off there; the plot's peak stays ~165 MB).
    # Minutes: 20x their time there or more (they take seconds to a few minutes per 100 MiB).
    # a user's TSV or WMT20 read a chunk at a time, ids kept as digests: 283 / 319 / 390 MB at 42 / 215 / 441 MiB
    # (bench/results/job_memory.md; 1,736 MB at 440 MiB on the 2M-pair rehearsal when it held the corpus)
    "extract_corpus": {"mem_mb": (4000, 0.4), "runtime": (30, 0.05)},
    # a chunk of texts and ~300 bytes of integer arrays a pair: 303 / 486 / 800 MB at 42 / 217 / 444 MiB, 1.38 MB
    # per MiB (846 MB max RSS at 444 MiB; 3.0 GB when it held the corpus)
    "split_corpus": {"mem_mb": (4000, 1.75), "runtime": (20, 0.05)},
    # both read and write a chunk of rows at a time: 236 / 268 MB and 374 / 421 MB at 45 / 470 MiB
    # (bench/results/job_memory.md; 872 and 860 MB at 442 MiB on the 2M-pair rehearsal when they held the table)
    "direction_view": {"mem_mb": (1000, 0.1), "runtime": (5, 0.05)},
    "study_subset": {"mem_mb": (2000, 0.2), "runtime": (10, 0.05)},
    # pairs read a chunk at a time as digests: 259 / 404 / 621 MB at 43 / 223 / 456 MiB (bench/results/job_memory.md;
    # 1,908 MB at 442 MiB when it held the texts), 0.88 MB per MiB, asked 1.2
    "cm_design": {"mem_mb": (1000, 1.2), "runtime": (5, 0.05)},
    # 277 / 403 / 663 MB at 84 / 432 / 883 MiB, 0.58 MB per MiB
    "qe_training_pairs": {"mem_mb": (2000, 0.75), "runtime": (10, 0.05)},
    # the design and the M models' scores read side by side a chunk at a time: 259 / 261 / 264 MB at 200k / 1M / 2M
    # pairs with 6 models (bench/results/job_memory.md; 681 MB at 126 MiB on the rehearsal when it held them)
    "counterfactual_memorization": {"mem_mb": (2000, 0.2), "runtime": (5, 0.05)},
    # tables read as numbers, texts as digests; the feature matrix and the classifier's copies grow with the pairs:
    # 848 MB max RSS at 2M pairs (bench/results/job_memory.md; 1,912 MB at 883 MiB when it held the texts), ~0.7 MB
    # per MiB; the rehearsal's sampled peaks 299 / 381 / 606 MB at 84 / 429 / 883 MiB, 0.50 per MiB
    "memorization_predictor": {"mem_mb": (2000, 0.9), "runtime": (10, 0.05)},
    # one direction's flags at a time, in bits, its models sharing one id array: 14 models' examples of 2M pairs
    # (3,857 MiB) 596 MB, 1,192 when every model was held a byte a flag with its own ids (bench/results/job_memory.md);
    # on the rehearsal 191 / 201 / 288 MB at 46 / 234 / 494 MiB, 0.34 MB per MiB
    "memorization_tables": {"mem_mb": (2000, 0.45), "runtime": (10, 0.05)},
    # 172 / 230 / 270 MB at 61 / 307 / 618 MiB, 0.13 MB per MiB; 7 s at 2M pairs
    "quality_estimates_table": {"mem_mb": (2000, 0.2), "runtime": (10, 0.05)},
    # CM and QE tables read side by side and written a chunk at a time: 193 / 221 / 216 MB at 200k / 1M / 2M pairs
    # (bench/results/job_memory.md; 761 MB at 257 MiB on the rehearsal when it held them)
    "counterfactual_table": {"mem_mb": (2000, 0.1), "runtime": (10, 0.05)},
    # the same reads: 376 MB for those 14 models' examples (939 before; bench/results/job_memory.md)
    "variants_table": {"mem_mb": (2000, 0.2), "runtime": (10, 0.05)},
    "adaptive_seqkd_table": {"mem_mb": (2000, 4), "runtime": (10, 0.05)},
    # a point per pair: 203 / 386 / 679 MB at 24 / 122 / 246 MiB, 2.37 MB per MiB
    "plot_memorization_map": {"mem_mb": (1000, 3), "runtime": (5, 0.05)},
    # they read the per-pair counterfactual table and the predictor's ROC points (about one per pair)
    "plot_predictor_roc": {"mem_mb": (1000, 4), "runtime": (5, 0.05)},
    "study_summary": {"mem_mb": (1000, 1.15), "runtime": (5, 0.05)},  # 104 / 232 / 343 MB at 24 / 122 / 246 MiB
}
# A day: many clusters' longest GPU partition. A job past it resumes (training: its checkpoint) or is sharded
# (translation: sharding.sentences); a request above a partition's limit would never start.
RUNTIME_CAP = 24 * 60
DATA_SUFFIXES = (".tsv", ".txt", ".jsonl", ".parquet", ".npy", ".bin")
MIB = 2**20


def data_mb(paths: Iterable[str | os.PathLike], suffixes: tuple[str, ...] = DATA_SUFFIXES) -> float:
    """MiB of the existing regular files among `paths` whose names end in one of `suffixes` (others count 0)."""
    total = 0
    for path in paths:
        path = os.fspath(path)
        if path.endswith(suffixes) and os.path.isfile(path):
            total += os.path.getsize(path)
    return total / MIB


def cm_half_mb(study_pairs: str | os.PathLike) -> float:
    """MiB of a CM model's training data: half of the study pairs (the CM design's halves are balanced)."""
    return data_mb([study_pairs]) / 2


def job_data_mb(paths: Iterable[str | os.PathLike], plan: str | os.PathLike | None = None,
                shard: int | None = None) -> float:
    """data_mb of a job's inputs; a shard job's (its shard plan and shard number given) only its shard's part: the
    files it reads are the whole split's, but it reads only the rows of its range, so its size is their share of the
    plan's sentences. Without a plan on disk yet (a dry run), data_mb's."""
    size = data_mb(paths)
    if plan is None or shard is None or not os.path.isfile(plan):
        return size
    from memkd.shards import read_plan

    found = read_plan(plan)
    start, stop = found["shards"][shard]
    return size * (stop - start) / found["sentences"] if found["sentences"] else size


def scaled(base: float, per_mb: float, size_mb: float, attempt: int = 1, cap: float | None = None) -> int:
    """ceil(attempt x (base + per_mb x size_mb)), at most cap: a job's MB of memory or minutes for its input size."""
    if base < 0 or per_mb < 0 or size_mb < 0:
        raise ValueError(f"negative base {base}, per_mb {per_mb} or size_mb {size_mb}")
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    value = math.ceil(attempt * (base + per_mb * size_mb))
    return value if cap is None else min(value, math.ceil(cap))


def rule_resource(rule: str, resource: str, size_mb: float, attempt: int = 1, models: int = 1) -> int:
    """`resource` (mem_mb or runtime) of a job of `rule` (RULES) on `size_mb` MiB of data, at this attempt; `models`
    multiplies the runtime's per-MiB term (a job that scores that many models)."""
    base, per_mb = RULES[rule][resource]
    if resource == "runtime":
        return scaled(base, per_mb * models, size_mb, attempt, cap=RUNTIME_CAP)
    return scaled(base, per_mb, size_mb, attempt)
