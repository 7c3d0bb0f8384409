"""From an aligned corpus to train/dev/test/probe splits: normalise, filter, count duplicates, split.

Filtering drops a pair for the first reason that applies, in this order: empty, too_long,
length_ratio, identical. Duplicates are kept (memorization depends on them) and counted.
The split is decided per *group*: pairs connected by an identical (normalised) text on either side
share a group, so identical sources never straddle train/dev/test in either direction.
The corpus is read and written in chunks (plan_splits, write_splits): a job holds integer arrays per pair, not texts.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.groups import groups_from_codes
from memkd.io import atomic_path, iter_chunks, table_columns, write_tsv_chunks_atomic

SPLITS = ("train", "dev", "test", "probe")
FILTER_REASONS = ("empty", "too_long", "length_ratio", "identical")

_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\ufeff]")


def normalise_text(text: str) -> str:
    """NFC, invisible and control characters removed, whitespace runs collapsed, ends stripped."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def split_key(text: str) -> str:
    """What counts as 'the same text' for the split: case and punctuation ignored."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def drop_reason(source: str, target: str, max_words: int, max_ratio: float) -> str | None:
    """The first filter a pair fails, or None when it is kept."""
    n_source, n_target = len(source.split()), len(target.split())
    if n_source == 0 or n_target == 0:
        return "empty"
    if max(n_source, n_target) > max_words:
        return "too_long"
    if max(n_source, n_target) / min(n_source, n_target) > max_ratio:
        return "length_ratio"
    if source == target:
        return "identical"
    return None


def hash_bucket(key: str, salt: str, buckets: int = 1000) -> int:
    """A stable bucket in [0, buckets) independent of file order and Python's hash seed."""
    return int(hashlib.sha1((salt + key).encode("utf-8")).hexdigest()[:8], 16) % buckets


def id_rank(pair_id: str, salt: str) -> str:
    """The salted hash that orders pairs for subsampling (lowest first)."""
    return hashlib.sha1((salt + pair_id).encode("utf-8")).hexdigest()


def id_ranks(ids, salt: str) -> np.ndarray:
    """id_rank of each id as 20 bytes (a numpy void array; byte order is id_rank's hex order): what a job over
    millions of pairs holds to subsample them, instead of the hex strings."""
    return np.frombuffer(b"".join(bytes.fromhex(id_rank(i, salt)) for i in ids), dtype="V20")


