"""QE models trained outside the study: the held-out sample, the QE-validity set, ROC AUC, quantile bucket edges."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from memkd.errors import InputError
from memkd.metrics.quality import (check_qe_pool, method_label, misaligned, outside, qe_training_sample, roc_auc,
                                   validity_set)
from memkd.metrics.subgroups import bucket_labels, quantile_edges, resolve_edges, value_buckets


def _train(n: int = 60) -> pd.DataFrame:
    """n training pairs; pairs 0-9 form 5 text groups of two, every 7th pair is flagged misaligned."""
    flags = ["shift,lowoverlap" if i % 14 == 0 else "lowoverlap" if i % 7 == 0 else "-" for i in range(n)]
    groups = [str(i // 2) if i < 10 else str(i) for i in range(n)]
    return pd.DataFrame({"id": [f"v{i}" for i in range(n)], "en": [f"e{i}" for i in range(n)],
                         "es": [f"s{i}" for i in range(n)], "flags": flags, "group": groups})


def test_misaligned_reads_the_corpus_check_flags_by_name():
    flags = pd.Series(["-", "shift", "lowoverlap", "shift,lowoverlap", "duplicate", "noshift", ""])
    assert misaligned(flags).tolist() == [False, True, True, True, False, False, False]
    # names only whole, with spaces around them ignored, anywhere in the list; a missing cell is no flag
    flags = pd.Series(["dup, shift", " lowoverlap ,x", "shifted", "x,overlap", "a,b,shift", "lowoverlap2", None])
    assert misaligned(flags).tolist() == [True, True, False, False, True, False, False]


def test_the_qe_sample_shares_no_pair_or_text_group_with_the_study_and_skips_flagged_pairs():
    train = _train()
    study = train.iloc[[0, 3, 20, 21]]  # pairs 0 and 3 drag in their group partners 1 and 2
    sample = qe_training_sample(train, study, 1000, "salt")
    assert not set(sample.id) & {"v0", "v1", "v2", "v3", "v20", "v21"}
    assert not set(sample.group) & set(study.group)
    assert not misaligned(sample["flags"]).any()
    expected = train[outside(train, study) & ~misaligned(train["flags"])]
    assert sample.id.tolist() == expected.id.tolist()  # everything left, in corpus order
    small = qe_training_sample(train, study, 10, "salt")
    assert len(small) == 10 and set(small.id) <= set(sample.id)
    assert small.id.tolist() == qe_training_sample(train.sample(frac=1, random_state=3), study, 10, "salt").id.tolist()
    assert small.id.tolist() != qe_training_sample(train, study, 10, "other salt").id.tolist()


def test_the_validity_set_holds_every_flagged_pair_the_qe_models_never_saw_and_as_many_unflagged():
    train = _train()
    used = qe_training_sample(train, train.iloc[[20]], 20, "salt")
    validity = validity_set(train, used, "salt2")
    assert not set(validity.group) & set(used.group)
    flagged = train[misaligned(train["flags"]) & outside(train, used)]
    assert sorted(validity.id[validity.misaligned]) == sorted(flagged.id)
    assert (~validity.misaligned).sum() == validity.misaligned.sum() == len(flagged) > 0
    assert not misaligned(validity["flags"][~validity.misaligned]).any()
    none_flagged = _train().assign(flags="-")
    assert validity_set(none_flagged, used, "salt2").empty


def test_an_empty_pool_stops_with_the_settings_to_change():
    train = _train(10)
    assert qe_training_sample(train, train, 100, "salt").empty
    with pytest.raises(InputError, match="study.max_pairs.*quality_estimation.models: teachers"):
        check_qe_pool(0, 100, 10, 10)
    check_qe_pool(1, 100, 9, 10)


def test_roc_auc_on_hand_made_scores():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75  # 3 of 4 pairs ordered right
    assert roc_auc([1, 2, 3], [False, True, True]) == 1.0
    assert roc_auc([3, 2, 1], [False, True, True]) == 0.0
    assert roc_auc([1, 1, 1, 1], [False, True, False, True]) == 0.5  # ties count one half
    assert roc_auc([1, 2, 2, 3], [False, False, True, True]) == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert np.isnan(roc_auc([1, 2], [True, True]))
    rng = np.random.default_rng(1)
    scores, labels = rng.integers(0, 5, 200).astype(float), rng.random(200) < 0.3
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    with pytest.raises(ValueError, match="2 scores for 3 labels"):
        roc_auc([1, 2], [True, False, True])


def test_the_method_label_says_which_models():
    assert method_label("dual_xent", "heldout", 2000) == "dual_xent(qe models, 2000 held-out pairs)"
    assert method_label("dual_xent", "teachers", directions=("en-es", "es-en")) == (
        "dual_xent(teacher en-es, teacher es-en, in-sample)")
    assert method_label("cometkiwi", "heldout", cometkiwi_model="m") == "cometkiwi(m)"


def test_quantile_edges_cut_equal_shares_and_numbers_pass_through():
    values = np.arange(1, 101, dtype=float) / 1000
    edges = quantile_edges(values)
    assert edges == [0.0208, 0.0406, 0.0604, 0.0802]
    counts = pd.Series(value_buckets(values, edges)).value_counts()
    assert (counts == 20).all() and len(counts) == 5
    assert quantile_edges([0.1] * 9 + [0.5, float("nan")]) == [0.1]  # ties merge buckets, NaN ignored
    assert resolve_edges("quantiles", values) == edges
    assert resolve_edges([0.2, 0.4], values) == [0.2, 0.4]
    with pytest.raises(ValueError, match="'quantiles'"):
        resolve_edges("quartiles", values)
    with pytest.raises(ValueError, match="finite"):
        quantile_edges([float("nan")])


def test_the_memorization_map_colours_by_quintiles_of_the_pairs_qe():
    from memkd import plots

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"corpus": "bible", "direction": np.repeat(["en-es", "es-en"], 50), "seed": 1,
                          "id": [str(i) for i in range(50)] * 2, "p_in": rng.uniform(size=100),
                          "p_out": rng.uniform(size=100), "qe": rng.uniform(0, 0.02, 100), "cm_models": 4,
                          "score": "geometric mean", "qe_method": "dual_xent(qe models, 300 held-out pairs)"})
    table["cm"] = table.p_in - table.p_out
    figure = plots.memorization_map(table, "quantiles")
    edges = quantile_edges(table.qe)
    for ax in figure.axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [label.split(" (")[0] for label in labels] == [f"QE {bucket}" for bucket in bucket_labels(edges)]
    counts = [int(t.get_text().rsplit("(", 1)[1].rstrip(")")) for ax in figure.axes for t in ax.get_legend().get_texts()]
    assert sum(counts) == 100 and len(counts) == 10
