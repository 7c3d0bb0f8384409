"""A joint SentencePiece model per corpus, trained on both sides of the training split."""

from __future__ import annotations

import io
from pathlib import Path

import sentencepiece as spm

from memkd.io import atomic_path, write_text_atomic


def train_sentencepiece(texts: list[str], model_path: str | Path, settings: dict, seed: int) -> None:
    """Train on `texts`; write <model_path> and its .vocab (piece<TAB>score) beside it, atomically.

    Training from an iterator into memory keeps temporary file names out of the model, and one
    thread with no input shuffling keeps it byte-identical across runs.
    """
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
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
    with atomic_path(model_path) as tmp:
        tmp.write_bytes(model.getvalue())
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = "".join(f"{processor.id_to_piece(i)}\t{processor.get_score(i):g}\n" for i in range(processor.vocab_size()))
    write_text_atomic(Path(model_path).with_suffix(".vocab"), vocab)


def load(model_path: str | Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(model_path))
