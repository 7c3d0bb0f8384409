import os

from snakemake.utils import validate

from memkd.adaptive import ARMS
from memkd.config import (
    check_config,
    corpus_inputs,
    fine_tuning_rate,
    library_version,
    variant_seeds,
    wmt20_download_url,
)
from memkd.resources import RUNTIME_CAP, cm_half_mb, job_data_mb, rule_resource
from memkd.shards import read_plan

# Validate first: a bad config stops the run before any job, with a message naming the key.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)

# Every job inherits this: MKL (torch's CPU math) otherwise may run a call on fewer threads than set, which can split
# the work differently and change the last bits of a result; memkd.train holds it too (see hold_mkl_threads).
os.environ.setdefault("MKL_DYNAMIC", "FALSE")

CORPUS = config["corpus"]
SPLITS = ["train", "dev", "test", "probe"]
PAIR_DIRECTIONS = [d.split("-") for d in config["directions"]]
# a variant set to null is switched off (how a config file drops a variant that config.yaml defines)
VARIANTS = {name: spec for name, spec in config["variants"].items() if spec is not None}
ROLES = ["teacher", "baseline", "student", *VARIANTS]
ADAPTIVE_VARIANTS = {
    name: spec for name, spec in VARIANTS.items() if spec["data"] == "adaptive_seqkd"
}
# the other variants: compared with baseline, student and their control in the variants table
OTHER_VARIANTS = {
    name: spec for name, spec in VARIANTS.items() if name not in ADAPTIVE_VARIANTS
}
STUDENT_ROLES = ["student", *VARIANTS]
# the variants train at these seeds only (config variant_seeds); teacher, baseline, student and CM at every seed
VARIANT_SEEDS = variant_seeds(config)


def roles_at(seed, roles=ROLES):
    """The entries of `roles` trained at `seed`: a variant only at its seeds (its own, else VARIANT_SEEDS)."""
    return [
        role
        for role in roles
        if role not in VARIANTS or int(seed) in variant_seeds(config, VARIANTS[role])
    ]


