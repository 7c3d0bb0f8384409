"""Tables of the LM track from per-example score tables: memorization rates, student vs baseline change, inheritance
sets, soft vs hard teacher-specific inheritance, the predictor and the removal experiment. Every interval comes from
memkd.stats; with several seeds a row 'pooled' carries the two-level (seeds, then examples) interval."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score, roc_curve

from memkd.metrics.inheritance import inheritance_sets
from memkd.predictor import cross_validated_auc
from memkd.stats import (bootstrap_rate_ci, hierarchical_rate_ci, hierarchical_relative_change, mean_sd,
                         paired_bootstrap_relative_change)

POOLED = "pooled"
STUDENTS = ("soft", "hard")
FEATURES = ("zlib_entropy", "teacher_log_ppl", "baseline_log_ppl", "kl_teacher_baseline")


def zlib_entropy(text: str) -> float:
    """zlib-compressed size in bits per raw byte: low for repetitive, formulaic text."""
    raw = text.encode()
    return 8 * len(zlib.compress(raw, 9)) / len(raw)


def _stats(settings: dict) -> dict:
    return {"n_resamples": settings["bootstrap_resamples"], "seed": settings["seed"],
            "confidence": settings["confidence"]}


def flags(scores: dict, seed, role: str, split: str = "finetune") -> np.ndarray:
    frame = scores[(seed, role)]
    return frame.loc[frame["split"] == split, "memorized"].astype(bool).to_numpy()


def memorization_table(scores: dict, stats: dict) -> pd.DataFrame:
    """Extraction rate per seed, model and split with its bootstrap interval; pooled rows over seeds."""
    seeds = sorted({s for s, _ in scores})
    roles = list(dict.fromkeys(r for _, r in scores))
    rows = []
    for role in roles:
        for split in ("finetune", "heldout"):
            per_seed = [flags(scores, s, role, split) for s in seeds if (s, role) in scores]
            if not per_seed or not len(per_seed[0]):
                continue
            for s, f in zip([s for s in seeds if (s, role) in scores], per_seed):
                point, low, high = bootstrap_rate_ci(f, **_stats(stats))
                rows.append({"seed": s, "role": role, "split": split, "examples": len(f),
                             "memorized": int(f.sum()), "rate_pct": point, "low": low, "high": high})
            if len(per_seed) > 1:
                point, low, high = hierarchical_rate_ci(per_seed, [np.ones_like(f) for f in per_seed],
                                                        **_stats(stats), same_pairs=True)
                mean, sd = mean_sd([100 * f.mean() for f in per_seed])
                rows.append({"seed": POOLED, "role": role, "split": split, "examples": len(per_seed[0]),
                             "memorized": float(np.mean([f.sum() for f in per_seed])), "rate_pct": point,
                             "low": low, "high": high, "rate_sd": sd})
    return pd.DataFrame(rows)


def _change_rows(label: dict, numer_by_seed: list, denom_by_seed: list, seeds: list, stats: dict) -> list[dict]:
    """Relative change % of the first flag set's rate over the second's, per seed and pooled."""
    rows = []
    for s, a, b in zip(seeds, numer_by_seed, denom_by_seed):
        point, low, high = paired_bootstrap_relative_change(a, b, **_stats(stats))
        rows.append({"seed": s, **label, "count": int(a.sum()), "reference_count": int(b.sum()),
                     "change_pct": point, "low": low, "high": high})
    if len(seeds) > 1:
        point, low, high = hierarchical_relative_change(numer_by_seed, denom_by_seed, **_stats(stats),
                                                        same_pairs=True)
        rows.append({"seed": POOLED, **label, "count": float(np.mean([a.sum() for a in numer_by_seed])),
                     "reference_count": float(np.mean([b.sum() for b in denom_by_seed])),
                     "change_pct": point, "low": low, "high": high})
    return rows


def relative_change_table(scores: dict, stats: dict) -> pd.DataFrame:
    """Each student's extraction rate vs the baseline's on the same fine-tuning examples."""
    seeds = sorted({s for s, _ in scores})
    rows = []
    for student in STUDENTS:
        rows += _change_rows({"student": student, "reference": "baseline"},
                             [flags(scores, s, student) for s in seeds], [flags(scores, s, "baseline") for s in seeds],
                             seeds, stats)
    return pd.DataFrame(rows)


def inheritance_table(scores: dict, stats: dict) -> pd.DataFrame:
    """Set sizes per seed and student: teacher-specific (T not B), inherited (T and S not B), easy (T and B), and the
    share of the student's memorized examples that are easy (inside T and B) with its interval."""
    seeds = sorted({s for s, _ in scores})
    rows = []
    for student in STUDENTS:
        easy_s, student_s = [], []
        for s in seeds:
            t, b, st = flags(scores, s, "teacher"), flags(scores, s, "baseline"), flags(scores, s, student)
            sets = inheritance_sets(t, b, st)
            easy_student = st & t & b
            easy_s.append(easy_student)
            student_s.append(st)
            point, low, high = hierarchical_rate_ci([easy_student], [st], **_stats(stats))
            rows.append({"seed": s, "student": student, "teacher_memorized": int(t.sum()),
                         "baseline_memorized": int(b.sum()), "student_memorized": int(st.sum()),
                         "teacher_specific": int((t & ~b).sum()), "inherited": int(sets["inherited"].sum()),
                         "easy": int(sets["easy"].sum()), "student_easy": int(easy_student.sum()),
                         "teacher_only": int(sets["teacher_only"].sum()),
                         "student_only": int(sets["student_only"].sum()),
                         "easy_share_pct": point, "low": low, "high": high})
        if len(seeds) > 1:
            point, low, high = hierarchical_rate_ci(easy_s, student_s, **_stats(stats), same_pairs=True)
            seed_rows = [r for r in rows if r["student"] == student and r["seed"] != POOLED]
            pooled = {k: float(np.mean([r[k] for r in seed_rows])) for k in seed_rows[0] if k not in
                      ("seed", "student", "easy_share_pct", "low", "high")}
            rows.append({"seed": POOLED, "student": student, **pooled, "easy_share_pct": point, "low": low,
                         "high": high})
    return pd.DataFrame(rows)


