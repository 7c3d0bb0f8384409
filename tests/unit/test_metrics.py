"""Each memorization rule at its edges, on hand-made cases."""

import math

import numpy as np
import pytest

from memkd.metrics.counterfactual import (
    balanced_design,
    counterfactual_memorization,
    duplicate_groups,
    geometric_mean_probability,
)
from memkd.metrics.extractive import is_candidate, prefixes, shortest_memorized_prefix
from memkd.metrics.natural import natural_hallucinations, shared_outputs, unique_pair_units
from memkd.metrics.oscillation import basic_tokens, is_oscillatory, top_bigram_count
from memkd.metrics.replication import exact_matches


def test_exact_match_ignores_surrounding_whitespace_only():
    assert exact_matches([" a b ", "a  b", "A b"], ["a b", "a b", "a b"]) == [True, False, False]
    with pytest.raises(ValueError):
        exact_matches(["a"], [])


def test_extractive_candidate_filter():
    assert is_candidate("one two three four", "uno dos tres cuatro", True)
    assert not is_candidate("one two three", "uno dos tres", True)  # under 4 tokens
    assert not is_candidate("one two three four", "uno dos tres cuatro", False)  # language ID failed
    assert not is_candidate("a b c d", "a b c d", True)  # source == target
    assert is_candidate("a b c d e f g h i j k l m", "1 2 3 4 5 6 7 8 9 10", True)  # 13/10 = 1.3 exactly
    assert not is_candidate("a b c d e f g h i j k l m n", "1 2 3 4 5 6 7 8 9 10", True)  # 1.4


def test_prefixes_are_1_to_n_minus_2_tokens():
    assert prefixes("a b c d e") == ["a", "a b", "a b c"]


def test_prefix_at_exactly_75_percent_counts_and_beyond_does_not():
    source = "w1 w2 w3 w4 w5 w6 w7 w8"  # n = 8: prefixes 1..6; 6/8 = 0.75
    outputs = ["x"] * 5 + ["FULL"]
    assert shortest_memorized_prefix(source, "FULL", outputs) == 6
    source9 = "w1 w2 w3 w4 w5 w6 w7 w8 w9"  # n = 9: 7/9 > 0.75 is too long
    outputs9 = ["x"] * 6 + ["FULL"]
    assert shortest_memorized_prefix(source9, "FULL", outputs9) is None
    assert shortest_memorized_prefix(source, "FULL", ["FULL"] + ["x"] * 5) == 1
    with pytest.raises(ValueError):
        shortest_memorized_prefix(source, "FULL", ["x"])


def test_basic_tokens_lowercase_strip_accents_split_punctuation():
    assert basic_tokens("¡Él dijo: «Sí»!") == ["¡", "el", "dijo", ":", "«", "si", "»", "!"]


def test_oscillation_bigram_count_10_is_not_11_is():
    source = "the house of the king"
    ten = "x " + " ".join(["a b"] * 10)  # bigram (a, b) occurs 10 times
    eleven = "x " + " ".join(["a b"] * 11)
    assert top_bigram_count(basic_tokens(ten)) == 10
    assert is_oscillatory(source, ten) is False
    assert is_oscillatory(source, eleven) is True


def test_oscillation_needs_an_excess_over_the_source():
    eleven = " ".join(["a b"] * 11)
    source_with_7 = " ".join(["a b"] * 7)  # 11 - 7 = 4: not more than 4
    source_with_6 = " ".join(["a b"] * 6)
    assert is_oscillatory(source_with_7, eleven) is False
    assert is_oscillatory(source_with_6, eleven) is True


def test_oscillation_skips_short_and_long_sources():
    eleven = " ".join(["a b"] * 11)
    assert is_oscillatory("", eleven) is None
    assert is_oscillatory("word", eleven) is None
    assert is_oscillatory(" ".join(["w"] * 50), eleven) is None
    assert is_oscillatory(" ".join(f"w{i}" for i in range(49)), eleven) is True
    # fewer than 2 whitespace tokens on either side: skipped before tokenizing ("Amen." has 2 basic tokens)
    assert is_oscillatory("Amen.", eleven) is None
    assert is_oscillatory("w1 w2", "a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b,a,b") is None


def test_natural_hallucination_needs_five_distinct_sources_and_low_quality():
    sources = ["s1", "s2", "s3", "s4", "s5", "s5", "t1", "t2", "t3", "t4"]
    outputs = ["SAME"] * 6 + ["OTHER"] * 4
    quality = [0.1] * 10
    flags = natural_hallucinations(sources, outputs, quality)
    assert flags == [True] * 6 + [False] * 4  # SAME: exactly 5 distinct sources; OTHER: 4
    high = natural_hallucinations(sources, outputs, [0.9] * 10)
    assert not any(high)
    at_threshold = natural_hallucinations(sources, outputs, [0.85] * 10)
    assert not any(at_threshold)  # below the threshold, not at it


