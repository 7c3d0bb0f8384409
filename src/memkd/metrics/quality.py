"""Quality estimation without a download: dual conditional cross-entropy (Junczys-Dowmunt, 2018).

For a pair (x, y), H_fwd = per-token cross-entropy of y given x under a forward model and H_bwd = of x
given y under a backward model. Pairs the two models agree are likely translations of each other
score low on |H_fwd - H_bwd| + (H_fwd + H_bwd) / 2; the estimate exp(-score) lies in (0, 1], higher
is better.

Which models: by default (quality_estimation.models: heldout) two QE models of their own preset, trained
once per corpus on training-split pairs outside the study (no pair that shares a text with a study pair),
so that the estimate of a training pair measures how translation-like it is, not how well a model fits it.
With `teachers` the study's own teachers score the pairs they learned (in-sample: a memorized pair looks
good). Tables name the models in the method label. QE validity: the ROC AUC of the estimate separating the
verses the corpus check flags as misaligned from unflagged ones, none of them seen by the QE models.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from memkd.decode import Decoder, default_device, resolve_precision
from memkd.digests import codes, text_keys
from memkd.errors import InputError
from memkd.preprocess import id_ranks

# corpus-check flags that mark a pair as misaligned (memkd.corpora: versification shifts, low lexical overlap)
MISALIGNED_FLAGS = ("shift", "lowoverlap")


def cross_entropy(sum_log_prob: float, n_tokens: int) -> float:
    """Per-token cross-entropy in nats from a summed natural-log probability."""
    if n_tokens <= 0:
        raise ValueError(f"a scored sequence needs at least one token, got {n_tokens}")
    return -sum_log_prob / n_tokens


def dual_xent_score(forward_xent: float, backward_xent: float) -> float:
    return abs(forward_xent - backward_xent) + 0.5 * (forward_xent + backward_xent)


def dual_xent_quality(forward_xent: float, backward_xent: float) -> float:
    """exp(-score) in (0, 1]; 1 only for two certain, agreeing models."""
    return math.exp(-dual_xent_score(forward_xent, backward_xent))


def method_label(method: str, models: str, pairs: int | None = None, directions: tuple[str, str] = ("", ""),
                 cometkiwi_model: str = "") -> str:
    """The QE signature every table carries: which estimator and, for dual_xent, which models."""
    if method == "cometkiwi":
        return f"cometkiwi({cometkiwi_model})"
    if models == "heldout":
        return f"dual_xent(qe models, {pairs} held-out pairs)"
    forward, backward = directions
    return f"dual_xent(teacher {forward}, teacher {backward}, in-sample)"


def misaligned(flags: pd.Series) -> pd.Series:
    """True where the corpus check flagged the pair as misaligned (a flag `shift` or `lowoverlap` in its
    comma-separated flags, spaces around a name ignored); one vectorised match, no Python list per row."""
    names = "|".join(re.escape(name) for name in MISALIGNED_FLAGS)
    pattern = rf"(?:^|,)\s*(?:{names})\s*(?:,|$)"
    return flags.fillna("").astype(str).str.contains(pattern, regex=True).astype(bool)


def pair_table_keys(chunks: Iterable[pd.DataFrame], salts: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """What choosing QE pairs needs of a table of pairs (chunks with columns id and group, and flags if any), a
    chunk at a time: 16-byte digests of the ids and text groups (memkd.digests), whether the corpus check flagged
    each pair `misaligned`, and per salt its subsampling ranks (memkd.preprocess.id_rank as 20 bytes; byte order is
    the hex order). About 75 bytes a pair with two salts, where the strings took several hundred."""
    parts: dict[str, list] = {"id": [], "group": [], "misaligned": [], **{salt: [] for salt in salts}}
    for chunk in chunks:
        parts["id"].append(text_keys(chunk["id"]))
        parts["group"].append(text_keys(chunk["group"].astype(str)))
        flagged = misaligned(chunk["flags"]) if "flags" in chunk else pd.Series(False, index=chunk.index)
        parts["misaligned"].append(flagged.to_numpy(dtype=bool))
        for salt in salts:
            parts[salt].append(id_ranks(chunk["id"], salt))
    empty = {"id": "V16", "group": "V16", "misaligned": bool, **{salt: "V20" for salt in salts}}
    return {name: np.concatenate(arrays) if arrays else np.zeros(0, dtype=empty[name]) for name, arrays in parts.items()}


def _among(keys: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Per key, whether `used` holds it (digests compared through their dense codes)."""
    if not len(keys) or not len(used):
        return np.zeros(len(keys), dtype=bool)
    key_codes = codes(np.concatenate([keys, used]))
    return np.isin(key_codes[: len(keys)], key_codes[len(keys):])


