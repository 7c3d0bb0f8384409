"""Rule seqkd_data's script on hand-made files: the SeqKD table read and written in chunks is the whole table, and a
translation file of another length stops the job with both counts, leaving no table behind."""

import runpy
import types
from pathlib import Path

import pytest

from memkd import io

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [("a", "one", "uno"), ("b", "two", "dos"), ("c", "three", "tres"), ("d", "four", "cuatro"), ("e", "five", "cinco")]


def run_script(tmp_path, hypotheses: list[str], monkeypatch) -> Path:
    pairs = tmp_path / "study_train.tsv"
    pairs.write_text("id\tsrc\ttgt\tgroup\n" + "".join(f"{i}\t{s}\t{t}\tg{i}\n" for i, s, t in PAIRS), encoding="utf-8")
    translations = tmp_path / "study_train.greedy.txt"
    translations.write_text("".join(f"{h}\n" for h in hypotheses), encoding="utf-8")
    output = tmp_path / "seqkd" / "train.tsv"
    monkeypatch.setattr(io, "CHUNK_ROWS", 2)  # chunks of 2 rows: 5 pairs cross two chunk boundaries
    snakemake = types.SimpleNamespace(input=types.SimpleNamespace(pairs=str(pairs), hypotheses=str(translations)),
                                      output=[str(output)], log=[str(tmp_path / "seqkd.log")])
    runpy.run_path(str(ROOT / "scripts/seqkd_data.py"), init_globals={"snakemake": snakemake})
    return output


def test_the_table_pairs_each_source_with_its_translation_and_keeps_the_reference(tmp_path, monkeypatch):
    output = run_script(tmp_path, ["uno", "dos!", "tres", "cuatro?", "cinco"], monkeypatch)
    assert output.read_text(encoding="utf-8") == (
        "id\tsrc\ttgt\treference\n" "a\tone\tuno\tuno\n" "b\ttwo\tdos!\tdos\n" "c\tthree\ttres\ttres\n"
        "d\tfour\tcuatro?\tcuatro\n" "e\tfive\tcinco\tcinco\n")
    assert "teacher output equals the reference for 3" in (tmp_path / "seqkd.log").read_text()


@pytest.mark.parametrize("lines", [3, 4, 6])
def test_a_translation_file_of_another_length_names_both_counts(tmp_path, monkeypatch, lines):
    with pytest.raises(SystemExit):
        run_script(tmp_path, [f"t{k}" for k in range(lines)], monkeypatch)
    assert f"study_train.greedy.txt: {lines} lines for 5 sources in" in (tmp_path / "seqkd.log").read_text()
    assert not (tmp_path / "seqkd" / "train.tsv").exists()
    assert not [p for p in (tmp_path / "seqkd").iterdir()]  # no temporary file left either
