"""Seq-Inter target selection (memkd.seq_inter), and that rule seq_inter_data's imports leave torch out."""

import subprocess
import sys
from pathlib import Path

import pytest

from memkd.seq_inter import select_closest_candidate, seq_inter_targets

ROOT = Path(__file__).resolve().parents[2]


def test_select_closest_candidate_prefers_the_exact_match():
    reference = "the cat sat on the mat"
    candidates = ["the cat sat", "a dog ran", "the cat sat on the mat", "the cat sat on a mat"]
    assert select_closest_candidate(candidates, reference) == 2


def test_select_closest_candidate_breaks_ties_towards_the_earliest():
    reference = "the cat sat on the mat"
    assert select_closest_candidate(["a dog ran", "the cat sat on a mat", "the cat sat on a mat"], reference) == 1
    assert select_closest_candidate(["x y z", "p q r"], reference) == 0  # both score 0


def test_seq_inter_targets_pick_per_sentence():
    kbest = [["hello there", "hello world"], ["good night", "good morning"]]
    assert seq_inter_targets(kbest, ["hello world", "good night"]) == ["hello world", "good night"]


def test_seq_inter_targets_name_the_empty_list_and_length_mismatch():
    with pytest.raises(ValueError, match="sentence 1: empty"):
        seq_inter_targets([["a b"], [], ["c"]], ["a b", "x", "c"])
    with pytest.raises(ValueError, match="2 k-best lists but 3 references"):
        seq_inter_targets([["a"], ["b"]], ["a", "b", "c"])
    with pytest.raises(ValueError, match="no candidates"):
        select_closest_candidate([], "a")


def test_the_seq_inter_data_script_imports_no_torch():
    # its imports (scripts/seq_inter_data.py) and the CTranslate2 decoder loaded by name: torch stays out
    code = ("import sys, ast, pathlib\n"
            "tree = ast.parse(pathlib.Path('scripts/seq_inter_data.py').read_text())\n"
            "for node in tree.body:\n"
            "    if isinstance(node, (ast.Import, ast.ImportFrom)):\n"
            "        exec(compile(ast.Module([node], []), 'imports', 'exec'))\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "seq_inter_targets" in (ROOT / "scripts" / "seq_inter_data.py").read_text()
    assert done.stdout.strip() == "[]"
