import numpy as np
import torch

from memkd.decode import divergence
from memkd.model import build_model
from memkd.predictor import cross_validated_auc, zlib_ratio

from .test_train import PRESET


class Digits:
    """A stand-in tokenizer: characters '0'..'9' are token ids 4..13."""

    def encode(self, texts):
        return [[4 + int(c) for c in text] for text in texts]


def test_kl_of_a_model_with_itself_is_zero_and_with_another_positive():
    torch.manual_seed(0)
    a, b = build_model(PRESET, vocab_size=50, seed=0), build_model(PRESET, vocab_size=50, seed=1)
    sources, targets = ["123", "45678"], ["9876", "12"]
    same = divergence(a, a, Digits(), sources, targets)
    other = divergence(a, b, Digits(), sources, targets)
    assert [n for n, _ in same] == [5, 3]  # target tokens plus </s>
    assert all(abs(kl) < 1e-5 for _, kl in same)
    assert all(kl > 0.01 for _, kl in other)


def test_zlib_ratio_is_lower_for_repetitive_pairs():
    repetitive = zlib_ratio("and and and and and and and and and and", "y y y y y y y y y y y y y y y y")
    varied = zlib_ratio("In the beginning God created the heavens", "En el principio creó Dios los cielos")
    assert 0 < repetitive < varied


def test_a_predictive_feature_gives_a_high_auc_and_a_positive_coefficient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    labels = x[:, 1] + 0.3 * rng.normal(size=400) > 0.5
    result = cross_validated_auc(x, labels, folds=5, seed=1)
    assert result["folds"] == 5 and len(result["fold_aucs"]) == 5
    assert min(result["fold_aucs"]) > 0.9
    assert result["coefficients"][1] > 0 and abs(result["coefficients"][1]) > 3 * abs(result["coefficients"][0])
    assert result["out_of_fold"].shape == (400,)


def test_noise_gives_an_auc_near_one_half():
    rng = np.random.default_rng(1)
    result = cross_validated_auc(rng.normal(size=(600, 4)), rng.random(600) < 0.3, folds=5, seed=1)
    assert 0.35 < np.mean(result["fold_aucs"]) < 0.65


def test_too_few_positives_leave_the_auc_undefined_with_a_reason():
    labels = np.zeros(50, dtype=bool)
    labels[0] = True
    result = cross_validated_auc(np.random.default_rng(0).normal(size=(50, 2)), labels, folds=5, seed=1)
    assert result["folds"] == 0 and result["fold_aucs"] == [] and "1 positive" in result["reason"]


def test_folds_shrink_to_the_minority_class():
    labels = np.zeros(60, dtype=bool)
    labels[:3] = True
    result = cross_validated_auc(np.random.default_rng(0).normal(size=(60, 2)), labels, folds=5, seed=1)
    assert result["folds"] == 3
