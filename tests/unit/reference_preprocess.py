"""The former in-memory split_corpus (memkd.preprocess at commit 08abf80, whole corpus as pandas strings): the oracle
that the chunked plan_splits / write_splits must equal, table for table."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import numpy as np
import pandas as pd

from memkd.groups import groups_from_codes
from memkd.preprocess import FILTER_REASONS, SPLITS, drop_reason, hash_bucket, normalise_text, split_key, subsample


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
