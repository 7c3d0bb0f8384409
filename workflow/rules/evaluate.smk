# Evaluation: sacreBLEU BLEU and chrF (with signatures) and decoding speed per model and decoding.


rule evaluate:
    input:
        pairs="results/data/{corpus}/{src}-{tgt}/{split}.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.txt",
        timing="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.json",
        model="results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}",
    output:
        "results/metrics/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.json",
    log:
        "logs/evaluate/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=EVALUATE_CODE,
    script:
        "../../scripts/evaluate.py"


rule quality_table:
    input:
        evaluation_files,
    output:
        "results/tables/{corpus}/translation_quality.tsv",
    log:
        "logs/quality_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/quality_table.py"