def outside(train: dict[str, np.ndarray], used: dict[str, np.ndarray]) -> np.ndarray:
    """True for training pairs that share neither an id nor a text group with a pair of `used` (pair_table_keys
    of both tables). The preprocessing's groups join pairs with an identical (normalised) text on either side, so a
    pair outside every group of `used` repeats none of its sources or targets."""
    return ~(_among(train["id"], used["id"]) | _among(train["group"], used["group"]))


def lowest_ranks(rows: np.ndarray, ranks: np.ndarray, count: int | None) -> np.ndarray:
    """memkd.preprocess.subsample on row positions: at most `count` of the ascending `rows`, those with the lowest
    `ranks` (ties in corpus order), ascending."""
    if count is None or len(rows) <= count:
        return rows
    return np.sort(rows[np.argsort(ranks[rows], kind="stable")[:count]])


def qe_training_rows(train: dict[str, np.ndarray], study: dict[str, np.ndarray], pairs: int, salt: str) -> np.ndarray:
    """The QE models' training pairs (ascending row positions of `train`): a deterministic sample (lowest id hashes
    under `salt`, pair_table_keys' ranks) of at most `pairs` training pairs outside the study's pairs and their text
    groups; misaligned pairs are left out so that the QE models learn translations and the validity set keeps every
    flagged verse."""
    pool = np.flatnonzero(outside(train, study) & ~train["misaligned"])
    return lowest_ranks(pool, train[salt], pairs)


def validity_rows(train: dict[str, np.ndarray], used: dict[str, np.ndarray], salt: str) -> tuple[np.ndarray, np.ndarray]:
    """QE-validity pairs, none sharing a text group with a pair of `used` (what the QE's models learned): every
    misaligned training pair and as many unflagged ones (deterministic sample under `salt`). Returns their ascending
    row positions in `train` and whether each is misaligned."""
    pool = outside(train, used)
    positives = np.flatnonzero(pool & train["misaligned"])
    negatives = lowest_ranks(np.flatnonzero(pool & ~train["misaligned"]), train[salt], len(positives)) \
        if len(positives) else np.zeros(0, dtype=np.int64)
    rows = np.sort(np.concatenate([positives, negatives]))
    return rows, train["misaligned"][rows]


def keys_of_rows(table: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """pair_table_keys of the `rows` of a table."""
    return {name: array[rows] for name, array in table.items()}


def check_qe_pool(chosen: int, requested: int, study_pairs: int, training_pairs: int) -> None:
    """Raise InputError when no training pair is left for the QE models."""
    if chosen > 0:
        return
    raise InputError(
        f"quality_estimation.models is heldout, but none of the {training_pairs} training pairs lies outside the "
        f"study's {study_pairs} pairs and their duplicates (quality_estimation.train_pairs = {requested}): the QE "
        f"models need pairs the study does not train on. Set study.max_pairs below the training split's size, or "
        f"quality_estimation.models: teachers (in-sample, labelled so), or quality_estimation.method: cometkiwi."
    )


def roc_auc(scores, labels) -> float:
    """ROC AUC of `scores` ranking the True `labels` above the False ones (Mann-Whitney U / (n1 n0); ties count
    one half); NaN when either class is empty."""
    scores = np.asarray(scores, dtype=float).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"{scores.size} scores for {labels.size} labels")
    if np.isnan(scores).any():
        raise ValueError("scores must not contain NaN")
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()  # midranks for ties
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def model_xent(model_dir: str, sources: list[str], targets: list[str], max_tokens: int, device: str | None,
               engine: str = "memkd", ct2_dir: str | None = None, threads: int = 1,
               precision: str = "fp32") -> list[float]:
    """Per-token cross-entropy of every target given its source under a saved model (teacher-forced), scored with
    `engine` in `precision` (memkd.decode.Decoder; ctranslate2 from the converted folder `ct2_dir`)."""
    scorer = Decoder(model_dir, engine, threads=threads, device=device, ct2_dir=ct2_dir, precision=precision)
    scores = scorer.score(sources, targets, max_tokens=max_tokens)
    return [cross_entropy(log_prob, tokens) for tokens, log_prob in scores]


