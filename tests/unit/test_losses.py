import math

import pytest
import torch
import torch.nn.functional as F

from memkd.data import IGNORE_INDEX
from memkd.losses import label_smoothed_loss, self_evolution_kd_loss, word_kd_loss

# Hand-made example: one sentence of 2 target tokens over 3 classes.
STUDENT = [[1.0, 2.0, 0.5], [0.2, -1.0, 1.5]]
TEACHER = [[2.0, 0.0, 1.0], [-0.5, 0.5, 3.0]]
LABELS = [1, 2]


def _softmax(z, tau=1.0):
    e = [math.exp(v / tau) for v in z]
    return [v / sum(e) for v in e]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def _tensors(student=STUDENT, teacher=TEACHER, labels=LABELS):
    return torch.tensor([student]), torch.tensor([teacher]), torch.tensor([labels])


def _random_batch(seed=0, batch=2, length=6, vocab=5):
    g = torch.Generator().manual_seed(seed)
    student = torch.randn(batch, length, vocab, generator=g) * 2
    teacher = torch.randn(batch, length, vocab, generator=g) * 2
    labels = torch.randint(0, vocab, (batch, length), generator=g)
    return student, teacher, labels


# ---------------------------------------------------------------- Word-KD


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_word_kd_with_alpha_zero_is_the_label_loss(smoothing):
    student, teacher, labels = _random_batch()
    loss, n = word_kd_loss(student, teacher, labels, alpha=0.0, temperature=2.0, smoothing=smoothing)
    expected = F.cross_entropy(student.view(-1, 5), labels.view(-1), label_smoothing=smoothing, reduction="sum")
    assert n == labels.numel()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_word_kd_with_a_one_hot_teacher_and_alpha_one_is_the_label_cross_entropy():
    student, _, labels = _random_batch()
    teacher = F.one_hot(labels, 5).float() * 1e4
    loss, _ = word_kd_loss(student, teacher, labels, alpha=1.0)
    expected = F.cross_entropy(student.view(-1, 5), labels.view(-1), reduction="sum")
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("tau", [1.0, 2.0])
def test_word_kd_matches_a_hand_computation(tau):
    alpha = 0.5
    nll = sum(-math.log(_softmax(s)[y]) for s, y in zip(STUDENT, LABELS))  # the label term never uses tau
    soft = sum(
        -sum(pt * math.log(ps) for pt, ps in zip(_softmax(t, tau), _softmax(s, tau)))
        for s, t in zip(STUDENT, TEACHER)
    )
    expected = (1 - alpha) * nll + alpha * tau**2 * soft
    loss, n = word_kd_loss(*_tensors(), alpha=alpha, temperature=tau)
    assert n == 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_word_kd_hand_numbers_pin_the_temperature_scaling():
    # The two temperatures must give different numbers: a lost tau^2 or tau would show here.
    at_1, _ = word_kd_loss(*_tensors(), alpha=0.5, temperature=1.0)
    at_2, _ = word_kd_loss(*_tensors(), alpha=0.5, temperature=2.0)
    assert abs(at_1.item() - at_2.item()) > 0.1


def test_word_kd_ignores_padding_positions():
    student, teacher, labels = _random_batch()
    labels[0, 4:] = IGNORE_INDEX
    labels[1, 5:] = IGNORE_INDEX
    loss, n = word_kd_loss(student, teacher, labels, alpha=0.5, temperature=2.0, smoothing=0.1)
    padding = labels == IGNORE_INDEX
    student2, teacher2 = student.clone(), teacher.clone()
    student2[padding] = torch.tensor([50.0, -30.0, 7.0, 0.0, 1e3])
    teacher2[padding] = torch.tensor([-1e3, 40.0, 2.0, 9.0, 0.0])
    loss2, n2 = word_kd_loss(student2, teacher2, labels, alpha=0.5, temperature=2.0, smoothing=0.1)
    assert n == n2 == 12 - 3
    assert loss2.item() == pytest.approx(loss.item(), rel=1e-6)


