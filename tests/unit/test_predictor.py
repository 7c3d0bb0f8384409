import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold

from memkd.decode import divergence
from memkd.model import build_model
from memkd.predictor import cross_validated_auc, flag_auc, zlib_ratio

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


def test_duplicates_stay_in_one_fold_so_a_copy_cannot_give_its_twin_away():
    # 40 distinct pairs, each twice (same label, same features): every copy lands in the fold of its twin
    rng = np.random.default_rng(3)
    pair_labels = rng.random(40) < 0.5
    groups = np.repeat(np.arange(40), 2)
    labels = pair_labels[groups]
    features = rng.normal(size=(40, 2))[groups]
    result = cross_validated_auc(features, labels, folds=5, seed=1, groups=groups)
    assert result["folds"] == 5
    fold_of = {}
    for fold, (_, test) in enumerate(StratifiedGroupKFold(5, shuffle=True, random_state=1).split(features, labels, groups)):
        for group in groups[test]:
            fold_of.setdefault(group, set()).add(fold)
    assert all(len(folds) == 1 for folds in fold_of.values())
    # twins were predicted by the same fold's model: identical out-of-fold probabilities (different models otherwise)
    out = result["out_of_fold"].reshape(40, 2)
    assert np.allclose(out[:, 0], out[:, 1])
    rows_only = cross_validated_auc(features, labels, folds=5, seed=1)["out_of_fold"].reshape(40, 2)
    assert not np.allclose(rows_only[:, 0], rows_only[:, 1])
    # with only 2 groups of positives, folds shrink to 2 whatever the number of positive rows
    few = np.zeros(80, dtype=bool)
    few[groups < 2] = True
    assert cross_validated_auc(features, few, folds=5, seed=1, groups=groups)["folds"] == 2


def test_the_baseline_flag_reference_auc():
    assert flag_auc([True, True, False, False], [1, 1, 0, 0]) == 1.0
    assert flag_auc([True, False, True, False], [1, 1, 0, 0]) == 0.5
    assert flag_auc([True, True], [1, 0]) is None
