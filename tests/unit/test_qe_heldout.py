"""QE models trained outside the study: the held-out sample, the QE-validity set, ROC AUC, quantile bucket edges."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from memkd.errors import InputError
from memkd.metrics.quality import (check_qe_pool, keys_of_rows, method_label, misaligned, outside, pair_table_keys,
                                   qe_training_rows, roc_auc, validity_rows)
from memkd.metrics.subgroups import bucket_labels, quantile_edges, resolve_edges, value_buckets
from memkd.preprocess import subsample


def _train(n: int = 60) -> pd.DataFrame:
    """n training pairs; pairs 0-9 form 5 text groups of two, every 7th pair is flagged misaligned."""
    flags = ["shift,lowoverlap" if i % 14 == 0 else "lowoverlap" if i % 7 == 0 else "-" for i in range(n)]
    groups = [str(i // 2) if i < 10 else str(i) for i in range(n)]
    return pd.DataFrame({"id": [f"v{i}" for i in range(n)], "en": [f"e{i}" for i in range(n)],
                         "es": [f"s{i}" for i in range(n)], "flags": flags, "group": groups})


def _keys(frame: pd.DataFrame, salts=("salt", "other salt", "salt2"), chunk: int = 7) -> dict:
    """pair_table_keys of a frame read in chunks of `chunk` rows."""
    return pair_table_keys((frame.iloc[k:k + chunk] for k in range(0, len(frame), chunk)), salts)


def test_misaligned_reads_the_corpus_check_flags_by_name():
    flags = pd.Series(["-", "shift", "lowoverlap", "shift,lowoverlap", "duplicate", "noshift", ""])
    assert misaligned(flags).tolist() == [False, True, True, True, False, False, False]
    # names only whole, with spaces around them ignored, anywhere in the list; a missing cell is no flag
    flags = pd.Series(["dup, shift", " lowoverlap ,x", "shifted", "x,overlap", "a,b,shift", "lowoverlap2", None])
    assert misaligned(flags).tolist() == [True, True, False, False, True, False, False]


def test_the_qe_sample_shares_no_pair_or_text_group_with_the_study_and_skips_flagged_pairs():
    train = _train()
    keys = _keys(train)
    study = _keys(train.iloc[[0, 3, 20, 21]][["id", "group"]], ())  # pairs 0 and 3 drag in partners 1 and 2
    sample = train.iloc[qe_training_rows(keys, study, 1000, "salt")]
    # everything left, in corpus order: not the study's pairs or their group partners, not flagged
    assert sample.id.tolist() == [f"v{i}" for i in range(60) if i not in {0, 1, 2, 3, 20, 21} and i % 7]
    small = train.iloc[qe_training_rows(keys, study, 10, "salt")]
    assert len(small) == 10 and set(small.id) <= set(sample.id) and small.index.is_monotonic_increasing
    shuffled = train.sample(frac=1, random_state=3)
    assert set(shuffled.id.iloc[qe_training_rows(_keys(shuffled), study, 10, "salt")]) == set(small.id)
    assert small.id.tolist() != train.id.iloc[qe_training_rows(keys, study, 10, "other salt")].tolist()


def test_the_validity_set_holds_every_flagged_pair_the_qe_models_never_saw_and_as_many_unflagged():
    train = _train()
    keys = _keys(train)
    used_rows = qe_training_rows(keys, _keys(train.iloc[[20]], ()), 20, "salt")
    used = train.iloc[used_rows]
    rows, flagged = validity_rows(keys, keys_of_rows(keys, used_rows), "salt2")
    validity = train.iloc[rows]
    assert not set(validity.group) & set(used.group) and validity.index.is_monotonic_increasing
    assert flagged.tolist() == misaligned(validity["flags"]).tolist()
    expected_flagged = train[misaligned(train["flags"]) & ~train.group.isin(used.group) & ~train.id.isin(used.id)]
    assert sorted(validity.id[flagged]) == sorted(expected_flagged.id)
    assert (~flagged).sum() == flagged.sum() == len(expected_flagged) > 0
    none_flagged = _keys(_train().assign(flags="-"))
    assert validity_rows(none_flagged, keys_of_rows(keys, used_rows), "salt2")[0].size == 0


def test_the_digest_selection_equals_the_former_selection_on_strings():
    """The rows chosen on digests and id hashes are those the former pandas code chose on the strings (isin on ids
    and groups, memkd.preprocess.subsample), on random tables with repeated groups and flags."""
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(5, 200))
        train = pd.DataFrame({"id": [f"p{trial}-{i}" for i in range(n)],
                              "flags": rng.choice(["-", "shift", "lowoverlap", "dup"], size=n),
                              "group": rng.integers(0, max(2, n // 2), size=n).astype(str)})
        study = train.sample(n=int(rng.integers(1, n)), random_state=trial).sort_index()
        keys, study_keys = _keys(train, ("a", "b"), chunk=int(rng.integers(1, 50))), _keys(study, ())
        pairs = int(rng.integers(1, n + 5))

        def former_outside(table, used):
            return ~(table.id.isin(used.id) | table.group.isin(used.group))

        former = subsample(train[former_outside(train, study) & ~misaligned(train["flags"])], pairs, "a")
        rows = qe_training_rows(keys, study_keys, pairs, "a")
        assert train.id.iloc[rows].tolist() == former.id.tolist()
        pool = train[former_outside(train, former)]
        positives = pool[misaligned(pool["flags"])]
        negatives = subsample(pool[~misaligned(pool["flags"])], len(positives), "b") if len(positives) else pool.iloc[:0]
        former_validity = pd.concat([positives, negatives]).sort_index()
        validity, flagged = validity_rows(keys, keys_of_rows(keys, rows), "b")
        assert train.id.iloc[validity].tolist() == former_validity.id.tolist()
        assert flagged.tolist() == misaligned(former_validity["flags"]).tolist()


def test_an_empty_pool_stops_with_the_settings_to_change():
    train = _keys(_train(10))
    assert qe_training_rows(train, train, 100, "salt").size == 0
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
