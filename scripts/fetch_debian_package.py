"""Rule fetch_debian_package: apt-get download + dpkg-deb -x into resources/debian/<package>."""

import logging

from memkd.debian import fetch_and_unpack
from memkd.rulerun import run


def main():
    package = snakemake.wildcards.package
    version = fetch_and_unpack(package, snakemake.output[0])
    logging.info("unpacked %s %s into %s", package, version, snakemake.output[0])


run(main, snakemake.log[0])
