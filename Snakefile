# Memorization inheritance in sequence-level knowledge distillation for NMT.
# Stages, in DAG order: corpus acquisition -> preprocessing (splits, SentencePiece, study pairs)
# -> teacher and baseline training -> SeqKD decoding (Adaptive-SeqKD: teacher fine-tuning first) -> student training -> evaluation -> memorization per pair
# (replication, ExMem, hallucinations, quality estimates) -> counterfactual memorization -> tables
# -> figures and the study summary.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/decode.smk"
include: "workflow/rules/adaptive.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/qe.smk"
include: "workflow/rules/memorize.smk"
include: "workflow/rules/counterfactual.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/predictor.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/lm.smk"


rule all:
    default_target: True
    input:
        data_targets(),
        quality_targets(),
        memorization_targets(),
        figure_targets(),
