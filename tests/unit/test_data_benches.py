"""bench/token_store.py and bench/table_memory.py: their steps read the same tokens, and the generated inputs are
what the subgroups table's script reads."""

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = [("In the beginning God created.", "En el principio creó Dios."), ("Jesus wept.", "Y lloró Jesús."),
        ("And God said, Let there be light.", "Y dijo Dios: Sea la luz.")]


def _load(name: str):
    sys.path.insert(0, str(ROOT / "bench"))  # both import bench/rehearsal.py's corpus
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def spm(tmp_path):
    from memkd.tokenizer import train_sentencepiece

    texts = [text for pair in BASE for text in pair] * 20
    settings = {"vocab_size": 40, "model_type": "unigram", "character_coverage": 1.0, "threads": 1}
    train_sentencepiece(texts, tmp_path / "spm.model", settings, 1)
    return tmp_path / "spm.model"


def test_token_store_steps_read_one_epoch_of_the_same_tokens(tmp_path, spm):
    token_store = _load("token_store")
    rehearsal = _load("rehearsal")
    rehearsal.write_corpus(tmp_path / "corpus.tsv", BASE, 40)
    table = tmp_path / "pairs.tsv"
    table.write_text("id\tsrc\ttgt\n" + (tmp_path / "corpus.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    steps = ["encode", "store_write", "store_read"]
    if importlib.util.find_spec("datasets"):  # the bench extra
        steps += ["datasets_write", "datasets_read"]
    results = {step: token_store.run_step(step, str(table), str(spm), str(tmp_path)) for step in steps}
    readers = {step: result["tokens"] for step, result in results.items() if result["tokens"] is not None}
    assert len(set(readers.values())) == 1 and next(iter(readers.values())) > 40 * 4, readers


def test_generated_subgroup_inputs_run_through_the_rule_script(tmp_path):
    table_memory = _load("table_memory")
    inputs = table_memory.generate(tmp_path, BASE, 30)
    assert len(inputs) == len(table_memory.UNITS) * (4 + len(table_memory.ROLES))
    result = table_memory.run_script(str(ROOT / "scripts/subgroups_table.py"), inputs, str(tmp_path / "out.tsv"),
                                     str(tmp_path / "log.txt"), threads=1)
    table = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    everything = table[table["subgroup"] == "all"]
    assert len(everything) == len(table_memory.UNITS) * len(table_memory.ROLES)
    assert (everything["size"] == 30).all() and everything["bleu"].between(0, 100).all()
    assert result["self_mb"] > 0
