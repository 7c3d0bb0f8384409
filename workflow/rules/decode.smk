# Translation: every model translates every split it needs (the whole training source included, greedily), and the
# teacher's translations of the study's sources become the SeqKD student's training targets.


# A study model's usual translations come from one job; `translate` makes any other (a teacher's beam-5 SeqKD data,
# the Adaptive-SeqKD teachers' translations) one file per job.
ruleorder: translate_model > translate


# With decoding.engine ctranslate2 every model that decodes or scores is converted once; those jobs (inputs from
# decoding_models) load the converted folder and import no torch or transformers, ~5 s less per job.
rule convert_model:
    input:
        model="results/{model}",
    output:
        directory("results/ct2/{model}"),
    log:
        "logs/convert_model/{model}.log",
    benchmark:
        "benchmarks/convert_model/{model}.tsv"
    wildcard_constraints:
        model="models/.+|qe/[^/]+/[^/]+/model",
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        code=CONVERT_CODE,
    script:
        "../../scripts/convert_model.py"


rule translate_model:
    input:
        **decoding_models(
            {"model": "results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"}
        ),
        pairs=expand(
            "results/data/{{corpus}}/{{src}}-{{tgt}}/{split}.tsv",
            split=sorted({name.split(".")[0] for name in MODEL_TRANSLATIONS}),
        ),
    output:
        hypotheses=[
            ensure(path, non_empty=True)
            for path in expand(
                "results/translations/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{{role}}/{name}.txt",
                name=MODEL_TRANSLATIONS,
            )
        ],
        timing=expand(
            "results/translations/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{{role}}/{name}.json",
            name=MODEL_TRANSLATIONS,
        ),
    log:
        "logs/translate_model/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
    benchmark:
        "benchmarks/translate_model/{corpus}/{src}-{tgt}/seed{seed}/{role}.tsv"
    wildcard_constraints:
        role="|".join(ROLES),
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("translate_model", "mem_mb"),
        runtime=input_sized("translate_model", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        translations=MODEL_TRANSLATIONS,
        settings=config["decoding"],
        code=DECODE_CODE,
    script:
        "../../scripts/translate.py"


rule translate:
    input:
        **decoding_models(
            {"model": "results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"}
        ),
        pairs="results/data/{corpus}/{src}-{tgt}/{split}.tsv",
    output:
        hypotheses=ensure(
            "results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.txt",
            non_empty=True,
        ),
        timing="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.json",
    log:
        "logs/translate/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.log",
    benchmark:
        "benchmarks/translate/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.tsv"
    conda:
        "../../envs/memkd.yaml"
    # one thread, like training: a two-thread job cannot start while one-thread training jobs hold a core, so on a
    # 2-core machine the SeqKD decoding waited behind every ready training job; raise with --set-threads translate=N
    threads: 1
    resources:
        mem_mb=input_sized("translate", "mem_mb"),
        runtime=input_sized("translate", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        translations=lambda w: [f"{w.split}.{w.decoding}"],
        settings=config["decoding"],
        code=DECODE_CODE,
    script:
        "../../scripts/translate.py"


# sharding.sentences = N: every translation is cut into shards of N consecutive sources (memkd.shards), one job per
# shard (its own SLURM job with profiles/slurm), and gathered into the very files translate_model and translate
# write; a killed shard reruns alone. The test set is one shard: its length limit depends on the batch.
if SHARD_SENTENCES:

    # the unsharded rules stay defined (untouched: their recorded code must not change) and lose to the gather
    ruleorder: gather_translation > translate_model > translate

    # how many shards a split has: read after the data stage, so a checkpoint (one small local job per split)
    checkpoint shard_plan:
        input:
            "results/data/{corpus}/{src}-{tgt}/{split}.tsv",
        output:
            "results/shards/{corpus}/{src}-{tgt}/{split}.json",
        log:
            "logs/shard_plan/{corpus}/{src}-{tgt}/{split}.log",
        localrule: True
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            sentences=SHARD_SENTENCES,
            code=library_version("shards.py"),
        script:
            "../../scripts/shard_plan.py"

    rule translate_shard:
        input:
            **decoding_models(
                {"model": "results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"}
            ),
            pairs="results/data/{corpus}/{src}-{tgt}/{split}.tsv",
            plan="results/shards/{corpus}/{src}-{tgt}/{split}.json",
        output:
            hypotheses=temp(
                "results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/{split}.{decoding}/{shard}.txt"
            ),
            timing=temp(
                "results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/{split}.{decoding}/{shard}.json"
            ),
        log:
            "logs/translate_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}/{shard}.log",
        benchmark:
            "benchmarks/translate_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("translate_shard", "mem_mb"),
            runtime=input_sized("translate_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            settings=config["decoding"],
            code=library_version(
                "model.py", "data.py", "decode.py", "ct2.py", "shards.py"
            ),
        script:
            "../../scripts/translate_shard.py"

    rule gather_translation:
        input:
            unpack(translation_shards),
        output:
            hypotheses=ensure(
                "results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.txt",
                non_empty=True,
            ),
            timing="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.json",
        log:
            "logs/gather_translation/{corpus}/{src}-{tgt}/seed{seed}/{role}/{split}.{decoding}.log",
        localrule: True
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            code=library_version("shards.py"),
        script:
            "../../scripts/gather_translation.py"


rule seqkd_data:
    input:
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/teacher/study_train.{decoding}.txt",
    output:
        "results/seqkd/{corpus}/{src}-{tgt}/seed{seed}/{decoding}/train.tsv",
    log:
        "logs/seqkd_data/{corpus}/{src}-{tgt}/seed{seed}/{decoding}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("seqkd_data", "mem_mb"),
        runtime=input_sized("seqkd_data", "runtime"),
    script:
        "../../scripts/seqkd_data.py"


rule seq_inter_data:
    input:
        **decoding_models(
            {"teacher": "results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher"}
        ),
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
    output:
        pairs="results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/train.tsv",
        kbest="results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/kbest.tsv",
    log:
        "logs/seq_inter_data/{corpus}/{src}-{tgt}/seed{seed}/k{k}.log",
    benchmark:
        "benchmarks/seq_inter_data/{corpus}/{src}-{tgt}/seed{seed}/k{k}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("seq_inter_data", "mem_mb"),
        runtime=input_sized("seq_inter_data", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        settings=config["decoding"],
        code=library_version(
            "model.py",
            "data.py",
            "decode.py",
            "ct2.py",
            "losses.py",
            "seq_inter.py",
            "shards.py",
        ),
    script:
        "../../scripts/seq_inter_data.py"


# sharding.sentences = N: the Seq-Inter k-best lists in shards of the study_train plan, one job per shard, gathered
# into the files seq_inter_data writes; a killed shard reruns alone.
if SHARD_SENTENCES:

    ruleorder: gather_seq_inter > seq_inter_data

    rule seq_inter_data_shard:
        input:
            **decoding_models(
                {"teacher": "results/models/{corpus}/{src}-{tgt}/seed{seed}/teacher"}
            ),
            pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            pairs=temp(
                "results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/shards/{shard}.train.tsv"
            ),
            kbest=temp(
                "results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/shards/{shard}.kbest.tsv"
            ),
        log:
            "logs/seq_inter_data_shard/{corpus}/{src}-{tgt}/seed{seed}/k{k}/{shard}.log",
        benchmark:
            "benchmarks/seq_inter_data_shard/{corpus}/{src}-{tgt}/seed{seed}/k{k}/{shard}.tsv"
        wildcard_constraints:
            k=r"[0-9]+",
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("seq_inter_data_shard", "mem_mb"),
            runtime=input_sized("seq_inter_data_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            settings=config["decoding"],
            code=library_version(
                "model.py",
                "data.py",
                "decode.py",
                "ct2.py",
                "losses.py",
                "seq_inter.py",
                "shards.py",
            ),
        script:
            "../../scripts/seq_inter_data.py"

    rule gather_seq_inter:
        input:
            unpack(seq_inter_shards),
        output:
            pairs="results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/train.tsv",
            kbest="results/seqinter/{corpus}/{src}-{tgt}/seed{seed}/k{k}/kbest.tsv",
        log:
            "logs/gather_seq_inter/{corpus}/{src}-{tgt}/seed{seed}/k{k}.log",
        localrule: True
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            code=library_version("shards.py"),
        script:
            "../../scripts/gather_seq_inter.py"
