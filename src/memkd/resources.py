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

# rule -> resource -> (base, per MiB of data): MB of memory, minutes. Memory from the per-pair footprints measured in
# issue 17 (training ~3 KB a pair, memorization_examples 4-8 KB, ~190 bytes of TSV a pair); minutes per MiB from GPU
# speeds (bench/results: an H100 trains ~2 s per MiB and epoch, decodes ~380 sentences/s greedy, scores ~580/s)
# with room for beam search, slower GPUs and 40-80 epochs. score_cm_references scores each of its M models.
RULES = {
    # memory: 1.3 GB at 442 MiB of pairs on the 2M-pair rehearsal (token ids in flat arrays), 3.0 MB per MiB at most
    "train_model": {"mem_mb": (4000, 4), "runtime": (120, 5)},
    # one chunk of texts at a time (memkd.data.write_token_store): 427 MB max RSS and 10.3 s at 107 MiB (500k pairs,
    # bench/results/token_store.md), the chunk's size whatever the table's; minutes per MiB with 30x room
    "tokenize_pairs": {"mem_mb": (1000, 0.05), "runtime": (10, 0.05)},
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
    # every model's examples and the pairs' buckets in pandas, BLEU/chrF statistics per sentence (pure Python)
    # (rehearsal: 3.6 GB summed PSS with 2 workers and 1,234 MiB of inputs at 2M pairs, 2.9 per MiB; 30 min on 2 cores)
    "subgroups_table": {"mem_mb": (2000, 4), "runtime": (10, 0.1)},
    "adaptive_seqkd_data": {"mem_mb": (1000, 10), "runtime": (5, 0.05)},
    # Whole-table jobs: the corpus, the study pairs or every pair's tables in pandas, so memory is a multiple of the
    # TSV MiB read. Peak MB per input MiB on the 2M-pair rehearsal (bench/rehearsal.py --check-resources):
    # split_corpus 6.6 (1.9 since it streams: plan_splits), counterfactual_memorization 5.4, plot_memorization_map 4.5, cm_design 4.3, extract_corpus 3.9,
    # counterfactual_table 3.0, direction_view 2.0, study_subset 1.9, qe_training_pairs 1.2, study_summary 3.3,
    # memorization_predictor 2.2, memorization_tables 1.5, quality_estimates_table 1.3; asked with a quarter more.
    # Those that stream since (extract_corpus, cm_design, direction_view, study_subset, counterfactual_table,
    # counterfactual_memorization, memorization_predictor) are sized by their new measurements, given at each.
    # adaptive_seqkd_table (variants off there) did not run at 2M pairs: 4 per MiB until it does.
    # Minutes: 20x their time there or more (they take seconds to a few minutes per 100 MiB).
    # a user's TSV or WMT20 read a chunk at a time, ids kept as digests: 283 / 319 / 390 MB at 42 / 215 / 441 MiB
    # (bench/results/job_memory.md; 1,736 MB at 440 MiB on the 2M-pair rehearsal when it held the corpus)
    "extract_corpus": {"mem_mb": (4000, 0.4), "runtime": (30, 0.05)},
    # a chunk of texts and ~300 bytes of integer arrays a pair: 846 MB max RSS at 444 MiB (2M pairs), was 3.0 GB
    "split_corpus": {"mem_mb": (4000, 2.5), "runtime": (20, 0.05)},
    # both read and write a chunk of rows at a time: 236 / 268 MB and 374 / 421 MB at 45 / 470 MiB
    # (bench/results/job_memory.md; 872 and 860 MB at 442 MiB on the 2M-pair rehearsal when they held the table)
    "direction_view": {"mem_mb": (1000, 0.1), "runtime": (5, 0.05)},
    "study_subset": {"mem_mb": (2000, 0.2), "runtime": (10, 0.05)},
    # pairs read a chunk at a time as digests: 259 / 404 / 621 MB at 43 / 223 / 456 MiB (bench/results/job_memory.md;
    # 1,908 MB at 442 MiB when it held the texts), 0.88 MB per MiB, asked 1.2
    "cm_design": {"mem_mb": (1000, 1.2), "runtime": (5, 0.05)},
    "qe_training_pairs": {"mem_mb": (2000, 2), "runtime": (10, 0.05)},
    # the design and the M models' scores read side by side a chunk at a time: 259 / 261 / 264 MB at 200k / 1M / 2M
    # pairs with 6 models (bench/results/job_memory.md; 681 MB at 126 MiB on the rehearsal when it held them)
    "counterfactual_memorization": {"mem_mb": (2000, 0.2), "runtime": (5, 0.05)},
    # tables read as numbers, texts as digests; the feature matrix and the classifier's copies grow with the pairs:
    # 848 MB at 2M pairs (bench/results/job_memory.md; 1,912 MB at 883 MiB on the rehearsal), ~0.7 MB per MiB
    "memorization_predictor": {"mem_mb": (2000, 1.5), "runtime": (10, 0.05)},
    # one direction's flags at a time, in bits, its models sharing one id array: 14 models' examples of 2M pairs
    # (3,857 MiB) 596 MB, 1,192 when every model was held a byte a flag with its own ids (bench/results/job_memory.md)
    "memorization_tables": {"mem_mb": (2000, 0.3), "runtime": (10, 0.05)},
    # its bootstrap of the mean QE is O(resamples x pairs): ~4 min at 2M pairs on a loaded 2-core machine
    "quality_estimates_table": {"mem_mb": (2000, 2), "runtime": (10, 0.05)},
    # CM and QE tables read side by side and written a chunk at a time: 193 / 221 / 216 MB at 200k / 1M / 2M pairs
    # (bench/results/job_memory.md; 761 MB at 257 MiB on the rehearsal when it held them)
    "counterfactual_table": {"mem_mb": (2000, 0.1), "runtime": (10, 0.05)},
    # the same reads: 376 MB for those 14 models' examples (939 before; bench/results/job_memory.md)
    "variants_table": {"mem_mb": (2000, 0.2), "runtime": (10, 0.05)},
    "adaptive_seqkd_table": {"mem_mb": (2000, 4), "runtime": (10, 0.05)},
    "plot_memorization_map": {"mem_mb": (1000, 6), "runtime": (5, 0.05)},
    # they read the per-pair counterfactual table and the predictor's ROC points (about one per pair)
    "plot_predictor_roc": {"mem_mb": (1000, 4), "runtime": (5, 0.05)},
    "study_summary": {"mem_mb": (1000, 4), "runtime": (5, 0.05)},
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
