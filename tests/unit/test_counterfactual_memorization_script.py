"""Rule counterfactual_memorization's script on hand-made tables, read in chunks of 2 pairs: per pair, mean p over
its IN and OUT models and their difference, as computed by hand; score files that do not follow the design id by id
stop the job, naming the file and both counts, and leave no table behind."""

import math
import runpy
import types
from pathlib import Path

import pytest

from memkd import io

ROOT = Path(__file__).resolve().parents[2]
IDS = ["a", "b", "c", "d", "e"]
DESIGN = {"cm00": [1, 0, 1, 0, 1], "cm01": [0, 1, 0, 1, 0]}  # each pair IN for one model, OUT for the other
LOG_PROBS = {"cm00": [-1.0, -2.0, -0.5, -4.0, -3.0], "cm01": [-2.0, -1.0, -1.5, -0.2, -6.0]}


def run_script(tmp_path, monkeypatch, score_ids=None) -> Path:
    design = tmp_path / "design.tsv"
    design.write_text("id\tdesign_group\tgroup_size\trepetitions\tcm00\tcm01\n" + "".join(
        f"{i}\t{k}\t1\t1\t{DESIGN['cm00'][k]}\t{DESIGN['cm01'][k]}\n" for k, i in enumerate(IDS)))
    scores = []
    for model in DESIGN:
        path = tmp_path / model / "study_train.tsv"
        path.parent.mkdir()
        ids = (score_ids or {}).get(model, IDS)
        path.write_text("id\ttokens\tlog_prob\n" + "".join(
            f"{i}\t2\t{LOG_PROBS[model][k % 5]}\n" for k, i in enumerate(ids)))
        scores.append(str(path))
    output = tmp_path / "cm" / "examples.tsv"
    monkeypatch.setattr(io, "CHUNK_ROWS", 2)
    snakemake = types.SimpleNamespace(input=types.SimpleNamespace(design=str(design), scores=scores),
                                      output=[str(output)], log=[str(tmp_path / "cm.log")],
                                      params=types.SimpleNamespace(models=list(DESIGN), score_base="e"))
    runpy.run_path(str(ROOT / "scripts/counterfactual_memorization.py"), init_globals={"snakemake": snakemake})
    return output


def test_each_pairs_in_and_out_probabilities_and_their_difference(tmp_path, monkeypatch):
    lines = run_script(tmp_path, monkeypatch).read_text().splitlines()
    assert lines[0] == "id\tgroup_size\trepetitions\tin_models\tout_models\tp_in\tp_out\tcm\tscore"
    for k, line in enumerate(lines[1:]):
        inside, outside = ("cm00", "cm01") if DESIGN["cm00"][k] else ("cm01", "cm00")
        p_in, p_out = math.exp(LOG_PROBS[inside][k] / 2), math.exp(LOG_PROBS[outside][k] / 2)
        cells = line.split("\t")
        assert cells[:5] == [IDS[k], "1", "1", "1", "1"] and cells[8] == "exp(mean ln p)"
        assert [float(c) for c in cells[5:8]] == pytest.approx([p_in, p_out, p_in - p_out], abs=1e-6)
    assert len(lines) == 6


@pytest.mark.parametrize("ids,count", [(["a", "b", "d", "c", "e"], 5), (["a", "b", "c", "d"], 4),
                                       (["a", "b", "c", "d", "e", "f"], 6)])
def test_scores_that_do_not_follow_the_design_stop_the_job(tmp_path, monkeypatch, ids, count):
    with pytest.raises(SystemExit):
        run_script(tmp_path, monkeypatch, {"cm01": ids})
    assert f"cm01/study_train.tsv: {count} scored pairs whose ids differ from the CM design's 5" in \
        (tmp_path / "cm.log").read_text()
    assert not (tmp_path / "cm").exists() or not list((tmp_path / "cm").iterdir())
