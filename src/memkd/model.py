"""Encoder-decoder Transformers (Hugging Face Marian architecture) built from scratch from a config preset, and
training's forward pass over them.

Token ids follow our SentencePiece models: pad 0, unk 1, bos 2, eos 3. As in Marian, the decoder
starts from the pad id. The modules are memkd.marian's (Hugging Face's parameters and files, without importing
transformers, which only the reference decoder memkd.decode.translate uses).
"""

from __future__ import annotations

import contextlib
import math
import shutil
from functools import cache
from pathlib import Path

# torch is imported where it is used: CTranslate2 jobs read the token ids from here and load no torch model
# (importing torch costs them about 1 s)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
IGNORE_INDEX = -100  # label padding: no loss there (the cross-entropy's ignore_index)
TOKENIZER_FILE = "spm.model"


def build_model(preset: dict, vocab_size: int, seed: int) -> Marian:
    """A freshly initialised model; `preset` holds d_model, layers, heads, ffn_dim, dropout, max_positions.
    memkd.marian's modules: Hugging Face's MarianMTModel's parameters, initial draws and saved files, without
    importing transformers."""
    from memkd import marian

    config = marian.make_config(
        vocab_size=vocab_size, d_model=preset["d_model"], encoder_layers=preset["encoder_layers"],
        decoder_layers=preset["decoder_layers"], heads=preset["heads"], ffn_dim=preset["ffn_dim"],
        dropout=preset["dropout"], max_positions=preset["max_positions"],
        attention_dropout=preset.get("attention_dropout", 0.0),
        activation_dropout=preset.get("activation_dropout", 0.0), pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID)
    return marian.build(config, seed)


def sinusoidal_positions(n_pos: int, dim: int) -> np.ndarray:
    """Marian's fixed position table, computed as Hugging Face's MarianSinusoidalPositionalEmbedding.create_weight
    computes it (float64, then float32; sines in the first half, cosines in the second). save_pretrained does not
    store it: from_pretrained computes it. Numpy only (CTranslate2 conversion reads it without torch)."""
    import numpy as np

    position_enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = np.empty((n_pos, dim), dtype=np.float32)
    sentinel = dim // 2 if dim % 2 == 0 else (dim // 2) + 1
    out[:, 0:sentinel] = np.sin(position_enc[:, 0::2]).astype(np.float32)
    out[:, sentinel:] = np.cos(position_enc[:, 1::2]).astype(np.float32)
    return out


