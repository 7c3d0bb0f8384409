# The memorization predictor: features known before distillation (the pair's compressibility, teacher and baseline
# log-perplexity, KL(teacher || baseline)) predicting which training pairs each student replicates.


rule teacher_baseline_kl:
    input:
        teacher="results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher",
        baseline="results/models/{corpus}/{src}-{tgt}/seed{seed}/baseline",
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
    output:
        "results/scores/{corpus}/{src}-{tgt}/seed{seed}/kl_teacher_baseline.tsv",
    log:
        "logs/teacher_baseline_kl/{corpus}/{src}-{tgt}/seed{seed}.log",
    benchmark:
        "benchmarks/teacher_baseline_kl/{corpus}/{src}-{tgt}/seed{seed}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("teacher_baseline_kl", "mem_mb"),
        runtime=input_sized("teacher_baseline_kl", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        max_tokens=config["decoding"]["max_tokens"],
        code=SCORE_CODE,
    script:
        "../../scripts/teacher_baseline_kl.py"


rule memorization_predictor:
    input:
        unpack(predictor_inputs),
    output:
        predictor="results/tables/{corpus}/predictor.tsv",
        roc="results/tables/{corpus}/predictor_roc.tsv",
    log:
        "logs/memorization_predictor/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=config["predictor"],
        students=STUDENT_ROLES,
        variants=VARIANTS,
        code=PREDICTOR_CODE,
    script:
        "../../scripts/memorization_predictor.py"
