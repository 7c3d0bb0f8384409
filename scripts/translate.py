"""Rules translate and translate_model: one model translates one or several splits (greedy or beam), each in input
order; `params.translations` names them "<split>.<decoding>", in the order of the rule's outputs."""

import logging
from pathlib import Path

from memkd.decode import Decoder, length_limit, parse_decoding
from memkd.io import read_columns, write_json_atomic, write_text_atomic
from memkd.rulerun import run


def as_list(files) -> list[str]:
    """A rule's named input or output as a list: Snakemake gives one file as a plain string."""
    return [files] if isinstance(files, str) else list(files)


def main():
    settings = snakemake.params.settings
    decoder = Decoder(snakemake.input.model, settings["engine"], threads=snakemake.threads,
                      ct2_dir=snakemake.input.get("ct2"), precision=settings["precision"])
    pairs = {Path(path).stem: path for path in as_list(snakemake.input.pairs)}
    outputs = zip(snakemake.params.translations, as_list(snakemake.output.hypotheses), as_list(snakemake.output.timing),
                  strict=True)
    for name, hypotheses_path, timing_path in outputs:
        split, decoding = name.split(".")
        beam = parse_decoding(decoding)
        max_len_a, max_len_b = length_limit(settings, split, decoder.max_positions)
        sources = read_columns(pairs[split], ["src"])["src"].tolist()
        hypotheses, seconds = decoder.translate(sources, beam=beam, max_tokens=settings["max_tokens"],
                                                max_len_a=max_len_a, max_len_b=max_len_b)
        write_text_atomic(hypotheses_path, "".join(h[0] + "\n" for h in hypotheses))
        write_json_atomic(
            timing_path,
            {
                "sentences": len(sources),
                "seconds": round(seconds, 3),
                "sentences_per_s": round(len(sources) / seconds, 2),
                "threads": snakemake.threads,
                "device": decoder.device,
                "decoding": decoder.signature(beam, 1, max_len_a, max_len_b),
            },
        )
        logging.info("%s: %d sentences in %.1f s (%s)", split, len(sources), seconds,
                     decoder.signature(beam, 1, max_len_a, max_len_b))


run(main, snakemake.log[0])
