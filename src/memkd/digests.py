"""Fixed-size digests of texts and integer codes of digests: which of millions of texts are equal, read a chunk at a
time, without holding the texts (a 16-byte key each instead of a Python string)."""

from __future__ import annotations

from hashlib import blake2b

import numpy as np

KEY_BYTES = 16  # 128-bit digests: a collision among 10^8 texts has probability about 10^-23


def text_keys(texts, strip: bool = False) -> np.ndarray:
    """One KEY_BYTES digest per text (a numpy void array): equal texts, equal keys; `strip`: compared stripped."""
    digest = lambda text: blake2b((text.strip() if strip else text).encode("utf-8"), digest_size=KEY_BYTES).digest()
    return np.frombuffer(b"".join(map(digest, texts)), dtype=f"V{KEY_BYTES}")


def pair_keys(sources, targets) -> np.ndarray:
    """One digest per (source, target) pair: equal pairs, equal keys (a tab, which no text holds, joins the two)."""
    return text_keys(f"{source}\t{target}" for source, target in zip(sources, targets))


def codes(keys: np.ndarray) -> np.ndarray:
    """Dense int64 codes 0..k-1 of the keys (in the keys' sorted order): equal key, equal code."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.unique(keys, return_inverse=True)[1].astype(np.int64).reshape(-1)


def id_hashes(ids) -> np.ndarray:
    """A 64-bit hash per id (the first 8 bytes of its text_keys digest): two id columns are equal exactly when their
    hashes are, but for a collision of two different ids in the same row (probability 2^-64 a row)."""
    return text_keys(ids).view("<u8")[::2].copy() if len(ids) else np.zeros(0, dtype="<u8")
