"""Rule direction_view: one split seen in one direction (columns id, src, tgt, ...), a chunk of rows at a time."""

from memkd.errors import InputError
from memkd.io import iter_chunks, table_columns, write_tsv_chunks_atomic
from memkd.preprocess import direction_view
from memkd.rulerun import run


def main():
    src, tgt, path = snakemake.wildcards.src, snakemake.wildcards.tgt, snakemake.input[0]
    columns = table_columns(path)
    missing = [c for c in ["id", src, tgt] if c not in columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; found {columns}")
    write_tsv_chunks_atomic(snakemake.output[0],
                            (direction_view(chunk, src, tgt) for chunk in iter_chunks(path, columns)))


run(main, snakemake.log[0])
