"""bench/fixed_cost.py: which script each rule runs, what its job loads from a run folder, and a start-up timed
without running the script's work."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("fixed_cost", ROOT / "bench" / "fixed_cost.py")
fixed_cost = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixed_cost)


def test_every_rule_maps_to_its_script():
    scripts = fixed_cost.rule_scripts()
    assert scripts["evaluate"] == ROOT / "scripts" / "evaluate.py"
    assert scripts["score_cm_references"] == scripts["score_references"] == ROOT / "scripts" / "score_references.py"
    assert scripts["cm_design"] == ROOT / "scripts" / "cm_design.py"
    assert "train_model" in scripts and all(path.is_file() for path in scripts.values())


def test_the_models_a_job_loads_come_from_the_run_folder(tmp_path):
    assert fixed_cost.models_to_load(tmp_path, "model") is None  # no model in the run: nothing to time
    assert fixed_cost.models_to_load(tmp_path, None) == []
    teacher = tmp_path / "results/models/bible/en-es/seed1/teacher"
    converted = tmp_path / "results/ct2/models/bible/en-es/seed1/teacher"
    for folder in (teacher, converted):
        folder.mkdir(parents=True)
    assert fixed_cost.models_to_load(tmp_path, "model") == [(str(teacher), str(converted))]


def test_start_up_is_timed_without_the_work():
    # evaluate.py's main reads snakemake.input, which the probe's stand-in lacks: running it would fail the probe
    cost = fixed_cost.fixed_cost(ROOT / "scripts" / "evaluate.py", [], repeats=1)
    assert 0 < cost["startup"] < 60 and 0 <= cost["load"] < 0.5
    lazy = fixed_cost.fixed_cost(ROOT / "scripts" / "evaluate.py", [], repeats=1, lazy_imports="import torch")
    assert lazy["load"] > cost["load"]  # torch's import counted as the load