def subsample(frame: pd.DataFrame, max_rows: int | None, salt: str) -> pd.DataFrame:
    """A deterministic subset of at most max_rows rows (lowest id hashes), kept in corpus order."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    ranks = frame["id"].map(lambda i: id_rank(i, salt))
    keep = ranks.sort_values(kind="stable").index[:max_rows]
    return frame.loc[sorted(keep)]


def check_split_sizes(sizes: dict[str, int], kept_pairs: int, permille: dict[str, int], minimum: dict[str, int]) -> None:
    """Raise InputError naming the split, its size and the setting behind it when a split the study reads holds
    fewer than `minimum[split]` pairs: a user corpus of a few hundred pairs stops here, within seconds, instead of
    after half an hour of training (an empty probe split used to fail the first translation job)."""
    for split, needed in minimum.items():
        if sizes.get(split, 0) >= needed:
            continue
        # the split is drawn by hashed groups, so aim for twice the minimum on average
        advice = math.ceil(2000 * needed / max(kept_pairs, 1))
        fix = (f"raise preprocess.split_permille.{split} to about {advice}" if advice < 1000 - sum(permille.values())
               + permille.get(split, 0) else "use a larger corpus")
        raise InputError(
            f"split {split!r} holds {sizes.get(split, 0)} pairs, fewer than the {needed} the study needs "
            f"(preprocess.min_split_pairs.{split}); it is preprocess.split_permille.{split} = "
            f"{permille.get(split, 0)} per mille of {kept_pairs} pairs kept after filtering. To fix it, {fix}, "
            f"or lower preprocess.min_split_pairs.{split}."
        )


def fingerprints(texts: Iterable[str]) -> np.ndarray:
    """A 128-bit BLAKE2b digest per text, as two uint64 columns: equal texts give equal rows, and two different
    texts among a billion collide with probability ~1e-21, so millions of texts can be counted as integers."""
    digests = b"".join(hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest() for text in texts)
    return np.frombuffer(digests, dtype="<u8").reshape(-1, 2)


def fingerprint_codes(rows: np.ndarray) -> np.ndarray:
    """Integer codes of fingerprints (fingerprints' rows): equal rows share a code."""
    high, low = pd.factorize(rows[:, 0])[0], pd.factorize(rows[:, 1])[0]
    return pd.factorize(high.astype(np.int64) * (int(low.max(initial=0)) + 1) + low)[0]


def split_codes(buckets: np.ndarray, permille: dict[str, int]) -> np.ndarray:
    """The split (index into SPLITS) of each hash bucket: dev, test and probe take the first buckets, train the rest."""
    dev_end = permille["dev"]
    test_end = dev_end + permille["test"]
    probe_end = test_end + permille["probe"]
    return np.select([buckets < dev_end, buckets < test_end, buckets < probe_end], [1, 2, 3], 0).astype(np.int8)


NOT_FIXED, FIXED_ELSEWHERE, DROPPED = -2, -3, -1  # split codes besides SPLITS' indices


@dataclass
class SplitPlan:
    """Where every kept pair goes (plan_splits) before any split is written (write_splits): the kept, normalised rows
    in a scratch table and per-row integer arrays, never the texts."""

    scratch: Path
    columns: list[str]  # the scratch table's (the input's)
    lang1: str
    lang2: str
    split: np.ndarray  # index into SPLITS, or DROPPED
    pair_count: np.ndarray
    text_counts: dict[str, np.ndarray]
    group: np.ndarray
    report: dict


def plan_splits(aligned: str | Path, lang1: str, lang2: str, settings: dict, scratch: str | Path,
                chunk_rows: int | None = None) -> SplitPlan:
    """Normalise, filter, count duplicates and split an aligned (id, lang1, lang2, flags[, split]) corpus, reading it
    `chunk_rows` rows at a time: the kept, normalised rows go to `scratch` (a table), and every later step works on
    integer arrays (fingerprint codes of the texts and split keys), so memory grows by a few hundred bytes a pair
    (846 MB at 2M pairs), not by the pairs' texts. The raw corpus is never modified.

    Filtering drops a pair for the first reason that applies (drop_reason). The split is per group of pairs linked by
    an equal split key on either side (groups_from_codes), drawn from the hash of the group's smallest lang1 key, so it
    does not depend on row order; rows with a fixed `split` keep it, and other rows sharing a text with them are
    dropped. A split over its max_*_pairs keeps its rows of lowest id hash (subsample's choice)."""
    aligned, scratch = Path(aligned), Path(scratch)
    columns = table_columns(aligned)
    missing = [c for c in ("id", lang1, lang2, "flags") if c not in columns]
    if missing:
        raise InputError(f"{aligned}: missing column(s) {missing}; found {columns}")
    salt = settings["split_salt"]
    seen = {"input_pairs": 0}
    reasons: Counter = Counter()
    text_prints: dict[str, list] = {lang1: [], lang2: []}
    key_prints: dict[str, list] = {lang1: [], lang2: []}
    own_buckets, fixed = [], []

    def kept_chunks():
        for chunk in iter_chunks(aligned, columns, chunk_rows):
            seen["input_pairs"] += len(chunk)
            for lang in (lang1, lang2):
                chunk[lang] = chunk[lang].map(normalise_text)
            dropped = [drop_reason(s, t, settings["max_words"], settings["max_length_ratio"])
                       for s, t in zip(chunk[lang1], chunk[lang2])]
            reasons.update(reason for reason in dropped if reason)
            chunk = chunk[[reason is None for reason in dropped]].reset_index(drop=True)
            for lang in (lang1, lang2):
                keys = [split_key(text) for text in chunk[lang]]
                text_prints[lang].append(fingerprints(chunk[lang]))
                key_prints[lang].append(fingerprints(keys))
                if lang == lang1:  # a group of one pair takes the bucket of its own key
                    own_buckets.append(np.array([hash_bucket(key, salt) for key in keys], dtype=np.int16))
            if "split" in columns:
                given = chunk["split"].map(lambda name: SPLITS.index(name) if name in SPLITS
                                           else NOT_FIXED if name == "" else FIXED_ELSEWHERE)
                fixed.append(given.to_numpy(dtype=np.int8))
            yield chunk

    kept = write_tsv_chunks_atomic(scratch, kept_chunks())
    report: dict = {"input_pairs": seen["input_pairs"],
                    "dropped": {reason: reasons.get(reason, 0) for reason in FILTER_REASONS}, "kept_pairs": kept}

    # occurrences, through integer codes of the texts and of the pairs
    text_codes = {lang: fingerprint_codes(np.concatenate(text_prints.pop(lang))) for lang in (lang1, lang2)}
    pair_codes = pd.factorize(text_codes[lang1] * (int(text_codes[lang2].max(initial=0)) + 1) + text_codes[lang2])[0]
    pair_counts = np.bincount(pair_codes)
    pair_count = pair_counts[pair_codes]
    text_counts = {lang: np.bincount(codes)[codes] for lang, codes in text_codes.items()}
    del text_codes, pair_codes
    report["duplicates"] = {
        "pairs_with_duplicates": int((pair_count > 1).sum()),
        "distinct_duplicated_pairs": int((pair_counts > 1).sum()),
        **{f"{lang}_texts_repeated": int((text_counts[lang] > 1).sum()) for lang in (lang1, lang2)},
    }

    # groups: split keys coded across both sides, so a key on either side links pairs
    both = fingerprint_codes(np.concatenate([np.concatenate(key_prints.pop(lang1)), np.concatenate(key_prints.pop(lang2))]))
    left, right = both[:kept], both[kept:]
    group = groups_from_codes(left, right) if kept else np.zeros(0, dtype=np.int64)
    sizes = np.bincount(group, minlength=kept)
    buckets = np.concatenate(own_buckets) if own_buckets else np.zeros(0, dtype=np.int16)
    shared = sizes[group] > 1
    if shared.any():
        buckets[shared] = _smallest_key_buckets(scratch, lang1, left, group, shared, salt, chunk_rows)
    split = split_codes(buckets, settings["split_permille"])

    report["dropped_overlapping_fixed_splits"] = 0
    if fixed:
        given = np.concatenate(fixed)
        is_fixed = given != NOT_FIXED
        if is_fixed.any():
            split = np.where(is_fixed, given, split).astype(np.int8)
            held_out = np.union1d(left[is_fixed], right[is_fixed])
            overlap = ~is_fixed & (np.isin(left, held_out) | np.isin(right, held_out))
            split[overlap] = DROPPED
            report["dropped_overlapping_fixed_splits"] = int(overlap.sum())
    report["groups"] = {"count": int((sizes > 0).sum()), "largest": int(sizes.max(initial=0))}

    limits = {"train": settings.get("max_train_pairs"), "dev": settings.get("max_eval_pairs"),
              "test": settings.get("max_eval_pairs"), "probe": settings.get("max_eval_pairs")}
    over = {SPLITS.index(name): limit for name, limit in limits.items()
            if limit is not None and (split == SPLITS.index(name)).sum() > limit}
    if over:
        _subsample_splits(scratch, split, over, salt, chunk_rows)
    report["splits"] = {name: int((split == index).sum()) for index, name in enumerate(SPLITS)}
    return SplitPlan(scratch, columns, lang1, lang2, split, pair_count, text_counts, group, report)


def _smallest_key_buckets(scratch: Path, lang1: str, left: np.ndarray, group: np.ndarray, shared: np.ndarray,
                          salt: str, chunk_rows: int | None) -> np.ndarray:
    """The bucket of each shared-group row (rows where `shared`): the hash of its group's smallest lang1 split key.
    Reads the keys of those rows' distinct codes only (a group of one pair needs none)."""
    needed = np.unique(left[shared])
    wanted = np.zeros(int(left.max()) + 1, dtype=bool)
    wanted[needed] = True
    keys: dict[int, str] = {}
    start = 0
    for chunk in iter_chunks(scratch, [lang1], chunk_rows):
        codes = left[start:start + len(chunk)]
        for row in np.flatnonzero(wanted[codes]):
            if int(codes[row]) not in keys:
                keys[int(codes[row])] = split_key(chunk[lang1].iat[row])
        start += len(chunk)
    by_key = sorted(keys, key=keys.__getitem__)
    rank = np.empty(len(needed), dtype=np.int64)
    rank[np.searchsorted(needed, by_key)] = np.arange(len(by_key))
    rows = np.flatnonzero(shared)
    smallest = np.full(len(group), len(by_key), dtype=np.int64)
    np.minimum.at(smallest, group[rows], rank[np.searchsorted(needed, left[rows])])
    bucket_of_rank = np.array([hash_bucket(keys[code], salt) for code in by_key], dtype=np.int16)
    return bucket_of_rank[smallest[group[rows]]]


def _subsample_splits(scratch: Path, split: np.ndarray, limits: dict[int, int], salt: str,
                      chunk_rows: int | None) -> None:
    """In place: each split in `limits` (SPLITS index -> max rows) keeps its rows of lowest id hash (subsample's
    choice), the others become DROPPED."""
    digests = {code: [] for code in limits}
    start = 0
    for chunk in iter_chunks(scratch, ["id"], chunk_rows):
        codes = split[start:start + len(chunk)]
        for code in limits:
            digests[code] += [id_rank(i, salt) for i in chunk["id"][codes == code]]
        start += len(chunk)
    for code, limit in limits.items():
        rows = np.flatnonzero(split == code)
        keep = rows[np.argsort(np.array(digests[code]), kind="stable")[:limit]]
        split[np.setdiff1d(rows, keep)] = DROPPED


def write_splits(plan: SplitPlan, paths: dict[str, str | Path], chunk_rows: int | None = None) -> None:
    """Write each split of `plan` (SPLITS name -> path) atomically, one scratch chunk in memory at a time: the input's
    columns but `split`, then pair_count, <lang1>_count, <lang2>_count and group (occurrences in the whole filtered
    corpus; group: the index of the group's first kept pair), rows in corpus order."""
    columns = [c for c in plan.columns if c != "split"]
    header = "\t".join(columns + ["pair_count", f"{plan.lang1}_count", f"{plan.lang2}_count", "group"]) + "\n"
    with contextlib.ExitStack() as stack:
        handles = {}
        for name, path in paths.items():
            handle = stack.enter_context(open(stack.enter_context(atomic_path(path)), "w", encoding="utf-8", newline=""))
            handle.write(header)
            handles[SPLITS.index(name)] = handle
        start = 0
        for chunk in iter_chunks(plan.scratch, plan.columns, chunk_rows):
            rows = slice(start, start + len(chunk))
            chunk = chunk[columns].assign(pair_count=plan.pair_count[rows],
                                          **{f"{lang}_count": plan.text_counts[lang][rows] for lang in (plan.lang1, plan.lang2)},
                                          group=plan.group[rows])
            codes = plan.split[rows]
            for code, handle in handles.items():
                chosen = codes == code
                if chosen.any():
                    chunk[chosen].to_csv(handle, sep="\t", index=False, header=False, quoting=csv.QUOTE_NONE,
                                         lineterminator="\n")
            start += len(chunk)


def direction_view(table: pd.DataFrame, source: str, target: str) -> pd.DataFrame:
    """A split seen in one translation direction: columns id, src, tgt and the bookkeeping columns."""
    view = table.rename(columns={source: "src", target: "tgt", f"{source}_count": "src_count", f"{target}_count": "tgt_count"})
    return view[["id", "src", "tgt", "flags", "pair_count", "src_count", "tgt_count", "group"]]
