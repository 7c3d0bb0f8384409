# Memorization per training pair: teacher-forced scores of the references, quality estimates, and per model the
# replication, extractive memorization (prefix decoding), oscillatory and natural hallucination flags.
# A direction and seed's CM models are scored by one job (score_cm_references; sharded, one job per shard): they are
# trained and read together, and one process spares each its own Python, torch and CTranslate2 start-up.


ruleorder: score_cm_references > score_references


rule score_references:
    input:
        unpack(scored_model),
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
    output:
        "results/scores/{corpus}/{src}-{tgt}/seed{seed}/{role}/study_train.tsv",
    log:
        "logs/score_references/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
    benchmark:
        "benchmarks/score_references/{corpus}/{src}-{tgt}/seed{seed}/{role}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("score_references", "mem_mb"),
        runtime=input_sized("score_references", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        max_tokens=config["decoding"]["max_tokens"],
        engine=config["decoding"]["engine"],
        precision=config["decoding"]["precision"],
        code=SCORE_CODE,
    script:
        "../../scripts/score_references.py"


rule score_cm_references:
    input:
        models=expand(
            "results/models/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}",
            role=CM_ROLES,
        ),
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
    output:
        expand(
            "results/scores/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}/study_train.tsv",
            role=CM_ROLES,
        ),
    log:
        "logs/score_cm_references/{corpus}/{src}-{tgt}/seed{seed}.log",
    benchmark:
        "benchmarks/score_cm_references/{corpus}/{src}-{tgt}/seed{seed}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("score_cm_references", "mem_mb"),
        runtime=input_sized("score_cm_references", "runtime", models=len(CM_ROLES)),
        gpu=config["gpus"]["decoding"],
    params:
        max_tokens=config["decoding"]["max_tokens"],
        engine=config["decoding"]["engine"],
        precision=config["decoding"]["precision"],
        code=SCORE_CODE,
    script:
        "../../scripts/score_references.py"


rule quality_estimate:
    input:
        unpack(quality_inputs),
    output:
        "results/quality/{corpus}/{src}-{tgt}/seed{seed}/{texts}/study_train.tsv",
    log:
        "logs/quality_estimate/{corpus}/{src}-{tgt}/seed{seed}/{texts}.log",
    benchmark:
        "benchmarks/quality_estimate/{corpus}/{src}-{tgt}/seed{seed}/{texts}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        mem_mb=input_sized("quality_estimate", "mem_mb"),
        runtime=input_sized("quality_estimate", "runtime"),
        gpu=config["gpus"]["decoding"],
    params:
        settings=config["quality_estimation"],
        max_tokens=config["decoding"]["max_tokens"],
        engine=config["decoding"]["engine"],
        precision=config["decoding"]["precision"],
        code=QE_CODE,
    script:
        "../../scripts/quality_estimate.py"


# sharding.sentences = N: the study's reference scores and quality estimates in shards of the study_train plan
# (decode.smk's checkpoint shard_plan), one job per shard, gathered into the files score_references and
# quality_estimate write; a killed shard reruns alone. A direction and seed's CM models are scored shard by shard
# too, all M in one job per shard (score_cm_references_shard), from their convert_model folders.
if SHARD_SENTENCES:

    ruleorder: gather_scores > score_cm_references > score_references
    ruleorder: score_cm_references_shard > score_references_shard
    ruleorder: gather_quality > quality_estimate

    rule score_references_shard:
        input:
            unpack(scored_model),
            pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            temp(
                "results/scores/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/study_train/{shard}.tsv"
            ),
        log:
            "logs/score_references_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{shard}.log",
        benchmark:
            "benchmarks/score_references_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("score_references_shard", "mem_mb"),
            runtime=input_sized("score_references_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            max_tokens=config["decoding"]["max_tokens"],
            engine=config["decoding"]["engine"],
            precision=config["decoding"]["precision"],
            code=SCORE_CODE,
        script:
            "../../scripts/score_references.py"

    rule score_cm_references_shard:
        input:
            models=expand(
                "results/models/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}",
                role=CM_ROLES,
            ),
            ct2=cm_ct2_folders,
            pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            temp(
                expand(
                    "results/scores/{{corpus}}/{{src}}-{{tgt}}/seed{{seed}}/{role}/shards/study_train/{{shard}}.tsv",
                    role=CM_ROLES,
                )
            ),
        log:
            "logs/score_cm_references_shard/{corpus}/{src}-{tgt}/seed{seed}/{shard}.log",
        benchmark:
            "benchmarks/score_cm_references_shard/{corpus}/{src}-{tgt}/seed{seed}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("score_cm_references_shard", "mem_mb"),
            runtime=input_sized(
                "score_cm_references_shard", "runtime", models=len(CM_ROLES)
            ),
            gpu=config["gpus"]["decoding"],
        params:
            max_tokens=config["decoding"]["max_tokens"],
            engine=config["decoding"]["engine"],
            precision=config["decoding"]["precision"],
            code=SCORE_CODE,
        script:
            "../../scripts/score_references.py"

    rule gather_scores:
        input:
            unpack(
                study_shards(
                    "results/scores/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/study_train"
                )
            ),
        output:
            "results/scores/{corpus}/{src}-{tgt}/seed{seed}/{role}/study_train.tsv",
        log:
            "logs/gather_scores/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
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
            "../../scripts/gather_table.py"

    rule quality_estimate_shard:
        input:
            unpack(quality_inputs),
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            temp(
                "results/quality/{corpus}/{src}-{tgt}/seed{seed}/{texts}/shards/study_train/{shard}.tsv"
            ),
        log:
            "logs/quality_estimate_shard/{corpus}/{src}-{tgt}/seed{seed}/{texts}/{shard}.log",
        benchmark:
            "benchmarks/quality_estimate_shard/{corpus}/{src}-{tgt}/seed{seed}/{texts}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("quality_estimate_shard", "mem_mb"),
            runtime=input_sized("quality_estimate_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            settings=config["quality_estimation"],
            max_tokens=config["decoding"]["max_tokens"],
            engine=config["decoding"]["engine"],
            precision=config["decoding"]["precision"],
            code=QE_SHARD_CODE,
        script:
            "../../scripts/quality_estimate_shard.py"

    rule exmem_shard:
        input:
            **decoding_models(
                {"model": "results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"}
            ),
            pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
            hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/study_train.greedy.txt",
            teacher_hypotheses=teacher_outputs,
            plan="results/shards/{corpus}/{src}-{tgt}/study_train.json",
        output:
            temp(
                "results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/exmem/{shard}.tsv"
            ),
        log:
            "logs/exmem_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{shard}.log",
        benchmark:
            "benchmarks/exmem_shard/{corpus}/{src}-{tgt}/seed{seed}/{role}/{shard}.tsv"
        wildcard_constraints:
            shard=r"[0-9]+",
        conda:
            "../../envs/memkd.yaml"
        threads: 1
        resources:
            mem_mb=input_sized("exmem_shard", "mem_mb"),
            runtime=input_sized("exmem_shard", "runtime"),
            gpu=config["gpus"]["decoding"],
        params:
            settings=config["memorization"],
            decoding=config["decoding"],
            code=EXMEM_SHARD_CODE,
        script:
            "../../scripts/exmem_shard.py"

    rule gather_exmem:
        input:
            unpack(
                study_shards(
                    "results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/shards/exmem"
                )
            ),
        output:
            "results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/exmem.tsv",
        log:
            "logs/gather_exmem/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
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
            "../../scripts/gather_table.py"

    rule gather_quality:
        input:
            unpack(
                study_shards(
                    "results/quality/{corpus}/{src}-{tgt}/seed{seed}/{texts}/shards/study_train"
                )
            ),
        output:
            "results/quality/{corpus}/{src}-{tgt}/seed{seed}/{texts}/study_train.tsv",
        log:
            "logs/gather_quality/{corpus}/{src}-{tgt}/seed{seed}/{texts}.log",
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
            "../../scripts/gather_table.py"


rule memorization_examples:
    input:
        **decoding_models(
            {"model": "results/models/{corpus}/{src}-{tgt}/seed{seed}/{role}"}
        ),
        **(
            {
                "exmem": "results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/exmem.tsv"
            }
            if SHARD_SENTENCES
            else {}
        ),
        pairs="results/data/{corpus}/{src}-{tgt}/study_train.tsv",
        hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/study_train.greedy.txt",
        teacher_hypotheses=teacher_outputs,
        probe="results/data/{corpus}/{src}-{tgt}/probe.tsv",
        probe_hypotheses="results/translations/{corpus}/{src}-{tgt}/seed{seed}/{role}/probe.greedy.txt",
        output_quality="results/quality/{corpus}/{src}-{tgt}/seed{seed}/{role}/study_train.tsv",
        # sharding on: candidates and memorized prefixes from the exmem_shard jobs (none decoded here)
    output:
        examples="results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/examples.tsv",
        summary="results/memorization/{corpus}/{src}-{tgt}/seed{seed}/{role}/summary.json",
    log:
        "logs/memorization_examples/{corpus}/{src}-{tgt}/seed{seed}/{role}.log",
    benchmark:
        "benchmarks/memorization_examples/{corpus}/{src}-{tgt}/seed{seed}/{role}.tsv"
    conda:
        "../../envs/memkd.yaml"
    threads: 1
    resources:
        # sharding on, it only joins tables (ExMem decoded in exmem_shard jobs)
        mem_mb=input_sized("memorization_examples", "mem_mb", sharded=SHARD_SENTENCES),
        runtime=input_sized("memorization_examples", "runtime", sharded=SHARD_SENTENCES),
        gpu=config["gpus"]["decoding"],
    params:
        settings=config["memorization"],
        qe_method=config["quality_estimation"]["method"],
        decoding=config["decoding"],
        code=MEMORIZATION_CODE,
    script:
        "../../scripts/memorization_examples.py"
