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
    from transformers.models.marian.modeling_marian import shift_tokens_right

    decoder_input_ids = shift_tokens_right(batch["labels"], PAD_ID, PAD_ID)
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 decoder_input_ids=decoder_input_ids).logits


@cache
def _target_logits_class() -> type:
    import torch
    from transformers.models.marian.modeling_marian import shift_tokens_right

    class TargetLogits(torch.nn.Module):
        """Training's forward pass: the teacher-forced next-token logits at the target positions only, as one
        (target tokens, vocab) matrix whose rows follow the batch in row-major order (labels != IGNORE_INDEX).
        The decoder's padding rows never reach the output projection, which in the small presets costs about as
        much as the rest of the model. A module rather than a function so that DistributedDataParallel can wrap
        it."""

        def __init__(self, model: MarianMTModel):
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            decoder_input_ids = shift_tokens_right(labels, PAD_ID, PAD_ID)
            hidden = self.model.model(input_ids=input_ids, attention_mask=attention_mask,
                                      decoder_input_ids=decoder_input_ids).last_hidden_state
            return self.model.lm_head(hidden[labels != IGNORE_INDEX]) + self.model.final_logits_bias

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
