"""Decoder-only LMs built from config (Hugging Face GPT-2 classes, random init, nothing downloaded), and the batched
forward passes the track needs: logits, greedy continuation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel


def build(preset: dict, vocab_size: int, n_positions: int, seed: int, eos_id: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=preset["n_embd"], n_layer=preset["n_layer"],
        n_head=preset["n_head"], n_inner=4 * preset["n_embd"], resid_pdrop=preset["dropout"],
        embd_pdrop=preset["dropout"], attn_pdrop=preset["dropout"], bos_token_id=eos_id, eos_token_id=eos_id,
    )
    return GPT2LMHeadModel(config)


def save(model: GPT2LMHeadModel, directory: str | Path) -> None:
    model.save_pretrained(directory, safe_serialization=True)


def load(directory: str | Path) -> GPT2LMHeadModel:
    return GPT2LMHeadModel.from_pretrained(directory).eval()


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def batched(fn, ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Apply fn (a (b, L) LongTensor -> (b, ...) tensor) to row batches of ids and stack the results."""
    out = [fn(torch.as_tensor(ids[i:i + batch_size])).cpu().numpy() for i in range(0, len(ids), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,))


@torch.no_grad()
def greedy(model: GPT2LMHeadModel, prefixes: torch.Tensor, steps: int) -> torch.Tensor:
    """The argmax continuation of `steps` tokens of equal-length prefixes (no padding needed), with the KV cache."""
    out = model(prefixes, use_cache=True)
    past, tokens = out.past_key_values, []
    next_token = out.logits[:, -1].argmax(-1, keepdim=True)
    for step in range(steps):
        tokens.append(next_token)
        if step + 1 < steps:
            out = model(next_token, past_key_values=past, use_cache=True)
            past, next_token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    return torch.cat(tokens, dim=1)
