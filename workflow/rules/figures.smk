# Figures and the study summary, drawn from the cached tables only: editing a plot script or memkd/plots.py
# reruns the plots (their code version is a param), never a training or decoding job.


rule plot_model_comparison:
    input:
        quality="results/tables/{corpus}/translation_quality.tsv",
        memorization="results/tables/{corpus}/memorization.tsv",
        hallucination="results/tables/{corpus}/hallucination.tsv",
    output:
        png=report(
            "results/figures/{corpus}/model_comparison.png",
            caption="../report/model_comparison.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/model_comparison.pdf",
    log:
        "logs/plot_model_comparison/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        variants=False,
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_model_comparison.py"


rule plot_model_comparison_variants:
    input:
        quality="results/tables/{corpus}/translation_quality.tsv",
        memorization="results/tables/{corpus}/memorization.tsv",
        hallucination="results/tables/{corpus}/hallucination.tsv",
    output:
        png=report(
            "results/figures/{corpus}/model_comparison_variants.png",
            caption="../report/model_comparison_variants.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/model_comparison_variants.pdf",
    log:
        "logs/plot_model_comparison_variants/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        variants=True,
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_model_comparison.py"


rule plot_relative_change:
    input:
        "results/tables/{corpus}/relative_change.tsv",
    output:
        png=report(
            "results/figures/{corpus}/relative_change.png",
            caption="../report/relative_change.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/relative_change.pdf",
    log:
        "logs/plot_relative_change/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_relative_change.py"


rule plot_memorization_map:
    input:
        "results/tables/{corpus}/counterfactual.tsv",
    output:
        png=report(
            "results/figures/{corpus}/memorization_map.png",
            caption="../report/memorization_map.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/memorization_map.pdf",
    log:
        "logs/plot_memorization_map/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("plot_memorization_map", "mem_mb"),
        runtime=input_sized("plot_memorization_map", "runtime"),
    params:
        qe_edges=config["subgroups"]["qe_edges"],
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_memorization_map.py"


rule plot_subgroups:
    input:
        "results/tables/{corpus}/subgroups.tsv",
    output:
        png=report(
            "results/figures/{corpus}/subgroups.png",
            caption="../report/subgroups.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/subgroups.pdf",
    log:
        "logs/plot_subgroups/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_subgroups.py"


rule plot_predictor_roc:
    input:
        roc="results/tables/{corpus}/predictor_roc.tsv",
        predictor="results/tables/{corpus}/predictor.tsv",
    output:
        png=report(
            "results/figures/{corpus}/predictor_roc.png",
            caption="../report/predictor_roc.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/predictor_roc.pdf",
    log:
        "logs/plot_predictor_roc/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("plot_predictor_roc", "mem_mb"),
        runtime=input_sized("plot_predictor_roc", "runtime"),
    params:
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_predictor_roc.py"


rule plot_adaptive_seqkd:
    input:
        "results/tables/{corpus}/adaptive_seqkd.tsv",
    output:
        png=report(
            "results/figures/{corpus}/adaptive_seqkd.png",
            caption="../report/adaptive_seqkd.rst",
            category="Figures",
        ),
        pdf="results/figures/{corpus}/adaptive_seqkd.pdf",
    log:
        "logs/plot_adaptive_seqkd/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=PLOTS_CODE,
    script:
        "../../scripts/plot_adaptive_seqkd.py"


rule study_summary:
    input:
        **{name: f"results/tables/{{corpus}}/{name}.tsv" for name in SUMMARY_TABLES},
        **(
            {"adaptive_seqkd": "results/tables/{corpus}/adaptive_seqkd.tsv"}
            if ADAPTIVE_VARIANTS
            else {}
        ),
        **(
            {"variants": "results/tables/{corpus}/variants.tsv"}
            if OTHER_VARIANTS
            else {}
        ),
    output:
        report(
            "results/summary/{corpus}.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        "logs/study_summary/{corpus}.log",
    conda:
        "../../envs/memkd.yaml"
    resources:
        mem_mb=input_sized("study_summary", "mem_mb"),
        runtime=input_sized("study_summary", "runtime"),
    params:
        cm_edges=config["subgroups"]["cm_edges"],
        figures=study_figure_names(),
        code=SUMMARY_CODE,
    script:
        "../../scripts/study_summary.py"


rule figures:
    input:
        figure_targets(),