# Which preset (architecture and training settings) each role uses; CM models (cm00, cm01, ...) use `cm`.
ROLE_PRESET = {"teacher": "teacher", **{role: "student" for role in ROLES[1:]}}
# Adaptive-SeqKD: the teacher fine-tuned on the selected pairs (teacher_quality) or on its random control
# (teacher_random); intermediate models that only translate for their students.
ADAPTIVE_TEACHERS = [f"teacher_{arm}" for arm in ARMS]
ROLE_PRESET.update({role: "teacher" for role in ADAPTIVE_TEACHERS})
# What every study model translates in one job (one start-up of torch and transformers instead of one per file):
# the whole training source and the probe set greedily, the test set with each evaluation decoding
MODEL_TRANSLATIONS = list(
    dict.fromkeys(
        ["study_train.greedy", "probe.greedy"]
        + [f"test.{decoding}" for decoding in config["decoding"]["evaluation"]]
    )
)
# sharding.sentences: translations cut into shards of this many sentences (translate_shard, gather_translation);
# null or 0: one job per model as translate_model / translate
SHARD_SENTENCES = (config.get("sharding") or {}).get("sentences") or 0
CM_ROLES = [f"cm{m:02d}" for m in range(config["counterfactual"]["models"])]
# all: a direction and seed's CM models train in one job (train_cm_models); 1: one job per model (train_model)
CM_MODELS_PER_JOB = config["counterfactual"]["models_per_job"]
# Snakemake reruns a job when its script changes but not when the library changes; these code
# versions in params make results follow the library modules they depend on.
CORPUS_CODE = library_version(
    "corpora/load.py",
    "corpora/bible.py",
    "corpora/sword.py",
    "corpora/lohelp.py",
    "corpora/usertsv.py",
    "corpora/wmt20.py",
    "digests.py",
    "preprocess.py",
)
PREPROCESS_CODE = library_version("preprocess.py", "groups.py")
TOKENIZER_CODE = library_version("tokenizer.py")
STUDY_CODE = library_version("study.py", "preprocess.py")
TOKENS_CODE = library_version("data.py", "tokenizer.py")
MODEL_CODE = library_version(
    "model.py", "marian.py", "data.py", "train.py", "losses.py", "prune.py"
)
DECODE_CODE = library_version("model.py", "marian.py", "data.py", "decode.py", "ct2.py")
CONVERT_CODE = library_version("model.py", "marian.py", "ct2.py")
EVALUATE_CODE = library_version("evaluate.py")
SCORE_CODE = library_version(
    "model.py", "marian.py", "data.py", "decode.py", "ct2.py", "shards.py"
)
KL_CODE = library_version(
    "model.py", "marian.py", "data.py", "decode.py", "shards.py", "tokenizer.py"
)
QE_CODE = library_version(
    "model.py", "marian.py", "data.py", "decode.py", "ct2.py", "metrics/quality.py"
)
QE_SHARD_CODE = library_version(
    "model.py",
    "marian.py",
    "data.py",
    "decode.py",
    "ct2.py",
    "metrics/quality.py",
    "shards.py",
)
QE_DATA_CODE = library_version("metrics/quality.py", "preprocess.py", "digests.py")
MEMORIZATION_CODE = library_version(
    "model.py",
    "marian.py",
    "data.py",
    "decode.py",
    "ct2.py",
    "exmem.py",
    "langid.py",
    "metrics/replication.py",
    "metrics/extractive.py",
    "metrics/oscillation.py",
    "metrics/natural.py",
    "examples.py",
    "digests.py",
)
EXMEM_SHARD_CODE = library_version(
    "model.py",
    "marian.py",
    "data.py",
    "decode.py",
    "ct2.py",
    "exmem.py",
    "langid.py",
    "metrics/replication.py",
    "metrics/extractive.py",
    "shards.py",
)
CM_CODE = library_version("metrics/counterfactual.py", "groups.py", "digests.py")
PREDICTOR_CODE = library_version(
    "predictor.py",
    "metrics/inheritance.py",
    "metrics/counterfactual.py",
    "tables.py",
    "digests.py",
)
TABLES_CODE = library_version(
    "stats.py",
    "tables.py",
    "digests.py",
    "metrics/subgroups.py",
    "metrics/inheritance.py",
    "evaluate.py",
)
PLOTS_CODE = library_version("plots.py", "tables.py", "metrics/subgroups.py")
SUMMARY_CODE = library_version("summary.py", "tables.py")
SUMMARY_TABLES = [
    "translation_quality",
    "memorization",
    "hallucination",
    "relative_change",
    "counterfactual",
    "inheritance",
    "predictor",
    "qe_validity",
]
FIGURES = [
    "model_comparison",
    "relative_change",
    "memorization_map",
    "subgroups",
    "predictor_roc",
]


wildcard_constraints:
    corpus=r"[A-Za-z0-9_]+",
    package=r"[a-z0-9][a-z0-9.+-]+",
    split="train|dev|test|probe|study_train",
    role="|".join(ROLES + ADAPTIVE_TEACHERS) + r"|cm[0-9]+",
    texts="|".join(["reference", *ROLES]),
    decoding=r"greedy|beam[0-9]+",
    k=r"[0-9]+",
    seed=r"[0-9]+",
    src=r"[a-z]{2,3}",
    tgt=r"[a-z]{2,3}",
    filename=r"[^/]+",


def data_targets():
    """What the data stage delivers for the configured corpus."""
    base = f"results/data/{CORPUS}"
    return [f"{base}/report.json", f"{base}/spm.model"] + [
        f"{base}/{src}-{tgt}/{split}.tsv"
        for src, tgt in PAIR_DIRECTIONS
        for split in SPLITS
    ]


