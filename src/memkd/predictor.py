"""The memorization predictor: which training pairs will the student replicate, from what is known before
distillation -- the pair's zlib compression ratio, the teacher's and the baseline's log-perplexity of the reference,
and KL(teacher || baseline) summed over the target tokens (STUDY.md). Logistic regression on standardized features
(scikit-learn), stratified k-fold cross-validated ROC AUC with duplicate pairs kept in one fold (else a copy in the
training folds gives its twin in the test fold away), and the coefficients of the model fitted on all pairs."""

from __future__ import annotations

import zlib

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ("zlib_ratio", "teacher_log_ppl", "baseline_log_ppl", "kl_teacher_baseline")


def zlib_ratio(source: str, target: str) -> float:
    """Compressed / raw size of the pair in UTF-8 bytes: low for repetitive, formulaic pairs."""
    raw = f"{source}\t{target}".encode()
    return len(zlib.compress(raw, 9)) / len(raw)


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def cross_validated_auc(features: np.ndarray, labels: np.ndarray, folds: int, seed: int, groups=None) -> dict:
    """Per-fold ROC AUC, out-of-fold probabilities and the all-pairs coefficients. `groups` (one label per pair,
    e.g. duplicate groups) keeps each group inside one fold. Folds shrink to the number of groups holding the
    minority class; with fewer than 2 such groups the AUC is undefined (folds 0, reason given). A fold whose test
    part holds one class only has no AUC and is left out of the fold AUCs."""
    labels = np.asarray(labels, dtype=bool)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    minority = min(len(np.unique(groups[labels])), len(np.unique(groups[~labels])))
    k = min(folds, minority)
    if k < 2:
        return {"folds": 0, "fold_aucs": [], "out_of_fold": None, "coefficients": None, "intercept": None,
                "reason": f"{int(labels.sum())} positive and {int((~labels).sum())} negative pairs "
                          f"({minority} groups of the rarer class): too few for CV"}
    out_of_fold = np.zeros(len(labels))
    fold_aucs = []
    splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels, groups):
        model = classifier().fit(features[train], labels[train])
        out_of_fold[test] = model.predict_proba(features[test])[:, 1]
        if labels[test].any() and not labels[test].all():
            fold_aucs.append(float(roc_auc_score(labels[test], out_of_fold[test])))
    full = classifier().fit(features, labels)
    regression = full[-1]
    return {"folds": k, "fold_aucs": fold_aucs, "out_of_fold": out_of_fold,
            "coefficients": regression.coef_[0].tolist(), "intercept": float(regression.intercept_[0]), "reason": ""}


def flag_auc(labels, flag) -> float | None:
    """ROC AUC of a 0/1 flag used as the score (e.g. "the baseline replicates this pair" as a predictor of the
    student doing so): the reference the features must beat. None when labels hold one class only."""
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, np.asarray(flag, dtype=float)))
