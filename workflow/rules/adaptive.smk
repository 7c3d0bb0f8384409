# Adaptive-SeqKD (Dankers & Raunak): pick the training pairs the teacher translates well and confidently, fine-tune
# the teacher on them briefly (train_model, roles teacher_quality and teacher_random), let it translate every source
# again, and train a student on those translations. The control fine-tunes on a random subset of the same size.


rule adaptive_selection:
    input:
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/teacher/study_train.greedy.txt",
        scores="results/scores/{corpus}/{src}-{tgt}/seed{seed}/teacher/study_train.tsv",
        qe="results/quality/{corpus}/{src}-{tgt}/seed{seed}/reference/study_train.tsv",
    output:
        selection="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/selection.tsv",
        quality="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/quality.tsv",
        random="results/adaptive/{corpus}/{src}-{tgt}/seed{seed}/random.tsv",
    log:
        "logs/adaptive_selection/{corpus}/{src}-{tgt}/seed{seed}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=config["adaptive_seqkd"],
        code=library_version("adaptive.py"),
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
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/seqkd_data.py"
