"""The token store (memkd.data): a table tokenized once into memory-mapped arrays that training jobs read."""

import pickle
import random

import numpy as np
import pandas as pd
import pytest
import torch

import memkd.io
from memkd import train as train_module
from memkd.data import TokenArrays, design_half, encode, read_token_store, write_token_store
from memkd.errors import InputError
from memkd.io import write_tsv_atomic
from memkd.model import EOS_ID, build_model


class _Processor:
    """SentencePiece's encode on a list: a token per character code."""

    def encode(self, texts):
        return [[4 + ord(c) % 40 for c in text] for text in texts]

    def vocab_size(self):
        return 44


def _table(tmp_path, rows: int):
    sources = ["".join(random.Random(i).choice("abcdefgh ") for _ in range(1 + i % 17)) for i in range(rows)]
    targets = [text[::-1] + "x" for text in sources]
    write_tsv_atomic(tmp_path / "pairs.tsv", pd.DataFrame({"id": range(rows), "src": sources, "tgt": targets}))
    (tmp_path / "spm.model").write_bytes(b"a tokenizer")
    return sources, targets


def _as_lists(arrays):
    return [arrays[i].tolist() for i in range(len(arrays))]


@pytest.mark.parametrize("rows", [0, 1, 3, 10])
@pytest.mark.parametrize("max_len", [None, 1, 4, 10])
def test_a_store_written_in_chunks_reads_back_as_encode_truncates(tmp_path, monkeypatch, rows, max_len):
    sources, targets = _table(tmp_path, rows)
    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 3)  # chunks of 3 rows: none, one, and several
    description = write_token_store(_Processor(), tmp_path / "pairs.tsv", tmp_path / "pairs.tokens",
                                    str(tmp_path / "spm.model"))
    assert description["pairs"] == rows
    stored_sources, stored_targets = read_token_store(tmp_path / "pairs.tokens", max_len, tmp_path / "spm.model")
    assert _as_lists(stored_sources) == encode(_Processor(), sources, max_len)
    assert _as_lists(stored_targets) == encode(_Processor(), targets, max_len)
    assert stored_sources.lengths.tolist() == [len(s) for s in encode(_Processor(), sources, max_len)]
    assert isinstance(stored_sources.ids, np.ndarray) and not stored_sources.ids.flags.writeable  # mapped, read-only


def test_truncation_keeps_the_end_of_sentence_token():
    arrays = TokenArrays.from_lists([[5, 6, 7, EOS_ID], [8, EOS_ID]])
    short = TokenArrays(arrays.ids, arrays.offsets, max_len=3)
    assert _as_lists(short) == [[5, 6, EOS_ID], [8, EOS_ID]] and short.lengths.tolist() == [3, 2]
    with pytest.raises(ValueError, match="max_len"):
        TokenArrays(arrays.ids, arrays.offsets, max_len=0)


def test_selected_rows_are_a_view_in_their_order_and_select_composes():
    arrays = TokenArrays.from_lists([[i] * (i + 1) for i in range(6)])
    half = arrays.select([4, 1, 5])
    assert len(half) == 3 and _as_lists(half) == [[4] * 5, [1] * 2, [5] * 6]
    assert half.lengths.tolist() == [5, 2, 6] and half.ids is arrays.ids  # no copy
    assert _as_lists(half.select([2, 0])) == [[5] * 6, [4] * 5]
    with pytest.raises(ValueError, match="rows"):
        TokenArrays(arrays.ids, arrays.offsets, rows=np.array([6]))


def test_mapped_arrays_pickle_as_a_reference_to_their_store(tmp_path):
    """Data-parallel workers receive the store's folder and rows, not a copy of the corpus."""
    _table(tmp_path, 200)
    write_token_store(_Processor(), tmp_path / "pairs.tsv", tmp_path / "pairs.tokens", str(tmp_path / "spm.model"))
    sources, _ = read_token_store(tmp_path / "pairs.tokens", max_len=5)
    half = sources.select(np.arange(0, 200, 2))
    blob = pickle.dumps(half)
    assert len(blob) < half.ids.nbytes
    again = pickle.loads(blob)
    assert _as_lists(again) == _as_lists(half) and again.max_len == 5
    in_memory = TokenArrays.from_lists([[1, 2], [3]])
    assert _as_lists(pickle.loads(pickle.dumps(in_memory))) == [[1, 2], [3]]


