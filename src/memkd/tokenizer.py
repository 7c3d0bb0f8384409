"""A joint SentencePiece model per corpus, trained on both sides of the training split."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import sentencepiece as spm

from memkd.io import atomic_path, write_text_atomic


def sample_indices(total: int, size: int | None, seed: int) -> np.ndarray | None:
    """Positions of `size` of `total` texts drawn without replacement by np.random.default_rng(seed), sorted; None
    (take them all) when `size` is None or not smaller than `total`."""
    if size is None or size >= total:
        return None
    if size < 1:
        raise ValueError(f"a sentence sample needs a size of at least 1, got {size}")
    return np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))


def sample_sentences(texts: list[str], size: int | None, seed: int) -> list[str]:
    """`size` of `texts` drawn without replacement by np.random.default_rng(seed), kept in corpus order; all of
    them when `size` is None or not smaller than len(texts)."""
    chosen = sample_indices(len(texts), size, seed)
    return texts if chosen is None else [texts[i] for i in chosen]


def sample_table_sentences(path, columns: list[str], size: int | None, seed: int,
                           rows: int | None = None) -> tuple[list[str], int]:
    """(sample, number of texts): `sample_sentences` over the texts of a workflow table's `columns`, the whole of
    the first column, then of the next, but read `rows` rows at a time (memkd.io.CHUNK_ROWS by default), so that
    only the sample is ever held, not the table: the same sentences in the same order."""
    from memkd.io import iter_chunks, read_columns, read_rows

    n = sum(len(chunk) for chunk in iter_chunks(path, columns[:1], rows))
    chosen = sample_indices(n * len(columns), size, seed)
    if chosen is None:
        table = read_columns(path, columns)
        return [text for column in columns for text in table[column].tolist()], n * len(columns)
    texts: list[str] = []
    for j, column in enumerate(columns):  # column j's texts are positions j * n ... (j + 1) * n - 1
        in_column = chosen[(chosen >= j * n) & (chosen < (j + 1) * n)] - j * n
        texts += read_rows(path, [column], in_column, rows)[column].tolist()
    return texts, n * len(columns)


def train_sentencepiece(texts: list[str], model_path: str | Path, settings: dict, seed: int) -> None:
    """Train on `texts`, or on a sample of `settings["input_sentence_size"]` of them (None, the default: all),
    with `settings["threads"]` threads (default 1); write <model_path> and its .vocab (piece<TAB>score) beside
    it, atomically.

    We draw the sample (`sample_sentences`, seeded) instead of SentencePiece: its own sampling
    (input_sentence_size with shuffle_input_sentence) gave a different model in every process with the same
    set_random_generator_seed (sentencepiece 0.2.3). Training from an iterator into memory keeps temporary file
    names out of the model. A fixed thread count keeps the model byte-identical across runs, but models trained
    with different thread counts differ (the EM steps split the sentences by thread).
    """
    sample = sample_sentences(texts, settings.get("input_sentence_size"), seed)
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sample),
        model_writer=model,
        vocab_size=settings["vocab_size"],
        model_type=settings["model_type"],
        character_coverage=settings["character_coverage"],
        input_sentence_size=0,  # every sentence of `sample`
        shuffle_input_sentence=False,
        num_threads=settings.get("threads", 1),
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
