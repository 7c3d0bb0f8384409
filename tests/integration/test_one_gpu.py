"""The one-GPU preset (configs/one_gpu.yaml, configs/one_gpu_variants.yaml) with its profile (profiles/one_gpu):
the full presets are planned by a dry run (no GPU needed), and the preset scaled down for CI
(tests/config/one_gpu_tiny.yaml, layered over it) really runs through the profile to the summary on the CPU."""

import re

import pandas as pd
import pytest
import yaml

from .conftest import ROOT, run_snakemake
from .test_memorization import FIGURES

pytestmark = pytest.mark.integration

PROFILE = ["--workflow-profile", str(ROOT / "profiles" / "one_gpu")]
ONE_GPU = ROOT / "configs" / "one_gpu.yaml"
VARIANTS = ROOT / "configs" / "one_gpu_variants.yaml"
TINY = ROOT / "tests" / "config" / "one_gpu_tiny.yaml"
DIRECTIONS = ("en-es", "es-en")
TINY_DIRECTIONS = ("en-es",)


def planned_jobs(output: str) -> list[dict]:
    """The jobs of a dry run's log: rule, wildcards, resources (values as strings) and whether prioritized."""
    jobs = []
    for block in re.split(r"\n\s*\n", output):
        rule = re.search(r"^rule (\w+):", block, re.M)
        if not rule:
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, re.M))
        jobs.append({
            "rule": rule.group(1),
            "wildcards": dict(item.split("=", 1) for item in fields.get("wildcards", "").split(", ") if "=" in item),
            "resources": dict(item.split("=", 1) for item in fields.get("resources", "").split(", ") if "=" in item),
            "priority": fields.get("priority"),
        })
    return jobs


def profile_slots() -> int:
    profile = yaml.safe_load((ROOT / "profiles" / "one_gpu" / "config.yaml").read_text())
    return int(dict(item.split("=") for item in profile["resources"])["gpu_slots"])


def test_the_variants_preset_keeps_the_defaults_variants():
    """one_gpu.yaml switches the variants off, one_gpu_variants.yaml switches config.yaml's back on, unchanged."""
    default = yaml.safe_load((ROOT / "config.yaml").read_text())["variants"]
    core = yaml.safe_load(ONE_GPU.read_text())["variants"]
    assert set(core) == set(default) and all(spec is None for spec in core.values())
    assert yaml.safe_load(VARIANTS.read_text())["variants"] == default


def test_every_rule_that_can_use_the_gpu_has_a_share_in_the_profile():
    """Every rule with a `gpu` resource, the shard rules and train_cm_models included (the presets plan neither:
    sharding is off and CM models train a job each), takes gpu_slots in profiles/one_gpu: a rule without a share would
    be packed onto the GPU without limit when a user switches it on."""
    gpu_rules = set()
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for match in re.finditer(r"^\s*(?:rule|checkpoint) (\w+):\n(.*?)(?=^\s*(?:rule|checkpoint) \w+:|\Z)",
                                 path.read_text(), re.M | re.S):
            if re.search(r"^\s+gpu=", match.group(2), re.M):
                gpu_rules.add(match.group(1))
    assert {"train_model", "translate_shard", "score_cm_references_shard", "seq_inter_data_shard"} <= gpu_rules
    shares = yaml.safe_load((ROOT / "profiles" / "one_gpu" / "config.yaml").read_text())["set-resources"]
    assert sorted(gpu_rules - set(shares)) == []
    assert all("gpu_slots" in shares[rule] for rule in gpu_rules)


