"""Extractable memorization: exact match of the greedy continuation of the prefix, on hand-made arrays and on a
real tiny GPT-2 overfitted to one sequence."""

import numpy as np
import pytest
import torch

from memkd.lm import extraction
from memkd.lm.model import build, greedy
from memkd.lm.train import train

TINY = {"n_embd": 32, "n_layer": 1, "n_head": 2, "dropout": 0.0}


def test_split_and_exact_match_on_hand_made_examples():
    ids = np.array([[5, 6, 1, 2, 3], [5, 6, 1, 2, 4]])
    prefixes, suffixes = extraction.split(ids, 2, 3)
    assert prefixes.tolist() == [[5, 6], [5, 6]]
    generated = np.array([[1, 2, 3], [1, 2, 3]])
    assert extraction.exact_match(generated, suffixes).tolist() == [True, False]
    assert extraction.matched_tokens(generated, suffixes).tolist() == [3, 2]
    assert extraction.matched_tokens(np.array([[9, 2, 3]]), np.array([[1, 2, 3]])).tolist() == [0]


def test_suffix_is_the_next_s_tokens_only():
    ids = np.array([[1, 2, 3, 4, 99]])  # a token after prefix + suffix does not count
    _, suffixes = extraction.split(ids, 2, 2)
    assert suffixes.tolist() == [[3, 4]]


def test_short_examples_and_shape_mismatches_are_refused():
    with pytest.raises(ValueError, match="shorter than prefix"):
        extraction.split(np.zeros((2, 5), dtype=int), 3, 3)
    with pytest.raises(ValueError, match="differ in shape"):
        extraction.exact_match(np.zeros((2, 3)), np.zeros((2, 4)))


def test_greedy_with_cache_equals_argmax_recomputed_from_scratch():
    model = build(TINY, vocab_size=20, n_positions=16, seed=3, eos_id=0).eval()
    prefixes = torch.tensor([[1, 2, 3], [4, 5, 6]])
    cached = greedy(model, prefixes, 5)
    sequence = prefixes
    with torch.no_grad():
        for _ in range(5):
            sequence = torch.cat([sequence, model(sequence).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(cached, sequence[:, 3:])


def test_an_overfitted_sequence_is_memorized_and_a_changed_suffix_is_not():
    memorized_seq = np.array([[3, 9, 4, 7, 11, 5, 8, 2]])
    model = build(TINY, vocab_size=16, n_positions=8, seed=1, eos_id=0)
    train(model, np.repeat(memorized_seq, 8, axis=0),
          {"epochs": 60, "batch_size": 8, "lr": 1e-2, "warmup_steps": 1, "weight_decay": 0.0, "clip_norm": 1.0}, seed=1)
    other = memorized_seq.copy()
    other[0, 6] = 13  # same prefix, a suffix the model never saw
    flags, matched = extraction.memorized(model, np.vstack([memorized_seq, other]), 4, 4, batch_size=2)
    assert flags.tolist() == [True, False]
    assert matched.tolist() == [4, 2]
