# Corpus acquisition: fetch Debian packages or downloads, then read them into one aligned table.


rule fetch_debian_package:
    output:
        directory("resources/debian/{package}"),
    log:
        "logs/fetch_debian_package/{package}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../../scripts/fetch_debian_package.py"


rule download_file:
    output:
        "resources/downloads/{corpus}/{filename}",
    log:
        "logs/download_file/{corpus}/{filename}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=500,
        runtime=120,
    params:
        url=download_url,
    script:
        "../../scripts/download_file.py"


rule extract_corpus:
    input:
        extract_inputs,
    output:
        aligned="results/corpus/{corpus}/aligned.tsv",
        stats="results/corpus/{corpus}/stats.json",
    log:
        "logs/extract_corpus/{corpus}.log",
    benchmark:
        "benchmarks/extract_corpus/{corpus}.tsv"
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("extract_corpus", "mem_mb"),
        runtime=input_sized("extract_corpus", "runtime"),
    params:
        code=CORPUS_CODE,
        corpus=corpus_settings,
    script:
        "../../scripts/extract_corpus.py"