@pytest.mark.parametrize("configs", [[ONE_GPU], [ONE_GPU, VARIANTS]], ids=["core", "variants"])
def test_the_presets_plan_every_gpu_job_with_a_share_of_the_one_gpu(tmp_path, configs):
    planned = run_snakemake(tmp_path, "--dry-run", *PROFILE, configs=configs)
    jobs = planned_jobs(planned.stdout)
    trainings = [job for job in jobs if job["rule"] == "train_model"]
    seeds = yaml.safe_load(ONE_GPU.read_text())["seeds"]
    assert len(seeds) >= 2

    # 8 CM models per direction and seed, next to a teacher, baseline and student of each
    for direction in DIRECTIONS:
        src, tgt = direction.split("-")
        for seed in seeds:
            roles = {job["wildcards"]["role"] for job in trainings
                     if (job["wildcards"]["src"], job["wildcards"]["tgt"], job["wildcards"]["seed"]) == (src, tgt, str(seed))}
            assert {f"cm{m:02d}" for m in range(8)} | {"teacher", "baseline", "student"} <= roles, (direction, seed)
    assert not any(job["wildcards"].get("role", "").startswith("cm08") for job in trainings)

    # every job that asks for the GPU takes a share of it, and no share exceeds what the profile offers
    gpu_jobs = [job for job in jobs if int(job["resources"].get("gpu", 0)) > 0]
    assert {job["rule"] for job in gpu_jobs} >= {"train_model", "translate_model", "score_references",
                                                 "quality_estimate", "memorization_examples"}
    unpacked = {job["rule"] for job in gpu_jobs if int(job["resources"].get("gpu_slots", 0)) < 1}
    assert not unpacked, f"GPU rules without gpu_slots in profiles/one_gpu: {sorted(unpacked)}"
    assert max(int(job["resources"]["gpu_slots"]) for job in gpu_jobs) <= profile_slots()
    for job in trainings:
        assert job["resources"]["gpu"] == "1"
        role = job["wildcards"]["role"]
        assert job["resources"]["gpu_slots"] == ("3" if role.startswith("teacher") else "1"), role
        # the teachers (the SeqKD data) go first; baselines and CM models fill the remaining slots
        assert (job["priority"] == "highest") == (role == "teacher"), role

    if VARIANTS in configs:  # every variant of config.yaml, at every seed
        variant_roles = set(yaml.safe_load(VARIANTS.read_text())["variants"])
        planned_variants = [job for job in trainings if job["wildcards"]["role"] in variant_roles]
        assert {job["wildcards"]["role"] for job in planned_variants} == variant_roles
        assert {job["wildcards"]["seed"] for job in planned_variants} == {str(seed) for seed in seeds}


@pytest.fixture(scope="module")
def tiny_one_gpu(tmp_path_factory):
    """The scaled-down preset through the one-GPU profile on 2 CPU cores, from the corpus on. Its own folder, not a
    copy of the tiny study's corpus: Snakemake fetches copied Debian package folders again ("Code has changed")."""
    workdir = tmp_path_factory.mktemp("one_gpu")
    done = run_snakemake(workdir, *PROFILE, configs=[ONE_GPU, TINY])
    (workdir / "snakemake.out").write_text(done.stdout + done.stderr)
    return workdir


def test_the_scaled_down_preset_runs_to_the_summary(tiny_one_gpu):
    results = tiny_one_gpu / "results"
    summary = results / "summary" / "bible.md"
    assert summary.exists() and summary.stat().st_size > 0
    for name in ("translation_quality", "memorization", "hallucination", "quality_estimates", "qe_validity",
                 "counterfactual", "subgroups", "relative_change", "inheritance", "predictor"):
        assert not pd.read_csv(results / "tables" / "bible" / f"{name}.tsv", sep="\t").empty, name
    for name in FIGURES:
        for ext in ("png", "pdf"):
            assert (results / "figures" / "bible" / f"{name}.{ext}").stat().st_size > 0, (name, ext)
    quality = pd.read_csv(results / "tables" / "bible" / "translation_quality.tsv", sep="\t")
    assert set(quality["role"]) == {"teacher", "baseline", "student"}
    assert set(quality["direction"]) == {"en-es"}