def teacher_forced_logits(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """Next-token logits at every target position, the decoder reading the reference prefix (labels shifted right
    behind the start id). The same logits as model(**batch), without the loss that Hugging Face computes whenever it
    is given labels: a softmax over the vocabulary at every position that no caller uses."""
    hidden = decoder_hidden(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
    return _output_logits(model, hidden, has_output_bias(model))


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout: keep with probability 1 - p, scale by 1 / (1 - p). On CPUs the keep mask comes from
    `keep_mask` (3x faster than a uniform draw compared with p, which was 2x faster than F.dropout's Bernoulli
    sampler), from the global generator."""
    import torch.nn.functional as F

    if p == 0.0:
        return x
    if x.is_cuda:  # one fused kernel there
        return F.dropout(x, p, True)
    if p >= 1.0:
        return x * 0.0
    return x * keep_mask(x.shape, p).to(x.dtype).mul_(1.0 / (1.0 - p))


def keep_mask(shape, p: float) -> torch.Tensor:
    """A 0/1 (int16) mask of `shape`, each entry 0 with probability p rounded to a multiple of 1/65,536: 16 random
    bits per entry, four entries to each full-range 64-bit draw of the global generator. A uniform float draw
    compared with p takes one 32-bit draw per entry and was 7% of a student training step (torch.profiler); this
    mask costs a third of it (196 against 622 us for 1,330 x 128 entries on a Xeon with AMX)."""
    import torch

    n = math.prod(shape)
    if p >= 1.0:
        return torch.zeros(shape, dtype=torch.int16)
    words = torch.empty(-(-n // 4), dtype=torch.int64).random_(-(2**63), None)  # every bit random
    lanes = words.view(torch.int16)[:n].view(shape)
    return lanes.ge_(-(2**15) + round(p * 2**16))  # P(lane < threshold) = round(p * 65536) / 65536


def _projections(attn: torch.nn.Module, x: torch.Tensor, memory: torch.Tensor,
                 dtype: torch.dtype | None = None) -> tuple[torch.Tensor, ...]:
    """Queries from x, keys and values from memory, (batch, length, width) each. One matrix product for the three
    (self-attention) or for keys and values (cross-attention), over the concatenated weights: under CPU bf16
    autocast three products cast their shared input three times and cost 1.3 ms against 1.1 ms for one (800 x 128
    inputs, forward and backward); fp32 is level. A pruned layer (torch's re-parametrisation runs as a forward
    pre-hook) is called as a module, so that its mask applies. `dtype`: cast the products to it (once per product,
    before they are split)."""
    import torch
    import torch.nn.functional as F

    q_proj, k_proj, v_proj = attn.q_proj, attn.k_proj, attn.v_proj
    def cast(t):
        return t if dtype is None else t.to(dtype)

    if any(proj._forward_pre_hooks or proj._forward_hooks for proj in (q_proj, k_proj, v_proj)):
        return cast(q_proj(x)), cast(k_proj(memory)), cast(v_proj(memory))
    if memory is x:
        weight = torch.cat([q_proj.weight, k_proj.weight, v_proj.weight])
        bias = torch.cat([q_proj.bias, k_proj.bias, v_proj.bias])
        return cast(F.linear(x, weight, bias)).chunk(3, dim=-1)
    weight, bias = torch.cat([k_proj.weight, v_proj.weight]), torch.cat([k_proj.bias, v_proj.bias])
    return (cast(q_proj(x)), *cast(F.linear(memory, weight, bias)).chunk(2, dim=-1))


def _attention(attn: torch.nn.Module, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None,
               causal: bool, training: bool) -> torch.Tensor:
    """Multi-head attention of a Marian attention module (self-attention when memory is x)."""
    import torch
    import torch.nn.functional as F

    batch, length, width = x.shape
    heads, head_dim = attn.num_heads, attn.head_dim
    # torch's CPU flash-attention backward is 3-5x slower in bf16 than in fp32 (38% of a teacher step under bf16
    # autocast, bench/results/train_peers_xeon.md): under CPU bf16 autocast, attend in fp32, outside autocast
    # (which would cast back); out_proj casts the result to bf16 again
    fp32_attention = (training and not x.is_cuda and torch.is_autocast_enabled("cpu")
                      and torch.get_autocast_dtype("cpu") == torch.bfloat16)
    q, k, v = (p.reshape(batch, p.size(1), heads, head_dim).transpose(1, 2)
               for p in _projections(attn, x, memory, torch.float32 if fp32_attention else None))
    dropout_p = attn.dropout if training else 0.0
    with torch.autocast("cpu", enabled=False) if fp32_attention else contextlib.nullcontext():
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal,
                                             scale=attn.scaling)
    return attn.out_proj(out.transpose(1, 2).reshape(batch, length, width))


def _feed_forward(layer: torch.nn.Module, x: torch.Tensor, drop) -> torch.Tensor:
    return drop(layer.fc2(drop(layer.activation_fn(layer.fc1(x)), layer.activation_dropout)), layer.dropout)


def _embed(stack: torch.nn.Module, ids: torch.Tensor, drop) -> torch.Tensor:
    return drop(stack.embed_tokens(ids) * stack.embed_scale + stack.embed_positions.weight[: ids.size(1)],
                stack.dropout)


def decoder_hidden(model: Marian, input_ids: torch.Tensor, attention_mask: torch.Tensor,
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


def has_output_bias(model: Marian) -> bool:
    """Whether Marian's final_logits_bias is non-zero: a buffer that training never moves, zero in every model
    build_model makes (Opus-MT checkpoints have one)."""
    return bool(model.final_logits_bias.any())


def _output_logits(model: Marian, hidden: torch.Tensor, output_bias: bool) -> torch.Tensor:
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

        def __init__(self, model: Marian):
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


def save(model: Marian, directory: str | Path, tokenizer_path: str | Path) -> None:
    """The files save_pretrained writes (config.json, generation_config.json, model.safetensors) plus the
    SentencePiece model, so the folder is self-contained and loads with Hugging Face's from_pretrained too."""
    from memkd import marian

    directory = Path(directory)
    marian.save(model, directory)
    shutil.copyfile(tokenizer_path, directory / TOKENIZER_FILE)


def load(directory: str | Path, device: str = "cpu") -> Marian:
    """A saved model folder, in eval mode on `device`; its position tables stay fixed if it is trained further."""
    from memkd import marian

    return marian.load(directory).to(device).eval()


def pick_device() -> str:
    """The GPU when the job has one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
