"""Rule seqkd_data: the study's sources paired with the teacher's translations (SeqKD targets), read and written a
chunk of rows at a time (memkd.io.iter_chunks beside the translations' lines), so memory does not grow with the study."""

import logging
from itertools import islice

from memkd.errors import InputError
from memkd.io import iter_chunks, iter_lines, write_tsv_chunks_atomic
from memkd.rulerun import run


def main():
    pairs_path, hypotheses_path = snakemake.input.pairs, snakemake.input.hypotheses
    hypotheses = iter_lines(hypotheses_path)
    counts = {"pairs": 0, "lines": 0, "same": 0}

    def chunks():
        short = False
        for pairs in iter_chunks(pairs_path, ["id", "src", "tgt"]):
            counts["pairs"] += len(pairs)
            if short:  # past the translations' end, only counted for the message
                continue
            targets = list(islice(hypotheses, len(pairs)))
            counts["lines"] += len(targets)
            if len(targets) < len(pairs):
                short = True
                continue
            data = pairs[["id", "src"]].assign(tgt=targets, reference=pairs["tgt"])
            counts["same"] += int((data["tgt"] == data["reference"]).sum())
            yield data
        counts["lines"] += sum(1 for _ in hypotheses)
        if counts["lines"] != counts["pairs"]:  # raised before the table is renamed into place
            raise InputError(f"{hypotheses_path}: {counts['lines']} lines for {counts['pairs']} sources in {pairs_path}")

    write_tsv_chunks_atomic(snakemake.output[0], chunks())
    logging.info("SeqKD data: %d pairs; teacher output equals the reference for %d", counts["pairs"], counts["same"])


run(main, snakemake.log[0])