def quality_targets():
    """Test-set quality of every model in one table, and every model's greedy translation of the
    whole training source (what the memorization metrics read)."""
    return [f"results/tables/{CORPUS}/translation_quality.tsv"] + [
        f"results/translations/{CORPUS}/{src}-{tgt}/seed{seed}/{role}/study_train.greedy.txt"
        for src, tgt in PAIR_DIRECTIONS
        for seed in config["seeds"]
        for role in roles_at(seed)
    ]


def memorization_targets():
    """The memorization stage's tables: per-example files first, then one tidy table per analysis."""
    tables = [
        "memorization",
        "hallucination",
        "quality_estimates",
        "qe_validity",
        "counterfactual",
        "subgroups",
        "relative_change",
        "inheritance",
        "predictor",
    ]
    if ADAPTIVE_VARIANTS:
        tables.append("adaptive_seqkd")
    if OTHER_VARIANTS:
        tables.append("variants")
    return [f"results/tables/{CORPUS}/{name}.tsv" for name in tables]


def study_figure_names():
    """The study's figures: the core ones, and the variants' where configured."""
    return (
        FIGURES
        + (["model_comparison_variants"] if VARIANTS else [])
        + (["adaptive_seqkd"] if ADAPTIVE_VARIANTS else [])
    )


def figure_targets():
    """Every figure (PNG and PDF) and the study summary, drawn from the cached tables."""
    return [
        f"results/figures/{CORPUS}/{name}.{ext}"
        for name in study_figure_names()
        for ext in ("png", "pdf")
    ] + [f"results/summary/{CORPUS}.md"]


def evaluation_files(wildcards):
    return [
        f"results/metrics/{wildcards.corpus}/{src}-{tgt}/seed{seed}/{role}/test.{decoding}.json"
        for src, tgt in PAIR_DIRECTIONS
        for seed in config["seeds"]
        for role in roles_at(seed)
        for decoding in config["decoding"]["evaluation"]
    ]


def training_pairs(wildcards):
    """Teacher, baseline and CM models (each its half, cm_half) learn the study's pairs; the SeqKD student learns
    the teacher's translations."""
    base = f"{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}"
    variant = VARIANTS.get(wildcards.role, {})
    adaptive = f"results/adaptive/{base}/seed{wildcards.seed}"
    if wildcards.role in ADAPTIVE_TEACHERS:  # the selected pairs, or the random control
        return f"{adaptive}/{wildcards.role.removeprefix('teacher_')}.tsv"
    if (
        variant.get("data") == "adaptive_seqkd"
    ):  # what the fine-tuned teacher makes of every source
        decoding = variant.get("seqkd_decoding", config["decoding"]["seqkd"])
        return f"{adaptive}/{variant['selection']}/seqkd.{decoding}.tsv"
    if variant.get("data") == "seq_inter":
        return f"results/seqinter/{base}/seed{wildcards.seed}/k{variant['seq_inter_k']}/train.tsv"
    if wildcards.role == "student" or variant.get("data") == "seqkd":
        decoding = variant.get("seqkd_decoding", config["decoding"]["seqkd"])
        return f"results/seqkd/{base}/seed{wildcards.seed}/{decoding}/train.tsv"
    return f"results/data/{base}/study_train.tsv"


def teacher_outputs(wildcards):
    """What a model's "replication vs teacher" compares with: for a student that learned from a teacher's
    translations (SeqKD greedy or beam k, Adaptive-SeqKD), exactly those targets (its training file, in study
    order); for every other model the teacher's greedy translation of the study sources.
    """
    variant = VARIANTS.get(wildcards.role, {})
    if wildcards.role == "student" or variant.get("data") in (
        "seqkd",
        "adaptive_seqkd",
    ):
        return training_pairs(wildcards)
    return f"results/translations/{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}/seed{wildcards.seed}/teacher/study_train.greedy.txt"


