"""Rule translate_shard: one model translates one shard of a split (config sharding.sentences) with one decoding: the
rows of the shard's range in the split's plan (memkd.shards), read without holding the rest of the split. It writes
what scripts/translate.py writes for a whole split, plus the shard's index and rows in the timing record
(memkd.shards.timing_record); rule gather_translation joins the shards into the files translate_model and translate
write. (translate.py itself is left as it was, so that turning sharding on or off never reruns an unsharded study's
translations: Snakemake reruns a script rule whose script is newer than its outputs, and every later job with it.)"""

import logging

from memkd.decode import Decoder, length_limit, parse_decoding
from memkd.io import write_json_atomic, write_text_atomic
from memkd.rulerun import run
from memkd.shards import read_plan, read_shard_rows, timing_record


def main():
    settings, wildcards = snakemake.params.settings, snakemake.wildcards
    decoder = Decoder(snakemake.input.model, settings["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=settings["precision"])
    beam = parse_decoding(wildcards.decoding)
    max_len_a, max_len_b = length_limit(settings, wildcards.split, decoder.max_positions)
    shard = int(wildcards.shard)
    plan = read_plan(snakemake.input.plan)
    start, stop = plan["shards"][shard]
    sources = read_shard_rows(snakemake.input.pairs, plan, shard, ["src"])["src"].tolist()
    hypotheses, seconds = decoder.translate(sources, beam=beam, max_tokens=settings["max_tokens"],
                                            max_len_a=max_len_a, max_len_b=max_len_b)
    write_text_atomic(snakemake.output.hypotheses, "".join(h[0] + "\n" for h in hypotheses))
    signature = decoder.signature(beam, 1, max_len_a, max_len_b)
    write_json_atomic(snakemake.output.timing, timing_record(len(sources), seconds, snakemake.threads, decoder.device,
                                                            signature, shard=shard, rows=[start, stop]))
    logging.info("%s shard %d (rows %d-%d): %d sentences in %.1f s (%s)", wildcards.split, shard, start, stop - 1,
                 len(sources), seconds, signature)


run(main, snakemake.log[0])
