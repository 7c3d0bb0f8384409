# Adaptive-SeqKD (Dankers & Raunak): pick the training pairs the teacher translates well and confidently, fine-tune
# the teacher on them briefly (train_model, roles teacher_quality and teacher_random; at least
# adaptive_seqkd.min_steps optimizer steps), let it translate every source again, and train a student on those
# translations. The control fine-tunes on a random subset of the same size.


rule adaptive_selection:
    input:
        # the teacher scores its own greedy output (confidence_of: greedy_output, the official code) or the reference
        **decoding_models(
            {"teacher": "results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher"}
        ),
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/teacher/study_train.greedy.txt",
        qe="results/quality/{corpus}/{src}-{tgt}/seed{seed}/reference/study_train.tsv",
    output:
        selection="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/selection.tsv",
        quality="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/quality.tsv",
        random="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/random.tsv",
    log:
        "logs/adaptive_selection/{corpus}/{src}-{tgt}/seed{seed}.log",
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("adaptive_selection", "mem_mb"),
        runtime=input_sized("adaptive_selection", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        settings=config["adaptive_seqkd"],
        max_tokens=config["decoding"]["max_tokens"],
        engine=config["decoding"]["engine"],
        precision=config["decoding"]["precision"],
        code=library_version(
            "adaptive.py", "decode.py", "ct2.py", "model.py", "data.py"
        ),
    script:
        "../../scripts/adaptive_selection.py"


rule adaptive_seqkd_data:
    input:
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/teacher_{arm}/study_train.{decoding}.txt",
    output:
        "results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/{arm}/seqkd.{decoding}.tsv",
    log:
        "logs/adaptive_seqkd_data/{corpus}/{src}-{tgt}/seed{seed}/{arm}.{decoding}.log",
    wildcard_constraints:
        arm="|".join(ARMS),
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("adaptive_seqkd_data", "mem_mb"),
        runtime=input_sized("adaptive_seqkd_data", "runtime"),
    script:
        "../../scripts/seqkd_data.py"