def test_word_kd_gives_the_teacher_no_gradient():
    student, teacher, labels = _random_batch()
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss, _ = word_kd_loss(student, teacher, labels, alpha=0.5, temperature=2.0)
    loss.backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_word_kd_rejects_mismatched_vocabularies():
    student, teacher, labels = _random_batch()
    with pytest.raises(ValueError, match="share a vocabulary"):
        word_kd_loss(student, teacher[..., :4], labels, alpha=0.5)


# ---------------------------------------------------------------- Self-Evolution KD (reconstruction)


def test_self_evolution_with_only_easy_tokens_is_kl_teacher_student():
    expected = sum(_kl(_softmax(t), _softmax(s)) for s, t in zip(STUDENT, TEACHER))
    loss, n, share = self_evolution_kd_loss(*_tensors(), prior_weight=1.0, difficulty_threshold=1e9, max_difficulty=1.0)
    assert (n, share) == (2, 0.0)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_self_evolution_easy_tokens_keep_the_exact_student_log_probabilities():
    # p_S(1) = e^-200 underflows in fp32; an easy token must still be scored with log p_S(1) ~ -200, not the floor.
    student, teacher = [0.0, -200.0, 0.0], [0.0, 0.0, 0.0]
    log_s = [z - math.log(2 + math.exp(-200.0)) for z in student]
    expected = sum(p * (math.log(p) - ls) for p, ls in zip(_softmax(teacher), log_s))
    loss, _, share = self_evolution_kd_loss(*_tensors([student], [teacher], [0]), prior_weight=1.0,
                                            difficulty_threshold=1e9, max_difficulty=1.0)
    assert share == 0.0
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def _prior(t, y, b):
    return [b * (k == y) + (1 - b) * p for k, p in enumerate(_softmax(t))]


def _difficulties(b):
    return [_kl(_prior(t, y, b), _softmax(s)) for s, t, y in zip(STUDENT, TEACHER, LABELS)]


def test_self_evolution_fully_replaced_hard_token_is_kl_teacher_prior():
    b = 0.5
    d = _difficulties(b)
    assert d[1] > d[0]  # the example's second token is the harder one; put the threshold between them
    tau = (d[0] + d[1]) / 2
    easy = _kl(_softmax(TEACHER[0]), _softmax(STUDENT[0]))
    hard = _kl(_softmax(TEACHER[1]), _prior(TEACHER[1], LABELS[1], b))  # l_t = 1: the proxy is the prior
    loss, n, share = self_evolution_kd_loss(*_tensors(), prior_weight=b, difficulty_threshold=tau,
                                            max_difficulty=d[1] / 3)
    assert (n, share) == (2, 0.5)
    assert loss.item() == pytest.approx(easy + hard, rel=1e-6)


def test_self_evolution_partial_proxy_mixes_student_and_prior():
    b = 0.7
    d = _difficulties(b)
    max_difficulty = 4 * max(d)  # 0 < l_t <= 0.25; the threshold 0 makes both tokens hard
    expected = 0.0
    for s, t, y, d_t in zip(STUDENT, TEACHER, LABELS, d):
        l_t = min(1.0, d_t / max_difficulty)
        proxy = [(1 - l_t) * ps + l_t * q for ps, q in zip(_softmax(s), _prior(t, y, b))]
        expected += _kl(_softmax(t), proxy)
    loss, _, share = self_evolution_kd_loss(*_tensors(), prior_weight=b, difficulty_threshold=0.0,
                                            max_difficulty=max_difficulty)
    assert share == 1.0
    assert loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("quantile, share", [("q0.8", 0.2), ("q0.5", 0.5), ("q0.0", 0.9)])