def token_store(pairs):
    """The token store (rule tokenize_pairs) of a table of pairs."""
    return pairs.removesuffix(".tsv") + ".tokens"


def cm_half(wildcards):
    """A CM model's training data: the study pairs' token store and the design whose column for the model marks the
    rows of its half (in study order): M halves of the study pairs need no copy or token store each.
    """
    base = f"{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}"
    return {
        "tokens": token_store(f"results/data/{base}/study_train.tsv"),
        "design": f"results/cm/{base}/seed{wildcards.seed}/design.tsv",
    }


def training_inputs(wildcards):
    """What a model learns from: its pairs and the tokenizer, and for a distilled variant the teacher."""
    pairs = training_pairs(wildcards)
    inputs = {
        "pairs": pairs,
        "tokens": token_store(pairs),
        "spm": f"results/data/{wildcards.corpus}/spm.model",
    }
    # a CM model's half: its rows of the study pairs' store
    if wildcards.role.startswith("cm"):
        inputs.update(cm_half(wildcards))
    variant = VARIANTS.get(wildcards.role, {})
    start = variant.get("prune") or variant.get("finetune")
    if wildcards.role in ADAPTIVE_TEACHERS:
        start = {"from": "teacher"}
    if start:  # a pruned or fine-tuned model starts from another trained model
        inputs["initial"] = (
            f"results/models/{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}/seed{wildcards.seed}/{start['from']}"
        )
    if "distillation" in variant:
        inputs["teacher"] = (
            f"results/models/{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}/seed{wildcards.seed}/teacher"
        )
    return inputs


def qe_models(corpus, src, tgt, seed):
    """The forward and backward models of dual cross-entropy: the QE models trained on held-out pairs once per
    corpus (quality_estimation.models: heldout), or this seed's teachers of both directions (teachers).
    """
    if config["quality_estimation"]["method"] != "dual_xent":
        return {}
    if config["quality_estimation"]["models"] == "heldout":
        return {
            "forward": f"results/qe/{corpus}/{src}-{tgt}/model",
            "backward": f"results/qe/{corpus}/{tgt}-{src}/model",
        }
    return {
        "forward": f"results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher",
        "backward": f"results/models/{corpus}/{tgt}-{src}/seed{seed}/teacher",
    }


def decoding_models(models):
    """`models` (input name: model folder) and, when decoding.engine is ctranslate2, each one's CTranslate2 folder
    (written by convert_model) as "ct2" for one model, else "<name>_ct2". The jobs that decode or score load that
    folder and import no torch."""
    inputs = dict(models)
    if config["decoding"]["engine"] == "ctranslate2":
        for name, path in models.items():
            key = "ct2" if len(models) == 1 else f"{name}_ct2"
            inputs[key] = f"results/ct2/{path.removeprefix('results/')}"
    return inputs


def translation_shards(wildcards):
    """gather_translation's inputs: the split's shard plan (checkpoint shard_plan, which decides how many shards
    there are) and every shard's hypotheses and timing, in row order."""
    w = wildcards
    plan = checkpoints.shard_plan.get(
        corpus=w.corpus, src=w.src, tgt=w.tgt, split=w.split
    ).output[0]
    folder = f"results/translations/{w.corpus}/{w.src}-{w.tgt}/seed{w.seed}/{w.role}/shards/{w.split}.{w.decoding}"
    shards = range(len(read_plan(plan)["shards"]))
    return {
        "plan": plan,
        "hypotheses": [f"{folder}/{i}.txt" for i in shards],
        "timing": [f"{folder}/{i}.json" for i in shards],
    }


