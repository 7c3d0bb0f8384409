"""Rule convert_model: a saved model folder as a CTranslate2 model folder (memkd.ct2), converted once so that every
job that decodes or scores with it loads CTranslate2 only, not torch and transformers. The conversion reads the
saved weights with numpy: this job imports neither either."""

import logging
import time

from memkd import ct2
from memkd.rulerun import run


def main():
    started = time.perf_counter()
    ct2.convert(snakemake.input.model, snakemake.output[0])
    logging.info("%s converted to %s (%s) in %.2f s", snakemake.input.model, snakemake.output[0], ct2.ENGINE,
                 time.perf_counter() - started)


run(main, snakemake.log[0])