def test_self_evolution_quantile_threshold_marks_the_expected_share(quantile, share):
    student, teacher, labels = _random_batch(seed=1, batch=2, length=6)
    labels[1, 4:] = IGNORE_INDEX  # 10 target tokens; a quantile over padding as well would shift the share
    # q0.0 is the minimum difficulty: every token but the easiest (distinct difficulties) is hard.
    _, n, got = self_evolution_kd_loss(student, teacher, labels, prior_weight=0.5, difficulty_threshold=quantile,
                                       max_difficulty=10.0)
    assert n == 10
    assert got == pytest.approx(share)


@pytest.mark.parametrize("bad", ["0.8", "qx", "q1.5"])
def test_self_evolution_rejects_malformed_thresholds(bad):
    with pytest.raises(ValueError, match="difficulty threshold"):
        self_evolution_kd_loss(*_tensors(), prior_weight=0.5, difficulty_threshold=bad, max_difficulty=1.0)


def test_self_evolution_one_hot_prior_gives_no_nan():
    student, teacher, labels = _random_batch(seed=2)
    student[0, 0] = torch.tensor([1e4, -1e4, 0.0, 0.0, 0.0])  # p_S with exact zeros
    student.requires_grad_(True)
    # b = 1 and l_t = 1 everywhere: the proxy is the one-hot prior, zero where the teacher still has mass.
    loss, _, share = self_evolution_kd_loss(student, teacher, labels, prior_weight=1.0, difficulty_threshold=0.0,
                                            max_difficulty=1e-6, nll_weight=1.0)
    loss.backward()
    assert share == 1.0
    assert torch.isfinite(loss)
    assert torch.isfinite(student.grad).all()


def test_self_evolution_gradient_reaches_the_student_only():
    student, teacher, labels = _random_batch(seed=3)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss, _, _ = self_evolution_kd_loss(student, teacher, labels, prior_weight=0.5, difficulty_threshold="q0.5",
                                        max_difficulty=100.0)
    loss.backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_self_evolution_nll_weight_adds_the_label_loss():
    student, teacher, labels = _random_batch(seed=4)
    settings = dict(prior_weight=0.5, difficulty_threshold="q0.5", max_difficulty=5.0)
    without, _, _ = self_evolution_kd_loss(student, teacher, labels, **settings)
    with_nll, _, _ = self_evolution_kd_loss(student, teacher, labels, nll_weight=0.3, **settings)
    nll = F.cross_entropy(student.view(-1, 5), labels.view(-1), reduction="sum")
    assert (with_nll - without).item() == pytest.approx(0.3 * nll.item(), rel=1e-5)


def _proxy_kl(student, teacher, y, b, l_t):
    proxy = [(1 - l_t) * ps + l_t * q for ps, q in zip(_softmax(student), _prior(teacher, y, b))]
    return _kl(_softmax(teacher), proxy)


@pytest.mark.parametrize("cap", [0.0, 0.3, 0.8, 1.0])
def test_self_evolution_proxy_weight_is_capped(cap):
    b = 0.5
    d = _difficulties(b)
    # Both tokens hard with d_t / d_max >= 10: uncapped l_t would be 1 for both; the cap sets l_t = cap.
    expected = sum(_proxy_kl(s, t, y, b, cap) for s, t, y in zip(STUDENT, TEACHER, LABELS))
    loss, _, share = self_evolution_kd_loss(*_tensors(), prior_weight=b, difficulty_threshold=0.0,
                                            max_difficulty=min(d) / 10, max_proxy_weight=cap)
    assert share == 1.0
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_self_evolution_cap_zero_is_kl_teacher_student_even_for_hard_tokens():
    expected = sum(_kl(_softmax(t), _softmax(s)) for s, t in zip(STUDENT, TEACHER))
    loss, _, share = self_evolution_kd_loss(*_tensors(), prior_weight=0.5, difficulty_threshold=0.0,
                                            max_difficulty=1e-6, max_proxy_weight=0.0)
    assert share == 1.0
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def _student_gradient(student, teacher, y, **settings):
    logits = torch.tensor([[student]], requires_grad=True)
    loss, _, share = self_evolution_kd_loss(logits, torch.tensor([[teacher]]), torch.tensor([[y]]),
                                            difficulty_threshold=0.0, **settings)
    loss.backward()
    assert share == 1.0
    return logits.grad[0, 0]


