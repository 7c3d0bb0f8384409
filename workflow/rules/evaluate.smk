# Evaluation: sacreBLEU BLEU and chrF (with signatures) and decoding speed per model and decoding, on the test
# split; one job per model evaluates every decoding of decoding.evaluation (one file each).


rule evaluate:
    input:
        pairs="results/data/{corpus}/{src}-{tgt}/test.tsv",
        hypotheses=expand(
            "results/translations/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{{role}}/test.{decoding}.txt",
            decoding=config["decoding"]["evaluation"],
        ),
        timing=expand(
            "results/translations/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{{role}}/test.{decoding}.json",
            decoding=config["decoding"]["evaluation"],
        ),
        model="results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}",
    output:
        expand(
            "results/metrics/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{{role}}/test.{decoding}.json",
            decoding=config["decoding"]["evaluation"],
        ),
    log:
        "logs/evaluate/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        decodings=config["decoding"]["evaluation"],
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
