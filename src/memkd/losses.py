"""Training losses: label-smoothed cross-entropy and the distillation losses (STUDY.md section 6; the Seq-Inter
target selection is memkd.seq_inter, free of torch).

Losses take (batch, length, vocab) logits and (batch, length) labels padded with
IGNORE_INDEX and return (sum over target tokens, number of target tokens), so the caller normalises and accumulates
exactly as for the baseline. Teacher logits are always treated as constants: only the student learns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from memkd.data import IGNORE_INDEX


class _LabelSmoothedCrossEntropy(torch.autograd.Function):
    """Sum over rows of the label-smoothed cross-entropy, with its gradient written in one pass:
    d/dz = softmax(z) - (1 - e) onehot(y) - e / V. The same loss and gradient as F.cross_entropy(...,
    label_smoothing=e, reduction="sum"), whose autograd graph makes five passes over the (tokens, vocab) matrix
    where this makes two (bench/results/train_peers.md).

    The backward takes softmax(z) from torch's softmax kernel, not exp(log_softmax(z)): on CPU, exp is MKL's vector
    math (VML), which on a 2-core run gave different last bits on the same input in about one process in 30, so two
    trainings on the same seed parted; the softmax kernel is torch's own and gives the same bits every time."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
        log_probs = logits.log_softmax(-1)
        vocab = logits.size(-1)
        nll = -log_probs.gather(1, labels[:, None]).sum()
        loss = (1.0 - smoothing) * nll - smoothing / vocab * log_probs.sum() if smoothing else nll
        ctx.save_for_backward(logits, labels)
        ctx.smoothing = smoothing
        return loss

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, labels = ctx.saved_tensors
        smoothing, vocab = ctx.smoothing, logits.size(-1)
        out = logits.softmax(-1)
        if smoothing:
            out.sub_(smoothing / vocab)
        out.scatter_add_(1, labels[:, None], out.new_full((labels.numel(), 1), smoothing - 1.0))
        return out.mul_(grad), None, None


def label_smoothed_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> tuple[torch.Tensor, int]:
    """(sum of token losses, number of target tokens); padding (IGNORE_INDEX) excluded. `logits` (..., vocab) and
    `labels` (...), e.g. the (target tokens, vocab) rows of memkd.model.TargetLogits and their labels."""
    labels = labels.reshape(-1)
    logits = logits.float().reshape(-1, logits.size(-1))
    keep = labels != IGNORE_INDEX
    n_tokens = int(keep.sum())
    if n_tokens < labels.numel():
        logits, labels = logits[keep], labels[keep]
    return _LabelSmoothedCrossEntropy.apply(logits, labels, smoothing), n_tokens


def training_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                  settings: dict) -> tuple[torch.Tensor, int]:
    """The distillation loss a training preset names in `settings["distillation"]` (method word_kd or
    self_evolution, with that method's knobs)."""
    kd = settings["distillation"]
    if kd["method"] == "word_kd":
        return word_kd_loss(student_logits, teacher_logits, labels, kd["alpha"], kd["temperature"],
                            settings["label_smoothing"])
    if kd["method"] == "self_evolution":
        loss, n_tokens, _ = self_evolution_kd_loss(student_logits, teacher_logits, labels, kd["prior_weight"],
                                                   kd["difficulty_threshold"], kd["max_difficulty"], kd["nll_weight"],
                                                   kd["max_proxy_weight"])
        return loss, n_tokens
    raise ValueError(f"unknown distillation method {kd['method']!r}")


# Floor for the probabilities of the self-evolution proxy before the log: the proxy can put exactly 0 on a class
# (one-hot prior, l_t = 1), where KL(p_T || proxy) is infinite; the floor keeps the loss finite and free of NaNs.
PROXY_FLOOR = torch.finfo(torch.float32).tiny


def _target_rows(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(student rows, detached teacher rows, labels) at the non-padding positions, in fp32: padding never enters
    a softmax, so whatever the model emits there cannot leak into the loss."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} differ in shape (the models must share a vocabulary)")
    if labels.shape != student_logits.shape[:-1]:
        raise ValueError(f"labels {tuple(labels.shape)} do not match logits {tuple(student_logits.shape)}")
    mask = labels != IGNORE_INDEX
    return student_logits.float()[mask], teacher_logits.detach().float()[mask], labels[mask]


