# Counterfactual memorization: a balanced design over the study's pairs, a column per model marking its training half,
# M models of the `cm` preset each trained on its half (roles cm00, cm01, ...: rule train_cm_models, all of a direction
# and seed in one job, or train_model, a job each; counterfactual.models_per_job), their scores of every reference
# (score_cm_references, memorize.smk), and CM per pair.


rule cm_design:
    input:
        "results/data/{corpus}/{src}-{tgt}/study_train.tsv",
    output:
        "results/cm/{corpus}/{src}-{tgt}/seed{seed}/design.tsv",
    log:
        "logs/cm_design/{corpus}/{src}-{tgt}/seed{seed}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("cm_design", "mem_mb"),
        runtime=input_sized("cm_design", "runtime"),
    params:
        models=CM_ROLES,
        code=CM_CODE,
    script:
        "../../scripts/cm_design.py"


rule counterfactual_memorization:
    input:
        design="results/cm/{corpus}/{src}-{tgt}/seed{seed}/design.tsv",
        scores=expand(
            "results/scores/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}/study_train.tsv",
            role=CM_ROLES,
        ),
    output:
        "results/cm/{corpus}/{src}-{tgt}/seed{seed}/examples.tsv",
    log:
        "logs/counterfactual_memorization/{corpus}/{src}-{tgt}/seed{seed}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("counterfactual_memorization", "mem_mb"),
        runtime=input_sized("counterfactual_memorization", "runtime"),
    params:
        models=CM_ROLES,
        score_base=config["counterfactual"]["score_base"],
        code=CM_CODE,
    script:
        "../../scripts/counterfactual_memorization.py"