def inherited_flags(scores: dict, seed, student: str) -> np.ndarray:
    t, b, st = flags(scores, seed, "teacher"), flags(scores, seed, "baseline"), flags(scores, seed, student)
    return t & st & ~b


def soft_vs_hard_table(scores: dict, stats: dict) -> pd.DataFrame:
    """Teacher-specific inheritance (T and S, not B) of the hard student vs the soft one: change % and the ratio
    hard / soft (1 + change / 100) with its interval."""
    seeds = sorted({s for s, _ in scores})
    rows = _change_rows({"student": "hard", "reference": "soft"}, [inherited_flags(scores, s, "hard") for s in seeds],
                        [inherited_flags(scores, s, "soft") for s in seeds], seeds, stats)
    frame = pd.DataFrame(rows).rename(columns={"count": "hard_inherited", "reference_count": "soft_inherited"})
    for change, ratio in (("change_pct", "ratio"), ("low", "ratio_low"), ("high", "ratio_high")):
        frame[ratio] = 1 + frame[change] / 100
    return frame


def features(examples: pd.DataFrame, teacher: pd.DataFrame, baseline: pd.DataFrame, kl: pd.DataFrame) -> pd.DataFrame:
    """The predictor's features per fine-tuning example, known before distillation."""
    t = teacher[teacher["split"] == "finetune"].set_index("id")
    b = baseline[baseline["split"] == "finetune"].set_index("id")
    k = kl.set_index("id")
    ids = examples["id"]
    return pd.DataFrame({
        "id": ids.to_numpy(),
        "zlib_entropy": [zlib_entropy(str(x)) for x in examples["text"]],
        "teacher_log_ppl": t.loc[ids, "log_ppl"].to_numpy(),
        "baseline_log_ppl": b.loc[ids, "log_ppl"].to_numpy(),
        "kl_teacher_baseline": k.loc[ids, "kl_teacher_baseline"].to_numpy(),
    })


