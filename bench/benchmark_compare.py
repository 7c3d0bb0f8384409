"""Two finished runs' job times side by side, per rule, from their Snakemake benchmark files (memkd.benchmarks):
each run's jobs and total wall seconds, and the jobs both ran (the same benchmark file: same rule and wildcards)
with the ratio of their totals. Prints a Markdown table; asserts nothing.

    python bench/benchmark_compare.py BEFORE_RUN_FOLDER AFTER_RUN_FOLDER
"""

import argparse
from pathlib import Path

from memkd.benchmarks import compare, compare_markdown


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="a run folder holding benchmarks/")
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    print(compare_markdown(compare(args.before, args.after)))


if __name__ == "__main__":
    main()
