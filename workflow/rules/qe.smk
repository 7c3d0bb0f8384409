# Quality-estimation models (quality_estimation.models: heldout): a forward and a backward model of their own preset
# (models.qe, training.qe), trained once per corpus on training-split pairs outside the study and shared by every
# seed and variant, so that the QE of a study pair does not measure how well a model fits it; and QE validity, the
# estimate's ROC AUC separating the verses the corpus check flags as misaligned from the rest.
# qe_training_pairs runs early (priority): it stops the run within seconds when the study leaves no pair for the QE
# models.


rule qe_training_pairs:
    input:
        train="results/data/{corpus}/train.tsv",
        study="results/data/{corpus}/study_train.tsv",
    output:
        train="results/qe/{corpus}/train_pairs.tsv",
        validity="results/qe/{corpus}/validity_pairs.tsv",
    log:
        "logs/qe_training_pairs/{corpus}.log",
    priority: 50
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("qe_training_pairs", "mem_mb"),
        runtime=input_sized("qe_training_pairs", "runtime"),
    params:
        settings=config["quality_estimation"],
        salt=config["preprocess"]["split_salt"],
        languages=corpus_languages,
        code=QE_DATA_CODE,
    script:
        "../../scripts/qe_training_pairs.py"


rule qe_direction_view:
    input:
        "results/qe/{corpus}/train_pairs.tsv",
    output:
        "results/qe/{corpus}/{src}-{tgt}/train.tsv",
    log:
        "logs/qe_direction_view/{corpus}/{src}-{tgt}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=PREPROCESS_CODE,
    script:
        "../../scripts/direction_view.py"


rule train_qe_model:
    input:
        pairs="results/qe/{corpus}/{src}-{tgt}/train.tsv",
        tokens="results/qe/{corpus}/{src}-{tgt}/train.tokens",
        spm="results/data/{corpus}/spm.model",
    output:
        directory("results/qe/{corpus}/{src}-{tgt}/model"),
    log:
        "logs/train_qe_model/{corpus}/{src}-{tgt}.log",
    benchmark:
        "benchmarks/train_qe_model/{corpus}/{src}-{tgt}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=min(config["gpus"]["teacher"], 1),
    params:
        preset=config["models"]["qe"],
        settings=config["training"]["qe"],
        role="qe",
        seed=config["seed"],  # data-level: one pair of QE models per corpus, whatever the model seeds
        checkpoint="checkpoints/qe/{corpus}/{src}-{tgt}/last.pt",
        code=MODEL_CODE,
    script:
        "../../scripts/train_model.py"


rule qe_validity:
    input:
        unpack(qe_validity_inputs),
    output:
        "results/tables/{corpus}/qe_validity.tsv",
    log:
        "logs/qe_validity/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=config["gpus"]["decoding"],
    params:
        settings=config["quality_estimation"],
        directions=config["directions"],
        max_tokens=config["decoding"]["max_tokens"],
        code=QE_CODE,
    script:
        "../../scripts/qe_validity.py"