def test_self_evolution_saturated_hard_token_learns_only_below_the_cap():
    # A very hard token (d_t far above d_max): l_t = 1 leaves the KL term without any gradient; a cap keeps one.
    student, teacher = [3.0, -2.0, 0.0], [-1.0, 2.0, 0.5]
    settings = dict(prior_weight=0.5, max_difficulty=1e-3)
    saturated = _student_gradient(student, teacher, 1, max_proxy_weight=1.0, **settings)
    capped = _student_gradient(student, teacher, 1, max_proxy_weight=0.5, **settings)
    assert saturated.abs().max() < 1e-6
    assert capped.abs().max() > 1e-2
    assert capped[1] < 0  # descent raises the reference, which the teacher prefers here too


def test_self_evolution_proxy_is_stationary_below_the_teacher_on_the_reference():
    # Why the uncapped reconstruction without NLL stops replicating: KL(p_T || (1 - l) p_S + l q) is minimal at
    # p_S = (p_T - l q) / (1 - l), which gives the reference token less than the teacher does (here 0.4 < 0.6, and
    # another token more: the argmax flips).
    b, l_t, y = 0.5, 0.5, 0
    p_t = [0.6, 0.3, 0.1]
    q = [b * (k == y) + (1 - b) * p for k, p in enumerate(p_t)]
    p_star = [(p - l_t * qk) / (1 - l_t) for p, qk in zip(p_t, q)]
    assert p_star == pytest.approx([0.4, 0.45, 0.15])
    teacher = [math.log(p) for p in p_t]
    settings = dict(prior_weight=b, max_difficulty=1e-6, max_proxy_weight=l_t)
    at_optimum = _student_gradient([math.log(p) for p in p_star], teacher, y, **settings)
    assert at_optimum.abs().max() < 1e-5
    at_teacher = _student_gradient(teacher, teacher, y, **settings)
    assert at_teacher[y] > 1e-2  # matching the teacher is not a fixed point: descent lowers the reference
    # The NLL term (weight 1) outweighs that pull at the teacher's distribution: descent raises the reference.
    with_nll = _student_gradient(teacher, teacher, y, nll_weight=1.0, **settings)
    assert with_nll[y] < -1e-2


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_self_evolution_rejects_a_cap_outside_0_1(bad):
    with pytest.raises(ValueError, match="max_proxy_weight"):
        self_evolution_kd_loss(*_tensors(), prior_weight=0.5, difficulty_threshold=0.0, max_difficulty=1.0,
                               max_proxy_weight=bad)


def test_self_evolution_all_padding_gives_zero():
    student, teacher, labels = _random_batch()
    labels[:] = IGNORE_INDEX
    loss, n, share = self_evolution_kd_loss(student, teacher, labels, prior_weight=0.5, difficulty_threshold="q0.8",
                                            max_difficulty=1.0)
    assert (loss.item(), n, share) == (0.0, 0, 0.0)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothed_loss_and_its_gradient_equal_torch_cross_entropy(smoothing):
    torch.manual_seed(0)
    logits = torch.randn(3, 6, 11, dtype=torch.float64)
    labels = torch.randint(0, 11, (3, 6))
    labels[0, 4:] = labels[2, 1:] = IGNORE_INDEX
    ours = logits.clone().requires_grad_()
    loss, n_tokens = label_smoothed_loss(ours, labels, smoothing)
    loss.backward()
    theirs = logits.clone().requires_grad_()
    expected = F.cross_entropy(theirs.view(-1, 11), labels.view(-1), ignore_index=IGNORE_INDEX,
                               label_smoothing=smoothing, reduction="sum")
    expected.backward()
    assert n_tokens == 18 - 2 - 5
    torch.testing.assert_close(loss, expected.float())
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)
    assert ours.grad[2, 1:].abs().sum() == 0  # padding gets no gradient
