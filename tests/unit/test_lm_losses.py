"""The LM track's causal losses on hand-computed cases."""

import math

import pytest
import torch

from memkd.lm.losses import causal_ce, per_example_kl, per_example_nll, soft_kd_loss


def logits(*rows):
    """(1, positions, vocab) logits from per-position lists."""
    return torch.tensor([rows], dtype=torch.float32)


def test_soft_kd_matches_hand_computed_kl_at_temperature_two():
    # teacher uniform; student logits [2 ln 3, 0] / T=2 -> p_S = [3/4, 1/4];
    # KL(p_T || p_S) = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3), times T^2 = 4
    teacher = logits([0.0, 0.0], [9.0, -9.0])  # the last position predicts nothing: it must be ignored
    student = logits([2 * math.log(3), 0.0], [-9.0, 9.0])
    assert soft_kd_loss(student, teacher, 2.0).item() == pytest.approx(2 * math.log(4 / 3), rel=1e-5)


def test_soft_kd_is_forward_kl_not_reverse():
    teacher, student = logits([0.0, 0.0], [0.0, 0.0]), logits([2 * math.log(3), 0.0], [0.0, 0.0])
    reverse = 4 * (0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5))  # KL(p_S || p_T) * T^2
    loss = soft_kd_loss(student, teacher, 2.0).item()
    assert loss == pytest.approx(2 * math.log(4 / 3), rel=1e-5)
    assert loss != pytest.approx(reverse, rel=1e-3)


def test_soft_kd_is_zero_for_identical_logits_and_positive_otherwise():
    torch.manual_seed(0)
    a = torch.randn(2, 5, 7)
    assert soft_kd_loss(a, a.clone(), 2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_kd_loss(a, torch.randn(2, 5, 7), 2.0).item() > 0


def test_soft_kd_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        soft_kd_loss(torch.zeros(1, 3, 4), torch.zeros(1, 3, 5), 2.0)


def test_causal_ce_of_uniform_logits_is_log_vocab_and_shifts_by_one():
    ids = torch.tensor([[0, 1, 2]])
    assert causal_ce(torch.zeros(1, 3, 5), ids).item() == pytest.approx(math.log(5))
    # position t predicts token t + 1: put all mass on the next token and the loss vanishes
    sharp = torch.full((1, 3, 5), -30.0)
    sharp[0, 0, 1] = sharp[0, 1, 2] = 30.0
    assert causal_ce(sharp, ids).item() == pytest.approx(0.0, abs=1e-6)


def test_per_example_nll_and_kl():
    ids = torch.tensor([[0, 1, 2], [3, 3, 3]])
    nll = per_example_nll(torch.zeros(2, 3, 4), ids)
    assert nll.tolist() == pytest.approx([math.log(4)] * 2)
    p, q = logits([0.0, 0.0], [5.0, 5.0]), logits([math.log(3), 0.0], [1.0, 1.0])
    # KL(uniform || [3/4, 1/4]) = 1/2 ln(4/3) at temperature 1; the last position is ignored
    assert per_example_kl(p, q).item() == pytest.approx(0.5 * math.log(4 / 3), rel=1e-5)
