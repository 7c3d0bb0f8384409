# The language-model track (after Borkar et al., arXiv 2601.15394): memorization in soft and hard distillation of
# decoder-only LMs. Stages: English text -> tokenizer, pre-training blocks, fine-tuning and held-out examples ->
# small and large LMs pre-trained from scratch -> teacher (large) and baseline (small) fine-tuned -> hard data
# (teacher's greedy continuations) -> soft and hard students -> extraction per model -> predictor -> students
# retrained without the flagged examples -> tables, summary, figures. Target: `snakemake lm`.
from memkd.lm.workflow import (
    ROLES as LM_ROLES,
    figure_names,
    score_roles,
    table_names,
    train_inputs,
)

LM = config["lm"]
LM_SEEDS = config["seeds"]
LM_SCORED = score_roles(LM["removal"]["students"])
LM_DATA_CODE = library_version("lm/data.py", "tokenizer.py")
LM_TRAIN_CODE = library_version(
    "lm/model.py",
    "lm/train.py",
    "lm/losses.py",
    "lm/data.py",
    "lm/extraction.py",
    "lm/workflow.py",
)
LM_TABLES_CODE = library_version(
    "lm/analysis.py",
    "lm/summary.py",
    "lm/model.py",
    "lm/losses.py",
    "predictor.py",
    "stats.py",
    "metrics/inheritance.py",
)
LM_PLOTS_CODE = library_version("lm/plots.py", "plots.py")


rule lm:
    input:
        "results/lm/summary.md",
        expand("results/lm/figures/{name}.png", name=figure_names()),


rule lm_data:
    input:
        aligned=f"results/corpus/{LM['corpus']}/aligned.tsv",
    output:
        spm="results/lm/data/spm.model",
        pretrain="results/lm/data/pretrain.npy",
        finetune="results/lm/data/finetune.tsv",
        heldout="results/lm/data/heldout.tsv",
        stats="results/lm/data/stats.json",
    log:
        "logs/lm_data.log",
    benchmark:
        "benchmarks/lm_data.tsv"
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        settings=LM,
        seed=config["seed"],
        code=LM_DATA_CODE,
    script:
        "../../scripts/lm_data.py"


rule lm_pretrain:
    input:
        spm="results/lm/data/spm.model",
        pretrain="results/lm/data/pretrain.npy",
    output:
        model=directory("results/lm/models/pretrained_{size}"),
    log:
        "logs/lm_pretrain/{size}.log",
    benchmark:
        "benchmarks/lm_pretrain/{size}.tsv"
    wildcard_constraints:
        size="small|large",
    conda:
        "../../envs/memkd.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        role="pretrain_{size}",
        seed=config["seed"],
        lm={"models": LM["models"], "distillation": LM["distillation"]},
        settings=LM["pretraining"],
        code=LM_TRAIN_CODE,
    script:
        "../../scripts/lm_train.py"


# One job per fine-tuned model: (hard: the teacher's continuations,) training, then extraction on every example.
rule lm_train:
    input:
        unpack(train_inputs),
    output:
        model=directory("results/lm/models/seed{seed}/{lmrole}"),
        scores="results/lm/scores/seed{seed}/{lmrole}.tsv",
    log:
        "logs/lm_train/seed{seed}/{lmrole}.log",
    benchmark:
        "benchmarks/lm_train/seed{seed}/{lmrole}.tsv"
    wildcard_constraints:
        lmrole="|".join(LM_ROLES),
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        role="{lmrole}",
        seed="{seed}",
        lm=LM,
        settings=LM["finetuning"],
        code=LM_TRAIN_CODE,
    script:
        "../../scripts/lm_train.py"


rule lm_predictor:
    input:
        examples="results/lm/data/finetune.tsv",
        teacher="results/lm/models/seed{seed}/teacher",
        baseline="results/lm/models/seed{seed}/baseline",
        teacher_scores="results/lm/scores/seed{seed}/teacher.tsv",
        baseline_scores="results/lm/scores/seed{seed}/baseline.tsv",
        soft_scores="results/lm/scores/seed{seed}/soft.tsv",
        hard_scores="results/lm/scores/seed{seed}/hard.tsv",
    output:
        features="results/lm/predictor/seed{seed}/features.tsv",
        predictor="results/lm/predictor/seed{seed}/predictor.tsv",
        roc="results/lm/predictor/seed{seed}/roc.tsv",
        flagged="results/lm/predictor/seed{seed}/flagged.tsv",
    log:
        "logs/lm_predictor/seed{seed}.log",
    benchmark:
        "benchmarks/lm_predictor/seed{seed}.tsv"
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=LM["predictor"],
        batch_size=LM["eval_batch_size"],
        stats=config["statistics"],
        code=LM_TABLES_CODE,
    script:
        "../../scripts/lm_predictor.py"


rule lm_tables:
    input:
        scores=expand(
            "results/lm/scores/seed{seed}/{lmrole}.tsv",
            seed=LM_SEEDS,
            lmrole=LM_SCORED,
        ),
        flagged=expand("results/lm/predictor/seed{seed}/flagged.tsv", seed=LM_SEEDS),
        predictor=expand("results/lm/predictor/seed{seed}/predictor.tsv", seed=LM_SEEDS),
        roc=expand("results/lm/predictor/seed{seed}/roc.tsv", seed=LM_SEEDS),
    output:
        **{name: f"results/lm/tables/{name}.tsv" for name in table_names()},
        summary="results/lm/summary.md",
    log:
        "logs/lm_tables.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seeds=LM_SEEDS,
        roles=LM_SCORED,
        stats=config["statistics"],
        settings={
            "prefix_tokens": LM["prefix_tokens"],
            "suffix_tokens": LM["suffix_tokens"],
        },
        code=LM_TABLES_CODE,
    script:
        "../../scripts/lm_tables.py"


rule lm_figures:
    input:
        **{name: f"results/lm/tables/{name}.tsv" for name in table_names()},
    output:
        **{
            f"{name}_{ext}": f"results/lm/figures/{name}.{ext}"
            for name in figure_names()
            for ext in ("png", "pdf")
        },
    log:
        "logs/lm_figures.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings={
            "prefix_tokens": LM["prefix_tokens"],
            "suffix_tokens": LM["suffix_tokens"],
        },
        confidence=config["statistics"]["confidence"],
        code=LM_PLOTS_CODE,
    script:
        "../../scripts/lm_figures.py"