def study_shards(folder):
    """A gather rule's inputs (gather_quality, gather_scores, gather_kl): the study_train plan (checkpoint
    shard_plan) and every shard's table in `folder` (a pattern of the rule's wildcards), in row order.
    """

    def inputs(wildcards):
        w = wildcards
        plan = checkpoints.shard_plan.get(
            corpus=w.corpus, src=w.src, tgt=w.tgt, split="study_train"
        ).output[0]
        shards = folder.format(**dict(w.items()))
        return {
            "plan": plan,
            "tables": [
                f"{shards}/{i}.tsv" for i in range(len(read_plan(plan)["shards"]))
            ],
        }

    return inputs


def seq_inter_shards(wildcards):
    """gather_seq_inter's inputs: the study_train plan (checkpoint shard_plan) and every shard's Seq-Inter pairs and
    k-best list, in row order."""
    w = wildcards
    plan = checkpoints.shard_plan.get(
        corpus=w.corpus, src=w.src, tgt=w.tgt, split="study_train"
    ).output[0]
    folder = f"results/seqinter/{w.corpus}/{w.src}-{w.tgt}/seed{w.seed}/k{w.k}/shards"
    shards = range(len(read_plan(plan)["shards"]))
    return {
        "plan": plan,
        "pairs": [f"{folder}/{i}.train.tsv" for i in shards],
        "kbest": [f"{folder}/{i}.kbest.tsv" for i in shards],
    }


def scored_model(wildcards):
    """score_references' model. CM models are scored by score_cm_references (ruleorder), which converts each to
    CTranslate2 in memory (memkd.ct2.translator): a conversion job of its own would cost more than it saves (sharded,
    score_cm_references_shard reads convert_model's folders instead, cm_ct2_folders).
    """
    w = wildcards
    model = f"results/models/{w.corpus}/{w.src}-{w.tgt}/seed{w.seed}/{w.role}"
    return decoding_models({"model": model})


def cm_ct2_folders(wildcards):
    """score_cm_references_shard's CTranslate2 folders of the CM models (convert_model), in CM_ROLES order, when
    decoding.engine is ctranslate2: converted once, not once per shard; none with memkd's engine.
    """
    if config["decoding"]["engine"] != "ctranslate2":
        return []
    w = wildcards
    return [
        f"results/ct2/models/{w.corpus}/{w.src}-{w.tgt}/seed{w.seed}/{role}"
        for role in CM_ROLES
    ]


def quality_inputs(wildcards):
    """Dual cross-entropy needs a forward and a backward model; a model's outputs are estimated, or the references."""
    w = wildcards
    inputs = {
        "pairs": f"results/data/{w.corpus}/{w.src}-{w.tgt}/study_train.tsv",
        **decoding_models(qe_models(w.corpus, w.src, w.tgt, w.seed)),
    }
    if w.texts != "reference":
        inputs["hypotheses"] = (
            f"results/translations/{w.corpus}/{w.src}-{w.tgt}/seed{w.seed}/{w.texts}/study_train.greedy.txt"
        )
    return inputs


def qe_validity_inputs(wildcards):
    """The QE-validity pairs and, per direction (keys carry its index), the QE's models (with teachers: the first
    seed's)."""
    inputs = {"validity": f"results/qe/{wildcards.corpus}/validity_pairs.tsv"}
    seed = config["seeds"][0]
    for k, (src, tgt) in enumerate(PAIR_DIRECTIONS):
        for key, path in qe_models(wildcards.corpus, src, tgt, seed).items():
            inputs[f"{key}{k}"] = path
    return inputs


def model_units(corpus):
    """(base path, direction, seed) of every direction and seed of the study."""
    return [
        (f"{corpus}/{src}-{tgt}/seed{seed}", f"{src}-{tgt}", seed)
        for src, tgt in PAIR_DIRECTIONS
        for seed in config["seeds"]
    ]


def model_files(wildcards, pattern, roles=ROLES):
    """One file per direction, seed and role, in that order (table scripts rely on it)."""
    return [
        pattern.format(base=base, role=role)
        for base, _, seed in model_units(wildcards.corpus)
        for role in roles_at(seed, roles)
    ]


