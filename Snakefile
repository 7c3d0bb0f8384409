# Memorization inheritance in sequence-level knowledge distillation for NMT.
# Stages, in DAG order: corpus acquisition -> preprocessing (splits, SentencePiece).
# Later stages (teacher, SeqKD decoding, students, CM, metrics, figures) are added as rules files here.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/preprocess.smk"


rule all:
    default_target: True
    input:
        data_targets(),