def test_the_study_takes_every_training_pair_and_the_teachers_estimate_quality(tiny_one_gpu):
    data = tiny_one_gpu / "results" / "data" / "bible"
    for direction in TINY_DIRECTIONS:
        train = pd.read_csv(data / direction / "train.tsv", sep="\t", dtype=str, keep_default_na=False)
        study = pd.read_csv(data / direction / "study_train.tsv", sep="\t", dtype=str, keep_default_na=False)
        assert len(train) == 200 and set(study["id"]) == set(train["id"]), direction
    assert not list((tiny_one_gpu / "results" / "qe").glob("bible/*/model")), "held-out QE models were trained"


def test_the_cm_design_has_8_models_on_balanced_halves(tiny_one_gpu):
    for direction in TINY_DIRECTIONS:
        design = pd.read_csv(tiny_one_gpu / "results" / "cm" / "bible" / direction / "seed1" / "design.tsv", sep="\t")
        models = [f"cm{m:02d}" for m in range(8)]
        assert [c for c in design.columns if c.startswith("cm")] == models
        assert (design[models].sum(axis=1) == 4).all(), "every pair is IN for exactly 4 of the 8 models"
        for m in range(0, 8, 2):  # complementary pairs of halves, each half of the pairs (within one)
            assert (design[models[m]] + design[models[m + 1]] == 1).all()
            assert abs(design[models[m]].sum() - len(design) / 2) <= 1
        cm = pd.read_csv(tiny_one_gpu / "results" / "cm" / "bible" / direction / "seed1" / "examples.tsv", sep="\t")
        assert len(cm) == len(design)


def most_gpu_jobs_at_once(output: str) -> int:
    """The most jobs asking for a GPU that a run's log shows running at the same time."""
    running, gpu_jobs, most, job = set(), set(), 0, None
    for line in output.splitlines():
        if re.match(r"^(local)?rule \w+:", line):
            job = None
        elif (started := re.match(r"^\s+jobid: (\d+)", line)) and job is None:
            job = started.group(1)
        elif job and re.match(r"^\s+resources: .*\bgpu=[1-9]", line):
            gpu_jobs.add(job)
            running.add(job)
            most = max(most, len(running))
        elif finished := re.match(r"^Finished jobid: (\d+)", line):
            running.discard(finished.group(1))
    assert gpu_jobs, "no job asked for a GPU"
    return most


def test_jobs_that_ask_for_the_gpu_run_side_by_side(tiny_one_gpu):
    """Every training, decoding and scoring job asks for gpu=1 and a GPU slot; the profile must not run them one at a
    time (on 2 cores: two at once)."""
    output = (tiny_one_gpu / "snakemake.out").read_text()
    provided = re.search(r"^Provided resources: (.*)$", output, re.M)
    # e.g. 'gpu_slots=Resource("gpu_slots", 12), mem_mb=Resource("mem_mb", 120000)'
    slots = provided and re.search(r'gpu_slots=(?:Resource\("gpu_slots", )?(\d+)', provided.group(1))
    assert slots and int(slots.group(1)) == profile_slots(), provided
    assert not re.search(r"\bgpu\b", provided.group(1)), "the one GPU's jobs must not be limited by a global gpu"
    assert most_gpu_jobs_at_once(output) == 2


def test_on_the_cluster_settings_only_models_trained_from_scratch_take_the_presets_gpus(tmp_path):
    """configs/gpu_cluster.yaml gives the teacher 2 GPUs (DDP). Models that start from another (Adaptive-SeqKD's
    teachers, pruned and fine-tuned variants) or learn from the teacher's distributions train on one device
    (train_model refuses DDP for them), so their jobs ask for one GPU, not the teacher preset's two."""
    planned = run_snakemake(tmp_path, "--dry-run", configs=[ROOT / "configs" / "gpu_cluster.yaml"]).stdout
    gpus = {job["wildcards"]["role"]: job["resources"]["gpu"] for job in planned_jobs(planned)
            if job["rule"] == "train_model" and job["wildcards"].get("seed") == "1"}
    assert gpus["teacher"] == "2"
    for role in ("teacher_quality", "teacher_random", "baseline", "student", "word_kd", "self_evolution",
                 "student_pruned50", "seq_inter"):
        assert gpus[role] == "1", role
