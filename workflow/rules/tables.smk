# Tables of the memorization stage: one tidy table per analysis, every row naming corpus, direction, seed and model,
# and the settings (decoding, language ID, quality estimator, interval) behind its numbers.


rule memorization_tables:
    input:
        summaries=lambda w: model_files(
            w, "results/memorization/{base}/{role}/summary.json"
        ),
        examples=lambda w: model_files(
            w, "results/memorization/{base}/{role}/examples.tsv"
        ),
    output:
        memorization="results/tables/{corpus}/memorization.tsv",
        hallucination="results/tables/{corpus}/hallucination.tsv",
        relative_change="results/tables/{corpus}/relative_change.tsv",
        inheritance="results/tables/{corpus}/inheritance.tsv",
    log:
        "logs/memorization_tables/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("memorization_tables", "mem_mb"),
        runtime=input_sized("memorization_tables", "runtime"),
    params:
        statistics=config["statistics"],
        natural=config["memorization"]["natural"],
        variants=VARIANTS,
        code=TABLES_CODE,
    script:
        "../../scripts/memorization_tables.py"


rule quality_estimates_table:
    input:
        lambda w: model_files(
            w, "results/quality/{base}/{role}/study_train.tsv", ["reference"] + ROLES
        ),
    output:
        "results/tables/{corpus}/quality_estimates.tsv",
    log:
        "logs/quality_estimates_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("quality_estimates_table", "mem_mb"),
        runtime=input_sized("quality_estimates_table", "runtime"),
    params:
        statistics=config["statistics"],
        edges=config["subgroups"]["qe_edges"],
        code=TABLES_CODE,
    script:
        "../../scripts/quality_estimates_table.py"


rule counterfactual_table:
    input:
        cm=lambda w: model_files(w, "results/cm/{base}/examples.tsv", [""]),
        qe=lambda w: model_files(
            w, "results/quality/{base}/{role}/study_train.tsv", ["reference"]
        ),
    output:
        "results/tables/{corpus}/counterfactual.tsv",
    log:
        "logs/counterfactual_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("counterfactual_table", "mem_mb"),
        runtime=input_sized("counterfactual_table", "runtime"),
    params:
        models=len(CM_ROLES),
        code=TABLES_CODE,
    script:
        "../../scripts/counterfactual_table.py"


rule subgroups_table:
    input:
        unpack(subgroup_inputs),
    output:
        "results/tables/{corpus}/subgroups.tsv",
    log:
        "logs/subgroups_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    # BLEU/chrF statistics of every model's outputs, counted by this many processes (sacreBLEU is pure Python)
    threads: 4
    resources:
        mem_mb=input_sized("subgroups_table", "mem_mb"),
        runtime=input_sized("subgroups_table", "runtime"),
    params:
        settings=config["subgroups"],
        seed=config["statistics"]["seed"],
        roles=ROLES,
        code=TABLES_CODE,
    script:
        "../../scripts/subgroups_table.py"


rule adaptive_seqkd_table:
    input:
        unpack(adaptive_table_inputs),
    output:
        "results/tables/{corpus}/adaptive_seqkd.tsv",
    log:
        "logs/adaptive_seqkd_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("adaptive_seqkd_table", "mem_mb"),
        runtime=input_sized("adaptive_seqkd_table", "runtime"),
    params:
        variants=ADAPTIVE_VARIANTS,
        settings=config["adaptive_seqkd"],
        statistics=config["statistics"],
        decodings=config["decoding"]["evaluation"],
        # adaptive.py: the selection label's criteria and when an arm carries no verdict
        code=library_version("stats.py", "tables.py", "adaptive.py"),
    script:
        "../../scripts/adaptive_seqkd_table.py"


rule variants_table:
    input:
        summaries=lambda w: model_files(
            w, "results/memorization/{base}/{role}/summary.json", ROLES
        ),
        examples=lambda w: model_files(
            w, "results/memorization/{base}/{role}/examples.tsv", ROLES
        ),
    output:
        "results/tables/{corpus}/variants.tsv",
    log:
        "logs/variants_table/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("variants_table", "mem_mb"),
        runtime=input_sized("variants_table", "runtime"),
    params:
        statistics=config["statistics"],
        variants=OTHER_VARIANTS,
        code=TABLES_CODE,
    script:
        "../../scripts/variants_table.py"
