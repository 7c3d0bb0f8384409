"""Rule study_summary: the headline numbers of every table in one Markdown page, compared with the paper."""

from memkd.io import read_table, write_text_atomic
from memkd.rulerun import run
from memkd.summary import TABLE_COLUMNS, render


def main():
    tables = {name: read_table(path, TABLE_COLUMNS.get(name)) for name, path in snakemake.input.items()}
    write_text_atomic(snakemake.output[0], render(tables, snakemake.wildcards.corpus, list(snakemake.params.cm_edges),
                                                       list(snakemake.params.figures)))


run(main, snakemake.log[0])