def test_balanced_design_every_example_in_for_exactly_half():
    design = balanced_design(n_examples=101, n_models=8, seed=3)
    assert design.shape == (8, 101)
    assert (design.sum(0) == 4).all()
    assert set(design.sum(1)) <= {50, 51}  # every model on floor(N/2) or ceil(N/2) pairs
    assert (balanced_design(101, 8, 3) == design).all()
    assert not (balanced_design(101, 8, 4) == design).all()
    # the halves differ between complementary pairs of models
    assert len({design[m].tobytes() for m in range(0, 8, 2)}) == 4
    with pytest.raises(ValueError):
        balanced_design(10, 7, 0)


def test_balanced_design_keeps_duplicate_groups_together_and_balances_pairs():
    # 30 singletons, three pairs repeated 5 times, two repeated 20 times: 85 examples
    groups = list(range(30)) + [g for g in (100, 101, 102) for _ in range(5)] + [g for g in (200, 201) for _ in range(20)]
    design = balanced_design(len(groups), 6, seed=1, groups=groups)
    assert (design.sum(0) == 3).all()
    assert set(design.sum(1)) <= {42, 43}
    labels = np.array(groups)
    for group in set(groups):
        columns = design[:, labels == group]
        assert (columns == columns[:, :1]).all(), group  # all copies IN or all OUT, model by model
    with pytest.raises(ValueError, match="group labels"):
        balanced_design(5, 2, 0, groups=[1, 2])


def test_duplicate_groups_join_identical_pairs_and_preprocessing_groups():
    sources = ["a", "b", "a", "c", "d"]
    targets = ["x", "y", "x", "z", "w"]
    labels = duplicate_groups(sources, targets)
    assert labels[0] == labels[2] and len(set(labels)) == 4
    # preprocessing groups join c and d (they share a text elsewhere in the corpus)
    joined = duplicate_groups(sources, targets, groups=[0, 1, 0, 7, 7])
    assert joined[3] == joined[4] and joined[0] == joined[2] and len(set(joined)) == 3


def test_counterfactual_memorization_by_hand():
    design = np.array([[True, False], [True, True], [False, False], [False, True]])
    p = np.array([[0.9, 0.1], [0.7, 0.6], [0.2, 0.3], [0.4, 0.8]])
    in_mean, out_mean, cm = counterfactual_memorization(p, design)
    assert np.allclose(in_mean, [0.8, 0.7]) and np.allclose(out_mean, [0.3, 0.2]) and np.allclose(cm, [0.5, 0.5])
    with pytest.raises(ValueError, match="shape"):
        counterfactual_memorization(p[:3], design)


def test_geometric_mean_and_the_papers_base_2_quirk():
    assert math.isclose(geometric_mean_probability(math.log(0.25) * 2, 2), 0.25)
    assert math.isclose(geometric_mean_probability(math.log(0.25) * 2, 2, base=2), 2 ** math.log(0.25))


def test_natural_hallucination_units_are_unique_non_empty_pairs():
    sources = ["a", "a", "b", "c", " a "]
    outputs = ["x", "x", "", "x", "x"]
    # the repeated (a, x) counts once (also with surrounding spaces); an empty output is no unit
    assert unique_pair_units(sources, outputs) == [True, False, False, True, False]


def test_natural_counts_by_codes_equal_counting_by_sets_of_texts():
    """shared_outputs / unique_pair_units count through integer codes (millions of pairs); the plain definition
    with sets of stripped texts gives the same flags on a corpus full of repeats, blanks and padded texts."""
    rng = np.random.default_rng(5)
    sources = [f"{' ' * rng.integers(2)}s{rng.integers(40)}" for _ in range(3000)]
    outputs = [rng.choice(["", " ", f"o{rng.integers(300)}", f" o{rng.integers(300)} "]) for _ in range(3000)]
    per_output: dict[str, set[str]] = {}
    for source, output in zip(sources, outputs):
        per_output.setdefault(output.strip(), set()).add(source.strip())
    assert shared_outputs(sources, outputs, 5) == [len(per_output[o.strip()]) >= 5 for o in outputs]
    assert any(shared_outputs(sources, outputs, 5)) and not all(shared_outputs(sources, outputs, 5))
    seen, units = set(), []
    for source, output in zip(sources, outputs):
        key = (source.strip(), output.strip())
        units.append(bool(key[1]) and key not in seen)
        seen.add(key)
    assert unique_pair_units(sources, outputs) == units
    assert shared_outputs([], []) == [] and unique_pair_units([], []) == []