def dual_xent_estimates(forward_dir: str, backward_dir: str, sources: list[str], texts: list[str], max_tokens: int,
                        device: str | None, engine: str = "memkd",
                        ct2_dirs: tuple[str | None, str | None] = (None, None), threads: int = 1,
                        precision: str = "fp32") -> pd.DataFrame:
    """Columns forward_xent, backward_xent and qe per (source, text) pair: the forward model scores the text given
    the source, the backward model the source given the text (`ct2_dirs`: their CTranslate2 folders)."""
    forward = model_xent(forward_dir, sources, texts, max_tokens, device, engine, ct2_dirs[0], threads, precision)
    backward = model_xent(backward_dir, texts, sources, max_tokens, device, engine, ct2_dirs[1], threads, precision)
    return pd.DataFrame({
        "forward_xent": np.round(forward, 6),
        "backward_xent": np.round(backward, 6),
        "qe": [round(dual_xent_quality(f, b), 6) for f, b in zip(forward, backward)],
    })


def cometkiwi_estimates(sources: list[str], texts: list[str], model_name: str) -> list[float]:
    """CometKiwi through unbabel-comet, when the user has installed it and has the model."""
    import torch

    try:
        from comet import download_model, load_from_checkpoint
    except ImportError:
        raise InputError(
            "quality_estimation.method is cometkiwi, but unbabel-comet is not installed "
            "(pip install unbabel-comet, and accept the model's licence on the Hugging Face hub)"
        ) from None
    model = load_from_checkpoint(model_name if model_name.endswith(".ckpt") else download_model(model_name))
    data = [{"src": s, "mt": t} for s, t in zip(sources, texts)]
    return list(model.predict(data, batch_size=32, gpus=1 if torch.cuda.is_available() else 0).scores)


QE_MODEL_KEYS = ("forward", "backward", "forward_ct2", "backward_ct2")


def qe_model_paths(inputs) -> dict:
    """A QE job's model folders from its rule inputs (Snakemake's named input): QE_MODEL_KEYS, None where absent."""
    return {key: inputs.get(key) for key in QE_MODEL_KEYS}


def quality_table(ids: list[str], sources: list[str], texts: list[str], settings: dict, models: dict,
                  directions: tuple[str, str], max_tokens: int, engine: str, threads: int = 1,
                  precision: str = "fp32") -> pd.DataFrame:
    """The quality-estimate table of (source, text) pairs, one row per id: columns id, forward_xent, backward_xent
    and qe for dual_xent (CometKiwi: id and qe), and qe_method, the estimator's signature. `models`: forward and
    backward model folders and their CTranslate2 copies (forward_ct2, backward_ct2) for dual_xent. Each row depends
    on its own pair only, so a shard's table is the matching rows of the whole one. `precision`: decoding.precision
    of the dual_xent scoring; the signature names bf16 where it was used."""
    if not len(ids) == len(sources) == len(texts):
        raise ValueError(f"{len(ids)} ids, {len(sources)} sources and {len(texts)} texts")
    table = pd.DataFrame({"id": ids})
    if settings["method"] == "dual_xent":
        estimates = dual_xent_estimates(models["forward"], models["backward"], sources, texts, max_tokens, None,
                                        engine, (models.get("forward_ct2"), models.get("backward_ct2")), threads,
                                        precision)
        table = pd.concat([table, estimates], axis=1)
        trained = json.loads((Path(models["forward"]) / "training_summary.json").read_text())
        name = method_label("dual_xent", settings["models"], trained["training_pairs"], directions)
        if resolve_precision(precision, default_device(engine)) == "bf16":
            name = f"{name[:-1]}, bf16)"
    else:
        table["qe"] = [round(q, 6) for q in cometkiwi_estimates(sources, texts, settings["cometkiwi_model"])]
        name = method_label("cometkiwi", "", cometkiwi_model=settings["cometkiwi_model"])
    table["qe_method"] = name
    return table