def predictor_inputs(wildcards):
    """Per direction and seed (keys carry the unit index): the pairs, the teacher's and the baseline's reference
    scores, their KL, and every student's per-example memorization flags."""
    inputs = {}
    for k, (base, direction, seed) in enumerate(model_units(wildcards.corpus)):
        inputs[f"pairs{k}"] = (
            f"results/data/{wildcards.corpus}/{direction}/study_train.tsv"
        )
        inputs[f"teacher{k}"] = f"results/scores/{base}/teacher/study_train.tsv"
        inputs[f"baseline{k}"] = f"results/scores/{base}/baseline/study_train.tsv"
        inputs[f"kl{k}"] = f"results/scores/{base}/kl_teacher_baseline.tsv"
        inputs[f"baseline_flags{k}"] = (
            f"results/memorization/{base}/baseline/examples.tsv"
        )
        for role in roles_at(seed, STUDENT_ROLES):
            inputs[f"{role}{k}"] = f"results/memorization/{base}/{role}/examples.tsv"
    return inputs


def adaptive_table_inputs(wildcards):
    """Per direction and seed (keys carry the unit index): the selection, the fine-tuned teachers (steps and
    learning rate), the SeqKD student's and every Adaptive-SeqKD student's per-example flags; and the test quality
    of all models."""
    inputs = {"quality": f"results/tables/{wildcards.corpus}/translation_quality.tsv"}
    units = [
        u
        for u in model_units(wildcards.corpus)
        if set(ADAPTIVE_VARIANTS) <= set(roles_at(u[2]))
    ]
    for k, (base, direction, seed) in enumerate(units):
        inputs[f"selection{k}"] = f"results/adaptive/{base}/selection.tsv"
        for arm in sorted({spec["selection"] for spec in ADAPTIVE_VARIANTS.values()}):
            inputs[f"teacher_{arm}{k}"] = f"results/models/{base}/teacher_{arm}"
        # how far the fine-tuning moved the teacher: both teachers' translations of the study sources
        inputs[f"teacher_outputs{k}"] = (
            f"results/translations/{base}/teacher/study_train.greedy.txt"
        )
        for variant, spec in ADAPTIVE_VARIANTS.items():
            decoding = spec.get("seqkd_decoding", config["decoding"]["seqkd"])
            inputs[f"tuned_{variant}{k}"] = (
                f"results/adaptive/{base}/{spec['selection']}/seqkd.{decoding}.tsv"
            )
        for role in ["student", *ADAPTIVE_VARIANTS]:
            inputs[f"{role}{k}"] = f"results/memorization/{base}/{role}/examples.tsv"
    return inputs


def subgroup_inputs(wildcards):
    """Per direction and seed, what the subgroup table reads; the keys carry the unit index."""
    inputs = {}
    for k, (base, direction, seed) in enumerate(model_units(wildcards.corpus)):
        inputs[f"pairs{k}"] = (
            f"results/data/{wildcards.corpus}/{direction}/study_train.tsv"
        )
        inputs[f"qe{k}"] = f"results/quality/{base}/reference/study_train.tsv"
        inputs[f"cm{k}"] = f"results/cm/{base}/examples.tsv"
        inputs[f"confidence{k}"] = f"results/scores/{base}/teacher/study_train.tsv"
        for role in roles_at(seed):
            inputs[f"{role}{k}"] = f"results/memorization/{base}/{role}/examples.tsv"
    return inputs


def preset_name(role):
    return "cm" if role.startswith("cm") else ROLE_PRESET[role]


def training_gpus(wildcards):
    """GPUs of a training job: its preset's count (gpus), but one for a model that starts from another (Adaptive-SeqKD's
    teachers, pruned and fine-tuned variants) or learns from the teacher's distributions: train_model trains those
    on one device, so more would be idle."""
    gpus = config["gpus"][preset_name(wildcards.role)]
    variant = VARIANTS.get(wildcards.role, {})
    one_device = wildcards.role in ADAPTIVE_TEACHERS or any(
        key in variant for key in ("prune", "finetune", "distillation")
    )
    return min(gpus, 1) if one_device else gpus


