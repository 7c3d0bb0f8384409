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
    # one thread: these small models gain little from a second thread (student 0.174 vs 0.203 s/step) while two
    # one-thread jobs side by side run at 0.207 s/step each, so a 2-core machine trains two models at once;
    # raise it with --set-threads train_model=N for larger presets
    threads: 1
    resources:
        mem_mb=input_sized("train_model", "mem_mb"),
        runtime=input_sized("train_model", "runtime"),
        gpu=lambda w: config["gpus"][preset_name(w.role)],
    params:
        preset=model_preset,
        settings=training_settings,
        checkpoint="checkpoints/{corpus}/{src}-{tgt}/seed{seed}/{role}/last.pt",
        # the teacher keeps its final Adam state: Adaptive-SeqKD's fine-tuning goes on with it
        keep_optimizer=lambda w: w.role == "teacher",
        code=MODEL_CODE,
    script:
        "../../scripts/train_model.py"
