"""A joint SentencePiece model per corpus, trained on both sides of the training split."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import sentencepiece as spm

from memkd.io import atomic_path


def train_sentencepiece(texts: list[str], model_path: str | Path, settings: dict, seed: int) -> None:
    """Train on `texts` and write <model_path> and its .vocab beside it, each atomically.

    One thread and no input shuffling keep the model identical across runs.
    """
    model_path = Path(model_path)
    with tempfile.TemporaryDirectory(dir=model_path.parent) as work:
        corpus = Path(work) / "corpus.txt"
        corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
        prefix = Path(work) / "spm"
        spm.set_random_generator_seed(seed)
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(prefix),
            vocab_size=settings["vocab_size"],
            model_type=settings["model_type"],
            character_coverage=settings["character_coverage"],
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            pad_id=0,
            unk_id=1,
            bos_id=2,
            eos_id=3,
            minloglevel=2,
        )
        vocab_path = model_path.with_suffix(".vocab")
        with atomic_path(vocab_path) as tmp:
            os.replace(f"{prefix}.vocab", tmp)
        with atomic_path(model_path) as tmp:
            os.replace(f"{prefix}.model", tmp)


def load(model_path: str | Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(model_path))
