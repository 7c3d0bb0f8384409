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
        precision=config["decoding"]["precision"],
        code=KL_CODE,
    script:
        "../../scripts/teacher_baseline_kl.py"


# sharding.sentences = N: the KL in shards of the study_train plan, gathered into the file teacher_baseline_kl writes.
if SHARD_SENTENCES:

    ruleorder: gather_kl > teacher_baseline_kl

    rule teacher_baseline_kl_shard:
        input:
            teacher="results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher",
            baseline="results/models/{corpus}/{src}-{tgt}/seed{seed}/baseline",
            pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            temp(
                "results/scores/{corpus}/{src}-{tgt}/seed{seed}/kl_teacher_baseline/shards/study_train/{shard}.tsv"
            ),
        log:
            "logs/teacher_baseline_kl_shard/{corpus}/{src}-{tgt}/seed{seed}/{shard}.log",
        benchmark:
            "benchmarks/teacher_baseline_kl_shard/{corpus}/{src}-{tgt}/seed{seed}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("teacher_baseline_kl_shard", "mem_mb"),
            runtime=input_sized("teacher_baseline_kl_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            max_tokens=config["decoding"]["max_tokens"],
            precision=config["decoding"]["precision"],
            code=KL_CODE,
        script:
            "../../scripts/teacher_baseline_kl.py"

    rule gather_kl:
        input:
            unpack(
                study_shards(
                    "results/scores/{corpus}/{src}-{tgt}/seed{seed}/kl_teacher_baseline/shards/study_train"
                )
            ),
        output:
            "results/scores/{corpus}/{src}-{tgt}/seed{seed}/kl_teacher_baseline.tsv",
        log:
            "logs/gather_kl/{corpus}/{src}-{tgt}/seed{seed}.log",
        localrule: True
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            code=library_version("shards.py"),
        script:
            "../../scripts/gather_table.py"


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
        mem_mb=input_sized("memorization_predictor", "mem_mb"),
        runtime=input_sized("memorization_predictor", "runtime"),
    params:
        settings=config["predictor"],
        students=STUDENT_ROLES,
        variants=VARIANTS,
        code=PREDICTOR_CODE,
    script:
        "../../scripts/memorization_predictor.py"
