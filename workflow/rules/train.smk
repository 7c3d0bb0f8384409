# Training: teacher and baseline on the study's pairs, the SeqKD student on the teacher's translations.
# Checkpoints live outside results/ so that a killed job resumes on rerun instead of starting over.


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
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda w: config["gpus"][preset_name(w.role)],
    params:
        preset=model_preset,
        settings=training_settings,
        checkpoint="checkpoints/{corpus}/{src}-{tgt}/seed{seed}/{role}/last.pt",
        code=MODEL_CODE,
    script:
        "../../scripts/train_model.py"
