"""Encoder-decoder Transformers (Hugging Face Marian architecture) built from scratch from a config preset.

Token ids follow our SentencePiece models: pad 0, unk 1, bos 2, eos 3. As in Marian, the decoder
starts from the pad id.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

# torch and transformers are imported where they are used: CTranslate2 jobs read the token ids from here and
# load no torch model (importing both costs ~5 s per job)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
IGNORE_INDEX = -100  # label padding: no loss there (the cross-entropy's ignore_index)
TOKENIZER_FILE = "spm.model"


def build_model(preset: dict, vocab_size: int, seed: int) -> MarianMTModel:
    """A freshly initialised model; `preset` holds d_model, layers, heads, ffn_dim, dropout, max_positions."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    config = MarianConfig(
        vocab_size=vocab_size,
        decoder_vocab_size=vocab_size,
        d_model=preset["d_model"],
        encoder_layers=preset["encoder_layers"],
        decoder_layers=preset["decoder_layers"],
        encoder_attention_heads=preset["heads"],
        decoder_attention_heads=preset["heads"],
        encoder_ffn_dim=preset["ffn_dim"],
        decoder_ffn_dim=preset["ffn_dim"],
        dropout=preset["dropout"],
        attention_dropout=preset.get("attention_dropout", 0.0),
        activation_dropout=preset.get("activation_dropout", 0.0),
        activation_function="relu",
        max_position_embeddings=preset["max_positions"],
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        pad_token_id=PAD_ID,
        eos_token_id=EOS_ID,
        bos_token_id=BOS_ID,
        forced_eos_token_id=EOS_ID,
        decoder_start_token_id=PAD_ID,
    )
    torch.manual_seed(seed)
    return MarianMTModel(config)


def teacher_forced_logits(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """Next-token logits at every target position, the decoder reading the reference prefix (labels shifted right
    behind the start id). The same logits as model(**batch), without the loss that Hugging Face computes whenever it
    is given labels: a softmax over the vocabulary at every position that no caller uses."""
    hidden = decoder_hidden(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
    return _output_logits(model, hidden, has_output_bias(model))


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout: keep with probability 1 - p, scale by 1 / (1 - p). On CPUs the keep mask is a
    uniform draw compared with p, twice as fast as F.dropout's Bernoulli sampler (5-7% of a student step,
    bench/results/train_peers_xeon.md), from the same global generator. The draw is fp32 whatever x's dtype, so
    that p is not rounded to bf16's 8 bits."""
    import torch
    import torch.nn.functional as F

    if p == 0.0:
        return x
    if x.is_cuda:  # one fused kernel there
        return F.dropout(x, p, True)
    keep = torch.rand(x.shape, device=x.device).ge_(p)
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


def _attention(attn: torch.nn.Module, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None,
               causal: bool, training: bool) -> torch.Tensor:
    """Multi-head attention of a Marian attention module (self-attention when memory is x). The projections are
    called as modules so that forward hooks (torch's pruning re-parametrisation) apply."""
    import torch
    import torch.nn.functional as F

    batch, length, width = x.shape
    heads, head_dim = attn.num_heads, attn.head_dim
    q = attn.q_proj(x).view(batch, length, heads, head_dim).transpose(1, 2)
    k, v = (proj(memory).view(batch, memory.size(1), heads, head_dim).transpose(1, 2)
            for proj in (attn.k_proj, attn.v_proj))
    dropout_p = attn.dropout if training else 0.0
    if training and q.dtype == torch.bfloat16 and not q.is_cuda:
        # torch's CPU flash-attention backward is 3-5x slower in bf16 than in fp32 (38% of a teacher step under
        # bf16 autocast, bench/results/train_peers_xeon.md): attend in fp32, outside autocast, which would cast
        # back; out_proj casts the result to bf16 again
        with torch.autocast("cpu", enabled=False):
            out = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask,
                                                 dropout_p=dropout_p, is_causal=causal, scale=attn.scaling)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal,
                                             scale=attn.scaling)
    return attn.out_proj(out.transpose(1, 2).reshape(batch, length, width))


def _feed_forward(layer: torch.nn.Module, x: torch.Tensor, drop) -> torch.Tensor:
    return drop(layer.fc2(drop(layer.activation_fn(layer.fc1(x)), layer.activation_dropout)), layer.dropout)


def _embed(stack: torch.nn.Module, ids: torch.Tensor, drop) -> torch.Tensor:
    return drop(stack.embed_tokens(ids) * stack.embed_scale + stack.embed_positions.weight[: ids.size(1)],
                stack.dropout)


