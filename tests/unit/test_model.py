"""memkd.model's written-out forward pass (decoder_hidden, TargetLogits, teacher_forced_logits) against Hugging Face's
MarianMTModel.forward on the same parameters (memkd.marian.to_hugging_face), and its dropout."""

import math
import random

import pytest
import torch
from transformers.models.marian.modeling_marian import shift_tokens_right

from memkd.data import IGNORE_INDEX, collate
from memkd.marian import to_hugging_face
from memkd.model import PAD_ID, TargetLogits, build_model, dropout, keep_mask, teacher_forced_logits
from memkd.prune import magnitude_prune

PRESET = {"d_model": 16, "encoder_layers": 2, "decoder_layers": 2, "heads": 2, "ffn_dim": 32, "dropout": 0.1,
          "max_positions": 64}
VOCAB = 50


def _batch(n=7, seed=0):
    rng = random.Random(seed)
    sources = [[rng.randrange(4, VOCAB) for _ in range(rng.randrange(2, 14))] + [3] for _ in range(n)]
    targets = [[rng.randrange(4, VOCAB) for _ in range(rng.randrange(2, 14))] + [3] for _ in range(n)]
    batch = collate(sources, targets)
    assert (batch["attention_mask"] == 0).any() and (batch["labels"] == IGNORE_INDEX).any()  # padding on both sides
    return batch


def _hf_logits(model, batch):
    """Hugging Face's logits; `model` is its MarianMTModel or memkd's, converted (with its parameters)."""
    if not hasattr(model, "generate"):
        model = to_hugging_face(model)
    decoder_input_ids = shift_tokens_right(batch["labels"], PAD_ID, PAD_ID)
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 decoder_input_ids=decoder_input_ids).logits


def _no_dropout(**extra):
    return {**PRESET, "dropout": 0.0, **extra}


def test_eval_logits_equal_hugging_face_with_an_output_bias():
    batch = _batch()
    model = build_model(PRESET, VOCAB, seed=1).eval()
    model.final_logits_bias.normal_()  # as a loaded Opus-MT model has; build_model's is zero
    with torch.no_grad():
        assert torch.equal(teacher_forced_logits(model, batch), _hf_logits(model, batch))
        mask = batch["labels"] != IGNORE_INDEX
        assert torch.equal(TargetLogits(model)(**batch), _hf_logits(model, batch)[mask])


def test_training_forward_and_gradients_equal_hugging_face_without_dropout():
    """Training mode (the causal decoder, the padding masks) with every dropout at zero, where both are
    deterministic: the same loss and the same gradient for every parameter."""
    batch = _batch()
    mask = batch["labels"] != IGNORE_INDEX
    ours = build_model(_no_dropout(attention_dropout=0.0, activation_dropout=0.0), VOCAB, seed=1).train()
    theirs = to_hugging_face(build_model(_no_dropout(attention_dropout=0.0, activation_dropout=0.0), VOCAB, seed=1))
    assert theirs.training and type(theirs).__name__ == "MarianMTModel"
    TargetLogits(ours)(**batch).logsumexp(-1).sum().backward()
    _hf_logits(theirs, batch)[mask].logsumexp(-1).sum().backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_a_pruned_model_computes_with_its_masked_weights():
    """The projections are called as modules, so torch's pruning hook (weight = weight_orig * mask) applies."""
    batch = _batch()
    model = build_model(PRESET, VOCAB, seed=1).eval()
    reference = to_hugging_face(model)
    assert magnitude_prune(model, 0.5) > 0 and magnitude_prune(reference, 0.5) > 0
    with torch.no_grad():
        assert torch.equal(teacher_forced_logits(model, batch), _hf_logits(reference, batch))


def test_bf16_training_attends_in_fp32_and_stays_close_to_hugging_face():
    batch = _batch()
    mask = batch["labels"] != IGNORE_INDEX
    model = build_model(_no_dropout(), VOCAB, seed=1).train()
    reference = to_hugging_face(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, theirs = TargetLogits(model)(**batch), _hf_logits(reference, batch)[mask]
    assert ours.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=0.05, atol=0.05)
    ours.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


def test_layerdrop_is_refused_by_name():
    model = build_model(PRESET, VOCAB, seed=1)
    model.config.encoder_layerdrop = 0.1
    with pytest.raises(ValueError, match="encoder_layerdrop=0.1"):
        TargetLogits(model)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_keeps_one_minus_p_of_the_entries_scaled_by_its_inverse(dtype):
    torch.manual_seed(0)
    x = torch.ones(400, 500, dtype=dtype)
    out = dropout(x, 0.1)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.9) < 0.003  # 200,000 draws: the standard error is 0.0007
    assert torch.equal(out[kept], torch.full_like(out[kept], 1 / 0.9))
    assert dropout(x, 0.0) is x


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 11)])  # sizes that are not a multiple of four
def test_keep_masks_of_any_shape_keep_one_minus_p_and_their_entries_are_independent(shape):
    torch.manual_seed(1)
    masks = torch.stack([keep_mask(shape, 0.25) for _ in range(20000)]).reshape(20000, -1).double()
    assert masks.shape[1] == math.prod(shape) and set(masks.unique().tolist()) <= {0.0, 1.0}
    # every position is kept with probability 0.75 (standard error 0.003 over 20,000 masks)
    assert (masks.mean(0) - 0.75).abs().max() < 0.015
    # neighbours, which share a 64-bit draw, are as often kept together as independent draws would be: 0.5625
    both = (masks[:, :-1] * masks[:, 1:]).mean(0)
    assert (both - 0.75**2).abs().max() < 0.02


def test_keep_mask_rounds_p_to_a_multiple_of_one_in_65536():
    torch.manual_seed(0)
    assert keep_mask((1000,), 0.0).all()
    assert not keep_mask((1000,), 1.0).any()
    assert torch.equal(dropout(torch.ones(50), 1.0), torch.zeros(50))


def test_attention_with_hooked_projections_equals_the_fused_products():
    """A pruned layer's projections (torch's pruning runs as a forward pre-hook) are called one by one; without
    hooks the three (or two) products are one over the concatenated weights: the same attention."""
    batch = _batch()
    model = build_model(_no_dropout(), VOCAB, seed=1).eval()
    fused = TargetLogits(model)(**batch)
    for name, module in model.named_modules():
        if name.endswith(("q_proj", "k_proj", "v_proj")):
            module.register_forward_pre_hook(lambda module, args: None)
    torch.testing.assert_close(TargetLogits(model)(**batch), fused, rtol=1e-5, atol=1e-5)


def test_dropout_is_drawn_from_the_global_generator():
    x = torch.randn(30, 20)
    torch.manual_seed(5)
    first = dropout(x, 0.3)
    torch.manual_seed(5)
    assert torch.equal(dropout(x, 0.3), first)
    assert not torch.equal(dropout(x, 0.3), first)


def test_training_uses_dropout_and_eval_does_not():
    batch = _batch()
    model = build_model(PRESET, VOCAB, seed=1)
    forward = TargetLogits(model)
    with torch.no_grad():
        model.eval()
        assert torch.equal(forward(**batch), forward(**batch))
        model.train()
        torch.manual_seed(0)
        a = forward(**batch)
        torch.manual_seed(1)
        assert not torch.equal(a, forward(**batch))