def auc_interval(probabilities: np.ndarray, labels: np.ndarray, stats: dict) -> tuple[float, float, float]:
    """Out-of-fold ROC AUC with a percentile bootstrap over examples (resamples of one class only are skipped)."""
    labels = np.asarray(labels, dtype=bool)
    point = float(roc_auc_score(labels, probabilities))
    rng = np.random.default_rng(stats["seed"])
    values = []
    for _ in range(stats["bootstrap_resamples"]):
        idx = rng.integers(0, len(labels), len(labels))
        if labels[idx].any() and not labels[idx].all():
            values.append(roc_auc_score(labels[idx], probabilities[idx]))
    alpha = (1 - stats["confidence"]) / 2
    return point, float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def _resampled_aucs(probabilities: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """ROC AUC of each resample (a row of example indices), from ranks with ties averaged (roc_auc_score's value);
    nan where a resample holds one class only."""
    p, y = probabilities[rows], labels[rows]
    positives = y.sum(axis=1)
    negatives = y.shape[1] - positives
    rank_sums = (rankdata(p, axis=1) * y).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sums - positives * (positives + 1) / 2) / (positives * negatives)
    return np.where((positives > 0) & (negatives > 0), auc, np.nan)


def pooled_auc_interval(probabilities: list[np.ndarray], labels: list[np.ndarray], stats: dict,
                        same_examples: bool) -> tuple[float, float, float]:
    """(mean over seeds of each seed's out-of-fold ROC AUC, low, high): a two-level percentile bootstrap as
    memkd.stats pools rates over seeds. Each resample draws the seeds with replacement (a seed drawn m times counts
    m times) and then the examples: one draw shared by every seed when all seeds score the same examples
    (`same_examples`, crossed), else a draw per seed (nested); its value is the mean AUC over the drawn seeds.
    Resamples in which a drawn seed holds one class only are skipped, as in `auc_interval`."""
    if len(probabilities) != len(labels) or not probabilities:
        raise ValueError(f"{len(probabilities)} seeds of probabilities, {len(labels)} of labels")
    probabilities = [np.asarray(p, dtype=float) for p in probabilities]
    labels = [np.asarray(y, dtype=bool) for y in labels]
    point = float(np.mean([roc_auc_score(y, p) for p, y in zip(probabilities, labels)]))
    rng = np.random.default_rng(stats["seed"])
    k, resamples = len(labels), stats["bootstrap_resamples"]
    multiplicity = rng.multinomial(k, np.full(k, 1.0 / k), size=resamples)  # [R, k]
    sizes = [len(y) for y in labels]
    if same_examples and len(set(sizes)) != 1:
        raise ValueError(f"same_examples needs one number of examples for every seed, got {sorted(set(sizes))}")
    chunk = max(1, (1 << 22) // max(sizes))  # about 4M drawn indices at a time, whatever the number of examples
    parts = []
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        if same_examples:
            shared = rng.integers(0, sizes[0], size=(rows, sizes[0]))
            draws = [shared] * k
        else:
            draws = [rng.integers(0, n, size=(rows, n)) for n in sizes]
        parts.append(np.column_stack([_resampled_aucs(p, y, d) for p, y, d in zip(probabilities, labels, draws)]))
    aucs = np.vstack(parts)  # [R, k]
    drawn = multiplicity > 0
    kept = ~np.any(drawn & np.isnan(aucs), axis=1)
    values = (np.nan_to_num(aucs) * multiplicity).sum(axis=1)[kept] / k
    if not values.size:
        return point, float("nan"), float("nan")
    alpha = (1 - stats["confidence"]) / 2
    return point, float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def finetune_labels(scores: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Whether the model memorized each fine-tuning example, in the order of `ids`."""
    finetune = scores[scores["split"] == "finetune"].set_index("id")
    return finetune.loc[ids, "memorized"].astype(bool).to_numpy()


def pooled_auc_label(stats: dict) -> str:
    return (f"two-level percentile bootstrap (seeds, then examples) of the mean out-of-fold AUC over seeds, "
            f"{stats['bootstrap_resamples']} resamples, {stats['confidence']:.0%}, seed {stats['seed']}")


def predictor_table(per_seed: pd.DataFrame, flagged: dict, scores: dict, stats: dict) -> pd.DataFrame:
    """The per-seed predictor rows (lm_predictor) and, with several seeds, a 'pooled' row per student: the mean
    over seeds of the AUC, its sd, and the two-level bootstrap interval of `pooled_auc_interval` from every seed's
    out-of-fold probabilities (`flagged[seed]`: the lm_predictor flagged table) against what the student
    memorized. Seeds without an AUC (too few memorized examples to cross-validate) are left out and counted."""
    seeds = list(flagged)
    if len(seeds) < 2:
        return per_seed
    rows = []
    for student in STUDENTS:
        mine = per_seed[per_seed["student"] == student]
        usable = [s for s in seeds if flagged[s][f"{student}_probability"].notna().all()
                  and 0 < finetune_labels(scores[(s, student)], flagged[s]["id"]).sum() < len(flagged[s])]
        row = {"seed": POOLED, "student": student, "positives": float(mine["positives"].mean()),
               "seeds": len(usable), "seeds_without_auc": len(seeds) - len(usable),
               "interval": pooled_auc_label(stats)}
        if not usable:
            rows.append({**row, "auc": np.nan, "auc_low": np.nan, "auc_high": np.nan,
                         "reason": "no seed has an AUC"})
            continue
        ids = [flagged[s]["id"].tolist() for s in usable]
        auc, low, high = pooled_auc_interval(
            [flagged[s][f"{student}_probability"].to_numpy(float) for s in usable],
            [finetune_labels(scores[(s, student)], flagged[s]["id"]) for s in usable], stats,
            same_examples=all(i == ids[0] for i in ids))
        _, sd = mean_sd([float(mine.loc[mine["seed"].astype(str) == str(s), "auc"].iloc[0]) for s in usable])
        rows.append({**row, "auc": auc, "auc_sd": sd, "auc_low": low, "auc_high": high})
    return pd.concat([per_seed, pd.DataFrame(rows)], ignore_index=True)


def predictor(feature_table: pd.DataFrame, labels: np.ndarray, folds: int, threshold: float, seed: int,
              stats: dict) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """(summary row, ROC points, out-of-fold probabilities or nan) of the logistic regression for one student."""
    x = feature_table[list(FEATURES)].to_numpy(dtype=float)
    fit = cross_validated_auc(x, labels, folds, seed)
    row = {"examples": len(labels), "positives": int(np.sum(labels)), "folds": fit["folds"],
           "features": ", ".join(FEATURES), "threshold": threshold, "reason": fit["reason"]}
    if fit["folds"] == 0:
        row.update(auc=np.nan, auc_low=np.nan, auc_high=np.nan, auc_fold_mean=np.nan, auc_fold_sd=np.nan, flagged=0)
        return row, pd.DataFrame(columns=["fpr", "tpr"]), np.full(len(labels), np.nan)
    oof = fit["out_of_fold"]
    auc, low, high = auc_interval(oof, labels, stats)
    mean, sd = mean_sd(fit["fold_aucs"])
    fpr, tpr, _ = roc_curve(labels, oof)
    row.update(auc=auc, auc_low=low, auc_high=high, auc_fold_mean=mean, auc_fold_sd=sd,
               flagged=int((oof >= threshold).sum()), intercept=fit["intercept"],
               **{f"coef_{name}": c for name, c in zip(FEATURES, fit["coefficients"])})
    return row, pd.DataFrame({"fpr": fpr, "tpr": tpr}), oof


def removal_table(scores: dict, flagged: dict, stats: dict) -> pd.DataFrame:
    """Memorized fine-tuning examples of each student before (trained on all) and after (retrained without the
    flagged examples), counted on all fine-tuning examples; change % of after over before with its interval."""
    seeds = sorted({s for s, _ in scores})
    rows = []
    for student in STUDENTS:
        present = [s for s in seeds if (s, f"{student}_removed") in scores]
        if not present:
            continue
        after = [flags(scores, s, f"{student}_removed") for s in present]
        before = [flags(scores, s, student) for s in present]
        part = pd.DataFrame(_change_rows({"student": student}, after, before, present, stats))
        part = part.rename(columns={"count": "memorized_after", "reference_count": "memorized_before"})
        part["flagged"] = [int(flagged[s][student].sum()) for s in present] + (
            [float(np.mean([flagged[s][student].sum() for s in present]))] if len(present) > 1 else [])
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
