"""Per-rule totals of a finished run's Snakemake benchmark files (benchmarks/<rule>/...tsv): jobs, wall seconds
(total, mean, max) and peak memory. Prints a Markdown table (memkd.benchmarks); asserts nothing.

    python bench/benchmark_summary.py [run folder, default .]
"""

import sys
from pathlib import Path

from memkd.benchmarks import markdown, summarize


def main():
    print(markdown(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "."))))


if __name__ == "__main__":
    main()