def test_a_store_of_another_tokenizer_or_a_damaged_store_is_refused_by_name(tmp_path):
    _table(tmp_path, 10)
    folder = tmp_path / "pairs.tokens"
    write_token_store(_Processor(), tmp_path / "pairs.tsv", folder, str(tmp_path / "spm.model"))
    (tmp_path / "other.model").write_bytes(b"another tokenizer")
    with pytest.raises(InputError, match="tokenized with .*spm.model.*differ"):
        read_token_store(folder, tokenizer_path=tmp_path / "other.model")
    ids = (folder / "target.ids").read_bytes()
    (folder / "target.ids").write_bytes(ids[:-4])  # a cut file
    with pytest.raises(InputError, match="pairs.tokens.*remake it"):
        read_token_store(folder)
    with pytest.raises(InputError, match="not a token store"):
        read_token_store(tmp_path / "missing.tokens")


def test_a_failed_tokenization_leaves_neither_the_store_nor_its_staging_folder(tmp_path):
    _table(tmp_path, 10)

    class Failing(_Processor):
        def encode(self, texts):
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_token_store(Failing(), tmp_path / "pairs.tsv", tmp_path / "pairs.tokens", str(tmp_path / "spm.model"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv", "spm.model"]


def test_training_on_a_store_equals_training_on_the_encoded_lists(tmp_path):
    sources, targets = _table(tmp_path, 40)
    write_token_store(_Processor(), tmp_path / "pairs.tsv", tmp_path / "pairs.tokens", str(tmp_path / "spm.model"))
    preset = {"d_model": 16, "encoder_layers": 1, "decoder_layers": 1, "heads": 2, "ffn_dim": 32, "dropout": 0.1,
              "max_positions": 8}
    settings = {"seed": 0, "epochs": 2, "max_steps": None, "max_tokens": 64, "lr": 1e-3, "warmup_steps": 4,
                "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
                "log_every": 1, "checkpoint_every": 1000}
    rows = np.arange(1, 40, 3)
    stored = [a.select(rows) for a in read_token_store(tmp_path / "pairs.tokens", preset["max_positions"])]
    listed = [[encode(_Processor(), texts, preset["max_positions"])[i] for i in rows] for texts in (sources, targets)]
    runs = []
    for name, (src, tgt) in {"store": stored, "lists": listed}.items():
        model = build_model(preset, vocab_size=44, seed=0)
        records = train_module.train(model, src, tgt, settings, tmp_path / f"{name}.pt")
        runs.append(([r["loss"] for r in records], [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0] and len(runs[0][0]) > 2
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_a_cm_models_half_is_its_design_column_and_a_foreign_design_is_refused(tmp_path):
    pairs = tmp_path / "study_train.tsv"
    write_tsv_atomic(pairs, pd.DataFrame({"id": ["a", "b", "c", "d"], "src": list("wxyz"), "tgt": list("WXYZ")}))
    design = tmp_path / "design.tsv"
    write_tsv_atomic(design, pd.DataFrame({"id": ["a", "b", "c", "d"], "cm00": [1, 0, 0, 1], "cm01": [0, 1, 1, 0]}))
    assert design_half(design, "cm00", pairs, 4).tolist() == [0, 3]
    assert design_half(design, "cm01", pairs, 4).tolist() == [1, 2]
    with pytest.raises(InputError, match="has 4 rows but the study pairs' token store has 5"):
        design_half(design, "cm00", pairs, 5)
    write_tsv_atomic(design, pd.DataFrame({"id": ["a", "b", "d", "c"], "cm00": [1, 0, 0, 1]}))
    with pytest.raises(InputError, match="is not the design of .*study_train.tsv .its ids differ.: rerun cm_design"):
        design_half(design, "cm00", pairs, 4)
