"""Rule counterfactual_table's script on hand-made tables, read in chunks of 2 rows: every direction and seed's CM
rows with their QE, in order; a QE table that does not follow its CM table id by id stops the job, naming both
files and their row counts, and leaves no table behind."""

import runpy
import types
from pathlib import Path

import pytest

from memkd import io

ROOT = Path(__file__).resolve().parents[2]
CM_HEADER = "id\tgroup_size\trepetitions\tin_models\tout_models\tp_in\tp_out\tcm\tscore\n"


def write_unit(tmp_path, direction: str, ids: list[str], qe_ids: list[str]) -> tuple[str, str]:
    cm = tmp_path / "results/cm/bible" / direction / "seed2/examples.tsv"
    qe = tmp_path / "results/quality/bible" / direction / "seed2/reference/study_train.tsv"
    cm.parent.mkdir(parents=True)
    qe.parent.mkdir(parents=True)
    cm.write_text(CM_HEADER + "".join(f"{i}\t1\t1\t2\t2\t0.{k}\t0.1\t0.{k}\tgeo\n" for k, i in enumerate(ids)))
    qe.write_text("id\tqe\tqe_method\n" + "".join(f"{i}\t-{k}.5\tdual_xent\n" for k, i in enumerate(qe_ids)))
    return str(cm), str(qe)


def run_script(tmp_path, units, monkeypatch) -> Path:
    output = tmp_path / "tables/counterfactual.tsv"
    monkeypatch.setattr(io, "CHUNK_ROWS", 2)
    snakemake = types.SimpleNamespace(input=types.SimpleNamespace(cm=[u[0] for u in units], qe=[u[1] for u in units]),
                                      output=[str(output)], log=[str(tmp_path / "table.log")],
                                      params=types.SimpleNamespace(models=4))
    runpy.run_path(str(ROOT / "scripts/counterfactual_table.py"), init_globals={"snakemake": snakemake})
    return output


def test_rows_of_every_unit_in_order_with_their_qe(tmp_path, monkeypatch):
    units = [write_unit(tmp_path, "en-es", ["a", "b", "c"], ["a", "b", "c"]),
             write_unit(tmp_path, "es-en", ["x", "y"], ["x", "y"])]
    lines = run_script(tmp_path, units, monkeypatch).read_text().splitlines()
    assert lines[0].split("\t") == ["corpus", "direction", "seed", "id", "group_size", "repetitions", "in_models",
                                    "out_models", "p_in", "p_out", "cm", "score", "qe", "qe_method", "cm_models"]
    assert [line.split("\t")[:4] for line in lines[1:]] == [
        ["bible", "en-es", "2", "a"], ["bible", "en-es", "2", "b"], ["bible", "en-es", "2", "c"],
        ["bible", "es-en", "2", "x"], ["bible", "es-en", "2", "y"]]
    assert lines[3].split("\t")[-3:] == ["-2.5", "dual_xent", "4"]


@pytest.mark.parametrize("qe_ids,rows", [(["a", "c", "b"], 3), (["a", "b"], 2), (["a", "b", "c", "d"], 4)])
def test_qe_rows_that_do_not_follow_the_cm_rows_stop_the_job(tmp_path, monkeypatch, qe_ids, rows):
    units = [write_unit(tmp_path, "en-es", ["a", "b", "c"], qe_ids)]
    with pytest.raises(SystemExit):
        run_script(tmp_path, units, monkeypatch)
    assert f"study_train.tsv: its {rows} rows do not follow" in (tmp_path / "table.log").read_text()
    assert "examples.tsv (3) id by id" in (tmp_path / "table.log").read_text()
    assert not (tmp_path / "tables").exists() or not list((tmp_path / "tables").iterdir())
