# Preprocessing: normalise, filter, count duplicates, split by group hash, direction views, SentencePiece.


rule split_corpus:
    input:
        aligned="results/corpus/{corpus}/aligned.tsv",
        stats="results/corpus/{corpus}/stats.json",
    output:
        splits=expand("results/data/{{corpus}}/{split}.tsv", split=SPLITS),
        report="results/data/{corpus}/report.json",
    log:
        "logs/split_corpus/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("split_corpus", "mem_mb"),
        runtime=input_sized("split_corpus", "runtime"),
    params:
        code=PREPROCESS_CODE,
        languages=corpus_languages,
        settings=config["preprocess"],
    script:
        "../../scripts/split_corpus.py"


rule direction_view:
    input:
        "results/data/{corpus}/{split}.tsv",
    output:
        "results/data/{corpus}/{src}-{tgt}/{split}.tsv",
    log:
        "logs/direction_view/{corpus}/{src}-{tgt}/{split}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("direction_view", "mem_mb"),
        runtime=input_sized("direction_view", "runtime"),
    params:
        code=PREPROCESS_CODE,
    script:
        "../../scripts/direction_view.py"


rule train_sentencepiece:
    input:
        train="results/data/{corpus}/train.tsv",
    output:
        model="results/data/{corpus}/spm.model",
        vocab="results/data/{corpus}/spm.vocab",
    log:
        "logs/train_sentencepiece/{corpus}.log",
    benchmark:
        "benchmarks/train_sentencepiece/{corpus}.tsv"
    conda:
        "../../envs/memkd.yaml"
    # SentencePiece runs with tokenizer.threads whatever Snakemake grants: the model depends on the thread count.
    threads: config["tokenizer"]["threads"]
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        code=TOKENIZER_CODE,
        languages=corpus_languages,
        settings=config["tokenizer"],
        seed=config["seed"],
    script:
        "../../scripts/train_sentencepiece.py"


rule study_subset:
    input:
        train="results/data/{corpus}/train.tsv",
        spm="results/data/{corpus}/spm.model",
    output:
        "results/data/{corpus}/study_train.tsv",
    log:
        "logs/study_subset/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("study_subset", "mem_mb"),
        runtime=input_sized("study_subset", "runtime"),
    params:
        code=STUDY_CODE,
        languages=corpus_languages,
        settings=config["study"],
        salt=config["preprocess"]["split_salt"],
    script:
        "../../scripts/study_subset.py"
