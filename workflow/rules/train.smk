# Training: teacher and baseline on the study's pairs, the SeqKD student on the teacher's translations.
# Checkpoints live outside results/ so that a killed job resumes on rerun instead of starting over.


# Every table a model trains on (study pairs, SeqKD, Seq-Inter and Adaptive-SeqKD data, QE pairs),
# tokenized once into memory-mapped token-id arrays (memkd.data): the teacher, the baseline, every variant on the
# study pairs and the CM models (each its half's rows) share one copy, and a training job never holds or tokenizes
# its corpus itself.
rule tokenize_pairs:
    input:
        pairs="results/{stage}/{corpus}/{table}.tsv",
        spm="results/data/{corpus}/spm.model",
    output:
        directory("results/{stage}/{corpus}/{table}.tokens"),
    log:
        "logs/tokenize_pairs/{stage}/{corpus}/{table}.log",
    benchmark:
        "benchmarks/tokenize_pairs/{stage}/{corpus}/{table}.tsv"
    wildcard_constraints:
        stage="data|seqkd|seqinter|adaptive|qe",
        table=r"[A-Za-z0-9_./-]+",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("tokenize_pairs", "mem_mb"),
        runtime=input_sized("tokenize_pairs", "runtime"),
    params:
        code=TOKENS_CODE,
    script:
        "../../scripts/tokenize_pairs.py"


rule train_model:
    input:
        unpack(training_inputs),
    output:
        directory("results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"),
    log:
        "logs/train_model/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
    benchmark:
        "benchmarks/train_model/{corpus}/{src}-{tgt}/seed{seed}/{role}.tsv"
    conda:
        "../../envs/memkd.yaml"
    # one thread: these small models gain little from a second thread (student 0.174 vs 0.203 s/step) while two
    # one-thread jobs side by side run at 0.207 s/step each, so a 2-core machine trains two models at once;
    # raise it with --set-threads train_model=N for larger presets
    threads: 1
    resources:
        mem_mb=input_sized("train_model", "mem_mb", cm_half=True),
        runtime=input_sized("train_model", "runtime", cm_half=True),
        gpu=training_gpus,
    params:
        preset=model_preset,
        settings=training_settings,
        checkpoint="checkpoints/{corpus}/{src}-{tgt}/seed{seed}/{role}/last.pt",
        # the teacher keeps its final Adam state: Adaptive-SeqKD's fine-tuning goes on with it
        keep_optimizer=lambda w: w.role == "teacher",
        code=MODEL_CODE,
    script:
        "../../scripts/train_model.py"


# Counterfactual memorization's M models of one direction and seed in one job (counterfactual.models_per_job: all):
# one start-up of torch instead of M, for CPU runs whose jobs are short. The same models as train_model's jobs (same
# seeds, data and settings), the same folders; a log per model beside the job's, one benchmark for the job (its logs
# and benchmark under train_cm_models/, so logs/<rule>/ counts a rule's jobs). A rerun of an interrupted job keeps
# the models it finished (scripts/train_model.py, train_models_in_turn).
rule train_cm_models:
    input:
        unpack(cm_training_inputs),
    output:
        directory(
            expand(
                "results/models/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}",
                role=CM_ROLES,
            )
        ),
    log:
        job="logs/train_cm_models/{corpus}/{src}-{tgt}/seed{seed}.log",
        models=expand(
            "logs/train_cm_models/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}.log",
            role=CM_ROLES,
        ),
    benchmark:
        "benchmarks/train_cm_models/{corpus}/{src}-{tgt}/seed{seed}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=cm_models_sized("mem_mb"),
        runtime=cm_models_sized("runtime"),
        gpu=config["gpus"]["cm"],
    params:
        roles=CM_ROLES,
        preset=config["models"]["cm"],
        settings=config["training"]["cm"],
        checkpoints=expand(
            "checkpoints/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}/last.pt",
            role=CM_ROLES,
        ),
        code=MODEL_CODE,
    script:
        "../../scripts/train_model.py"


# counterfactual.models_per_job picks which of the two rules trains the CM models
if CM_MODELS_PER_JOB == "all":

    ruleorder: train_cm_models > train_model

else:

    ruleorder: train_model > train_cm_models
