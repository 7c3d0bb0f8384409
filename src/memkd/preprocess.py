"""From an aligned corpus to train/dev/test/probe splits: normalise, filter, count duplicates, split.

Filtering drops a pair for the first reason that applies, in this order: empty, too_long,
length_ratio, identical. Duplicates are kept (memorization depends on them) and counted.
The split is decided per *group*: pairs connected by an identical (normalised) text on either side
share a group, so identical sources never straddle train/dev/test in either direction.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from typing import Iterable

import numpy as np
import pandas as pd

from memkd.errors import InputError
from memkd.groups import groups_from_codes

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


def key_codes(*sides: Iterable[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """(codes of each side, distinct split keys): texts with equal split keys share a code, across sides too,
    and `keys[code]` is that key. Codes instead of a key per pair, so that no job holds millions of key strings."""
    codes, keys = pd.factorize(pd.Series([split_key(text) for side in sides for text in side], dtype=object))
    return np.split(codes, np.cumsum([len(side) for side in sides])[:-1]), np.asarray(keys, dtype=object)


def text_groups(left: list[str], right: list[str]) -> list[int]:
    """Two pairs share a group when either side's split key is identical (transitively).
    Returns a group id per pair (the index of the group's first pair)."""
    (left_codes, right_codes), _ = key_codes(left, right)
    return groups_from_codes(left_codes, right_codes).tolist()


def assign_splits(
    frame: pd.DataFrame, lang1: str, lang2: str, permille: dict[str, int], salt: str,
    codes: tuple[list[np.ndarray], np.ndarray] | None = None,
) -> tuple[pd.Series, pd.Series]:
    """(split name, group id) per pair. A group's bucket is the hash of its smallest lang1 key, so the
    split does not depend on row order. `codes`: key_codes(frame[lang1], frame[lang2]) when the caller has it."""
    (left_codes, right_codes), keys = codes if codes is not None else key_codes(frame[lang1], frame[lang2])
    groups = groups_from_codes(left_codes, right_codes)
    # each group's smallest lang1 key, through the keys' ranks in sorted order
    by_key = np.argsort(keys, kind="stable")
    rank = np.empty(len(keys), dtype=np.int64)
    rank[by_key] = np.arange(len(keys))
    group_rank = pd.Series(rank[left_codes]).groupby(groups).transform("min").to_numpy()
    dev_end = permille["dev"]
    test_end = dev_end + permille["test"]
    probe_end = test_end + permille["probe"]

    def split_of(bucket: int) -> str:
        if bucket < dev_end:
            return "dev"
        if bucket < test_end:
            return "test"
        if bucket < probe_end:
            return "probe"
        return "train"

    # one hash per group, not per pair
    group_ranks, pair_group = np.unique(group_rank, return_inverse=True)
    split_names = np.array([split_of(hash_bucket(keys[by_key[r]], salt)) for r in group_ranks], dtype=object)
    return (pd.Series(split_names[pair_group.ravel()], index=frame.index, name="split"),
            pd.Series(groups, index=frame.index))


def apply_fixed_splits(
    frame: pd.DataFrame, split: pd.Series, lang1: str, lang2: str, codes: tuple[list[np.ndarray], np.ndarray] | None = None
) -> tuple[pd.Series, int]:
    """Rows with a `split` value (an official test set, say) keep it; other rows that share a text with
    them on either side are dropped (split "-"), so no test text is ever trained on. Returns the new
    split and the number of rows dropped. `codes`: key_codes(frame[lang1], frame[lang2]) when the caller has it."""
    if "split" not in frame.columns or not (frame["split"] != "").any():
        return split, 0
    fixed = (frame["split"] != "").to_numpy()
    split = split.where(~fixed, frame["split"])
    (left_codes, right_codes), _ = codes if codes is not None else key_codes(frame[lang1], frame[lang2])
    held_out = np.union1d(left_codes[fixed], right_codes[fixed])
    overlap = ~fixed & (np.isin(left_codes, held_out) | np.isin(right_codes, held_out))
    return split.where(~overlap, "-"), int(overlap.sum())


def subsample(frame: pd.DataFrame, max_rows: int | None, salt: str) -> pd.DataFrame:
    """A deterministic subset of at most max_rows rows (lowest id hashes), kept in corpus order."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    ranks = frame["id"].map(lambda i: hashlib.sha1((salt + i).encode("utf-8")).hexdigest())
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


def preprocess(frame: pd.DataFrame, lang1: str, lang2: str, settings: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Normalise, filter, count duplicates and split an aligned (id, lang1, lang2, flags) corpus.

    Returns ({split: table}, report). Tables keep columns id, lang1, lang2, flags and add
    pair_count, <lang1>_count, <lang2>_count (occurrences in the whole filtered corpus) and group.
    The text columns of `frame` itself are normalised (in place, so that a corpus of millions of pairs is not
    held twice).
    """
    report: dict = {"input_pairs": len(frame)}
    # in place: the raw texts are freed as the normalised ones arrive (the caller's frame holds them otherwise)
    for lang in (lang1, lang2):
        frame[lang] = frame[lang].map(normalise_text)
    reasons = [
        drop_reason(s, t, settings["max_words"], settings["max_length_ratio"])
        for s, t in zip(frame[lang1], frame[lang2])
    ]
    counts = Counter(r for r in reasons if r)
    report["dropped"] = {reason: counts.get(reason, 0) for reason in FILTER_REASONS}
    frame = frame[[r is None for r in reasons]].reset_index(drop=True)
    del reasons
    report["kept_pairs"] = len(frame)

    # occurrences counted through integer codes of the texts and of the pairs, not a dict of text tuples
    text_codes = {lang: pd.factorize(frame[lang])[0] for lang in (lang1, lang2)}
    pair_codes = pd.factorize(text_codes[lang1] * (int(text_codes[lang2].max(initial=0)) + 1) + text_codes[lang2])[0]
    pair_counts = np.bincount(pair_codes)
    frame["pair_count"] = pair_counts[pair_codes]
    for lang in (lang1, lang2):
        frame[f"{lang}_count"] = np.bincount(text_codes[lang])[text_codes[lang]]
    del text_codes, pair_codes
    report["duplicates"] = {
        "pairs_with_duplicates": int((frame["pair_count"] > 1).sum()),
        "distinct_duplicated_pairs": int((pair_counts > 1).sum()),
        **{f"{lang}_texts_repeated": int((frame[f"{lang}_count"] > 1).sum()) for lang in (lang1, lang2)},
    }

    codes = key_codes(frame[lang1], frame[lang2])
    split, groups = assign_splits(frame, lang1, lang2, settings["split_permille"], settings["split_salt"], codes)
    split, report["dropped_overlapping_fixed_splits"] = apply_fixed_splits(frame, split, lang1, lang2, codes)
    del codes
    frame["group"] = groups
    group_sizes = frame["group"].value_counts()
    report["groups"] = {"count": int(len(group_sizes)), "largest": int(group_sizes.max()) if len(group_sizes) else 0}
    columns = [c for c in frame.columns if c != "split"]
    tables = {name: frame.loc[split == name, columns].reset_index(drop=True) for name in SPLITS}
    del frame  # the splits hold every row now
    limits = {"train": settings.get("max_train_pairs"), "dev": settings.get("max_eval_pairs"),
              "test": settings.get("max_eval_pairs"), "probe": settings.get("max_eval_pairs")}
    tables = {name: subsample(t, limits[name], settings["split_salt"]).reset_index(drop=True) for name, t in tables.items()}
    report["splits"] = {name: len(t) for name, t in tables.items()}
    return tables, report


def direction_view(table: pd.DataFrame, source: str, target: str) -> pd.DataFrame:
    """A split seen in one translation direction: columns id, src, tgt and the bookkeeping columns."""
    view = table.rename(columns={source: "src", target: "tgt", f"{source}_count": "src_count", f"{target}_count": "tgt_count"})
    return view[["id", "src", "tgt", "flags", "pair_count", "src_count", "tgt_count", "group"]]