def model_preset(wildcards):
    return config["models"][preset_name(wildcards.role)]


def training_settings(wildcards):
    settings = config["training"][preset_name(wildcards.role)]
    variant = VARIANTS.get(wildcards.role, {})
    if "distillation" in variant:
        settings = {**settings, "distillation": variant["distillation"]}
    if (
        wildcards.role in ADAPTIVE_TEACHERS
    ):  # one pass (by default) at a constant learning rate, repeated up to min_steps optimizer steps
        adaptive = config["adaptive_seqkd"]
        finetune = {"from": "teacher", "epochs": adaptive["epochs"]}
        return {
            **settings,
            "epochs": adaptive["epochs"],
            "min_steps": adaptive["min_steps"],
            "min_steps_by": adaptive["min_steps_by"],
            "max_steps": None,
            "lr": adaptive["lr"],
            "optimizer": adaptive["optimizer"],
            "schedule": "constant",
            "finetune": finetune,
        }
    # retraining or fine-tuning: by default at the start model's final rate, held constant
    for start in ("prune", "finetune"):
        if start in variant:
            rate = fine_tuning_rate(variant[start])
            settings = {
                **settings,
                "epochs": variant[start]["epochs"],
                "max_steps": None,
                **rate,
                start: {**variant[start], **rate},
            }
    return settings


def extract_inputs(wildcards):
    """Downloads and user files the corpus is built from (depends on its kind)."""
    return corpus_inputs(wildcards.corpus, config)


def download_url(wildcards):
    return wmt20_download_url(wildcards.corpus, wildcards.filename, config)


def corpus_settings(wildcards):
    return config["corpora"][wildcards.corpus]


def corpus_languages(wildcards):
    return config["corpora"][wildcards.corpus]["languages"]


def input_sized(rule, resource, models=1, sharded=False, cm_half=False):
    """A rule's `resource` (mem_mb or runtime) from the MiB of its data input (a shard job's: its shard's share) and
    the attempt: a retry asks for more (memkd.resources). `sharded`: the RULES entry `<rule>_sharded`, the rule's work
    when sharding moved its decoding into shard jobs. `cm_half`: a CM model's job (input `design`) is sized by its
    half of the study pairs."""
    entry = f"{rule}_sharded" if sharded else rule

    def value(wildcards, input, attempt):
        # a CM model trains on the rows its design column marks
        if cm_half and "design" in input.keys():
            return rule_resource(
                entry, resource, cm_half_mb(input.pairs), attempt, models
            )
        shard = int(wildcards.shard) if "shard" in wildcards.keys() else None
        # a shard job: its rows' share
        size = job_data_mb(input, input.get("plan"), shard)
        return rule_resource(entry, resource, size, attempt, models)

    return value


def cm_training_inputs(wildcards):
    """train_cm_models' inputs: the study pairs (they size the job and key what it keeps), their token store with
    the design that selects each model's half, and the tokenizer.
    """
    return {
        "pairs": f"results/data/{wildcards.corpus}/{wildcards.src}-{wildcards.tgt}/study_train.tsv",
        **cm_half(wildcards),
        "spm": f"results/data/{wildcards.corpus}/spm.model",
    }


def cm_models_sized(resource):
    """train_cm_models' mem_mb or runtime: its models train one after another, so the memory of the largest one and
    the sum of their times (train_model's for each half), at most a day; a job past it resumes with the models it
    finished."""

    def value(wildcards, input, attempt):
        each = rule_resource("train_model", resource, cm_half_mb(input.pairs), attempt)
        return each if resource == "mem_mb" else min(len(CM_ROLES) * each, RUNTIME_CAP)

    return value
