"""The memorization predictor: which training pairs will the student replicate, from what is known before
distillation -- the pair's zlib compression ratio, the teacher's and the baseline's log-perplexity of the reference,
and KL(teacher || baseline) per target token. Logistic regression on standardized features (scikit-learn),
stratified k-fold cross-validated ROC AUC, and the coefficients of the model fitted on all pairs."""

from __future__ import annotations

import zlib

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ("zlib_ratio", "teacher_log_ppl", "baseline_log_ppl", "kl_teacher_baseline")


def zlib_ratio(source: str, target: str) -> float:
    """Compressed / raw size of the pair in UTF-8 bytes: low for repetitive, formulaic pairs."""
    raw = f"{source}\t{target}".encode()
    return len(zlib.compress(raw, 9)) / len(raw)


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def cross_validated_auc(features: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> dict:
    """Per-fold ROC AUC, out-of-fold probabilities and the all-pairs coefficients; folds shrink to the minority
    class size, and with fewer than 2 pairs of either class the AUC is undefined (folds 0, reason given)."""
    labels = np.asarray(labels, dtype=bool)
    minority = int(min(labels.sum(), (~labels).sum()))
    k = min(folds, minority)
    if k < 2:
        return {"folds": 0, "fold_aucs": [], "out_of_fold": None, "coefficients": None, "intercept": None,
                "reason": f"{int(labels.sum())} positive and {int((~labels).sum())} negative pairs: too few for CV"}
    out_of_fold = np.zeros(len(labels))
    fold_aucs = []
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(features, labels):
        model = classifier().fit(features[train], labels[train])
        out_of_fold[test] = model.predict_proba(features[test])[:, 1]
        fold_aucs.append(float(roc_auc_score(labels[test], out_of_fold[test])))
    full = classifier().fit(features, labels)
    regression = full[-1]
    return {"folds": k, "fold_aucs": fold_aucs, "out_of_fold": out_of_fold,
            "coefficients": regression.coef_[0].tolist(), "intercept": float(regression.intercept_[0]), "reason": ""}