def decoder_hidden(model: MarianMTModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """The decoder's last hidden states, teacher-forced on `labels` (padded with IGNORE_INDEX): the computation of
    Hugging Face's MarianModel.forward (post-norm layers, scaled embeddings plus sinusoidal positions, the decoder
    reading the labels shifted right behind the pad id), written out. Equal to it in eval mode
    (tests/unit/test_model.py). Written out for training speed (bench/results/train_peers_xeon.md): dropout
    masks drawn by `dropout` above, no mask tensors built, attention in fp32 under CPU bf16 autocast. Layerdrop
    is not implemented: build_model never sets it, and TargetLogits refuses a model that does."""
    import torch

    training = model.training
    drop = dropout if training else (lambda x, p: x)
    encoder, decoder = model.model.encoder, model.model.decoder
    key_mask = attention_mask.bool()[:, None, None, :]  # (batch, 1, 1, source): the source's padding
    x = _embed(encoder, input_ids, drop)
    for layer in encoder.layers:
        x = layer.self_attn_layer_norm(x + drop(_attention(layer.self_attn, x, x, key_mask, False, training),
                                                layer.dropout))
        x = layer.final_layer_norm(x + _feed_forward(layer, x, drop))
    memory = x
    decoder_input_ids = torch.cat([labels.new_full((labels.size(0), 1), PAD_ID), labels[:, :-1]], dim=1)
    y = _embed(decoder, decoder_input_ids.masked_fill_(decoder_input_ids == IGNORE_INDEX, PAD_ID), drop)
    for layer in decoder.layers:
        y = layer.self_attn_layer_norm(y + drop(_attention(layer.self_attn, y, y, None, True, training),
                                                layer.dropout))
        y = layer.encoder_attn_layer_norm(y + drop(_attention(layer.encoder_attn, y, memory, key_mask, False,
                                                              training), layer.dropout))
        y = layer.final_layer_norm(y + _feed_forward(layer, y, drop))
    return y


def has_output_bias(model: MarianMTModel) -> bool:
    """Whether Marian's final_logits_bias is non-zero: a buffer that training never moves, zero in every model
    build_model makes (Opus-MT checkpoints have one)."""
    return bool(model.final_logits_bias.any())


def _output_logits(model: MarianMTModel, hidden: torch.Tensor, output_bias: bool) -> torch.Tensor:
    """The output projection, plus the bias only where the model has one: adding zeros is a pass over the whole
    (tokens, vocab) matrix."""
    logits = model.lm_head(hidden)
    return logits + model.final_logits_bias if output_bias else logits


@cache
def _target_logits_class() -> type:
    import torch

    class TargetLogits(torch.nn.Module):
        """Training's forward pass: the teacher-forced next-token logits at the target positions only, as one
        (target tokens, vocab) matrix whose rows follow the batch in row-major order (labels != IGNORE_INDEX).
        The decoder's padding rows never reach the output projection, which in the small presets costs about as
        much as the rest of the model. A module rather than a function so that DistributedDataParallel can wrap
        it."""

        def __init__(self, model: MarianMTModel):
            super().__init__()
            config = model.config
            if config.encoder_layerdrop or config.decoder_layerdrop:
                raise ValueError("memkd.model.decoder_hidden does not implement layerdrop; this model's config "
                                 f"sets encoder_layerdrop={config.encoder_layerdrop}, "
                                 f"decoder_layerdrop={config.decoder_layerdrop}")
            self.model, self.output_bias = model, has_output_bias(model)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            hidden = decoder_hidden(self.model, input_ids, attention_mask, labels)
            return _output_logits(self.model, hidden[labels != IGNORE_INDEX], self.output_bias)

    TargetLogits.__module__, TargetLogits.__qualname__ = __name__, "TargetLogits"  # picklable as memkd.model's
    return TargetLogits


def __getattr__(name: str):
    """memkd.model.TargetLogits, a torch module, is defined on first use so that importing this module does not
    import torch (PEP 562)."""
    if name == "TargetLogits":
        return _target_logits_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct trainable parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters() if p.requires_grad}.values())


def save(model: MarianMTModel, directory: str | Path, tokenizer_path: str | Path) -> None:
    """save_pretrained (safetensors) plus the SentencePiece model, so the folder is self-contained."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    shutil.copyfile(tokenizer_path, directory / TOKENIZER_FILE)


def load(directory: str | Path, device: str = "cpu") -> MarianMTModel:
    from transformers import MarianMTModel
    from transformers.models.marian.modeling_marian import MarianSinusoidalPositionalEmbedding

    model = MarianMTModel.from_pretrained(Path(directory))
    # from_pretrained makes the fixed sinusoidal position tables trainable again; a model trained further from a
    # loaded one (pruned, fine-tuned) must keep them fixed, as a freshly built model does
    for module in model.modules():
        if isinstance(module, MarianSinusoidalPositionalEmbedding):
            module.weight.requires_grad_(False)
    return model.to(device).eval()


def pick_device() -> str:
    """The GPU when the job has one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