def word_kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float,
    temperature: float = 1.0,
    smoothing: float = 0.0,
) -> tuple[torch.Tensor, int]:
    """Word-KD (Kim & Rush): (1 - alpha) * NLL(labels) + alpha * tau^2 * sum_k p_T(k) * -log p_S(k), with
    p = softmax(z / tau) for both models. The tau^2 keeps the soft term's gradients on the scale of the NLL's
    (Hinton et al.), so alpha means the same at every temperature. The NLL is label-smoothed like the baseline's."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    student, teacher, _ = _target_rows(student_logits, teacher_logits, labels)
    nll, n_tokens = label_smoothed_loss(student_logits, labels, smoothing)
    soft = -(teacher.div(temperature).softmax(-1) * student.div(temperature).log_softmax(-1)).sum()
    return (1.0 - alpha) * nll + alpha * temperature**2 * soft, n_tokens


def parse_threshold(threshold: float | str, difficulties: torch.Tensor) -> float:
    """A fixed difficulty threshold, or "q<p>" for the batch quantile p of the difficulties: a quantile keeps the
    share of hard tokens stable while the student's difficulties shrink during training."""
    if isinstance(threshold, str):
        if not threshold.startswith("q"):
            raise ValueError(f"difficulty threshold {threshold!r}: expected a number or 'q<p>', e.g. 'q0.8'")
        try:
            p = float(threshold[1:])
        except ValueError:
            raise ValueError(f"difficulty threshold {threshold!r}: expected 'q<p>' with p a number in [0, 1]") from None
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"difficulty threshold {threshold!r}: quantile must lie in [0, 1]")
        return float(torch.quantile(difficulties, p))
    return float(threshold)


def self_evolution_kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    prior_weight: float,
    difficulty_threshold: float | str,
    max_difficulty: float,
    nll_weight: float = 0.0,
    max_proxy_weight: float = 1.0,
) -> tuple[torch.Tensor, int, float]:
    """Self-Evolution KD, OUR RECONSTRUCTION (the paper's exact loss is not public; STUDY.md section 6).

    Prior q_t = b * onehot(y_t) + (1 - b) * p_T; difficulty d_t = KL(q_t || p_S), detached. Hard tokens (d_t > tau)
    see the student through the proxy p~_S = (1 - l_t) * p_S + l_t * q_t, l_t = min(l_max, d_t / d_max), which
    moves what the student is compared with towards the prior; easy tokens use p_S itself.
    Loss = sum_t KL(p_T || p~_S) + nll_weight * NLL(y). Returns (loss sum, number of target tokens, share of hard
    tokens).

    What the proxy teaches a hard token (bench/results/kd_objectives.md): KL(p_T || p~_S) is smallest at
    p_S = (p_T - l_t q_t) / (1 - l_t), i.e. p_S(y) = p_T(y) - l_t b (1 - p_T(y)) / (1 - l_t), floored at 0. The prior
    already holds l_t b of the reference token's mass, so the student is taught to give the reference LESS than the
    teacher does, nothing at all once p_T(y) <= l_t b / (1 - l_t (1 - b)); and its gradient shrinks like 1 - l_t. A
    lower p_S(y) raises d_t and with it l_t: the hardest tokens drift away from the reference. l_max < 1 bounds both
    effects (p_S(y) stays above p_T(y) - l_max b / (1 - l_max) and the gradient keeps a share >= 1 - l_max);
    the NLL term pulls the reference token back up. With l_max = 1, tokens at d_t >= d_max learn from NLL only."""
    if not 0.0 <= prior_weight <= 1.0:
        raise ValueError(f"prior_weight must lie in [0, 1], got {prior_weight}")
    if max_difficulty <= 0:
        raise ValueError(f"max_difficulty must be positive, got {max_difficulty}")
    if not 0.0 <= max_proxy_weight <= 1.0:
        raise ValueError(f"max_proxy_weight must lie in [0, 1], got {max_proxy_weight}")
    if nll_weight < 0:
        raise ValueError(f"nll_weight must not be negative, got {nll_weight}")
    student, teacher, targets = _target_rows(student_logits, teacher_logits, labels)
    n_tokens = targets.numel()
    if n_tokens == 0:
        return student_logits.float().sum() * 0.0, 0, 0.0

    log_s = student.log_softmax(-1)
    log_t = teacher.log_softmax(-1)
    p_t = teacher.softmax(-1)  # not log_t.exp(): see _LabelSmoothedCrossEntropy on MKL's exp
    q = prior_weight * F.one_hot(targets, student.size(-1)).float() + (1.0 - prior_weight) * p_t

    with torch.no_grad():
        # xlogy gives 0 * log 0 = 0 where the one-hot prior has no mass.
        difficulty = (torch.xlogy(q, q) - q * log_s).sum(-1)
        tau = parse_threshold(difficulty_threshold, difficulty)
        hard = difficulty > tau
        weight = (difficulty / max_difficulty).clamp(max=max_proxy_weight)
        mix = torch.where(hard, weight, torch.zeros_like(difficulty))[:, None]

    # The proxy mixes probabilities (not log-probabilities), as the definition says; p_S keeps its graph, q and
    # l_t are constants. Easy tokens keep the exact log_softmax; hard ones take the log of the mixture with a floor
    # (see PROXY_FLOOR).
    log_proxy = ((1.0 - mix) * student.softmax(-1) + mix * q).clamp(min=PROXY_FLOOR).log()
    log_proxy = torch.where(hard[:, None], log_proxy, log_s)
    loss = (p_t * (log_t - log_proxy)).sum()  # KL(p_T || p~_S): the teacher is the reference distribution
    if nll_weight:
        loss = loss + nll_weight * F.nll_loss(log_s, targets, reduction="sum")
    return loss, n_tokens, float(hard.float().mean())
