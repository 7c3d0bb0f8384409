"""The LM track's models and file layout, as plain data and pure functions the rules file imports (so the
dependencies of each model are in one place and testable without Snakemake)."""

from __future__ import annotations

ROOT = "results/lm"
DATA = f"{ROOT}/data"
# role -> (architecture, training rows, loss, teacher's soft targets?, flagged examples removed for which student)
ROLES = {
    "teacher": {"size": "large", "rows": "finetune", "soft": False, "removal": None},
    "baseline": {"size": "small", "rows": "finetune", "soft": False, "removal": None},
    "soft": {"size": "small", "rows": "finetune", "soft": True, "removal": None},
    "hard": {"size": "small", "rows": "hard", "soft": False, "removal": None},
    "soft_removed": {"size": "small", "rows": "finetune", "soft": True, "removal": "soft"},
    "hard_removed": {"size": "small", "rows": "hard", "soft": False, "removal": "hard"},
}
STUDENTS = ("soft", "hard")


def model_dir(seed, role: str) -> str:
    return f"{ROOT}/models/seed{seed}/{role}"


def scores_path(seed, role: str) -> str:
    return f"{ROOT}/scores/seed{seed}/{role}.tsv"


def train_inputs(wildcards) -> dict:
    """Inputs of one fine-tuned model: its pre-trained start, the examples (fine-tuning, held-out), the teacher
    for soft targets or hard continuations, the predictor's flags for a removal run."""
    spec = ROLES[wildcards.lmrole]
    seed = wildcards.seed
    inputs = {"init": f"{ROOT}/models/pretrained_{spec['size']}", "examples": f"{DATA}/finetune.tsv",
              "heldout": f"{DATA}/heldout.tsv"}
    if spec["soft"] or spec["rows"] == "hard":  # soft targets, or the greedy continuations the hard student copies
        inputs["teacher"] = model_dir(seed, "teacher")
    if spec["removal"]:
        inputs["flagged"] = f"{ROOT}/predictor/seed{seed}/flagged.tsv"
    return inputs


def score_roles(removal_students) -> list[str]:
    return ["teacher", "baseline", *STUDENTS, *(f"{s}_removed" for s in removal_students)]


def table_names() -> list[str]:
    return ["memorization", "relative_change", "inheritance", "soft_vs_hard", "predictor", "roc", "removal"]


def figure_names() -> list[str]:
    return ["rates", "inheritance", "predictor_roc", "removal"]
