"""What every rule script does around its work: log to the rule's log, report bad input plainly."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Callable

from memkd.errors import InputError


def run(main: Callable[[], None], log_path: str | None) -> None:
    """Run `main` with logging to the rule's log file and to stderr.

    Bad input (InputError) ends the job with one clear line on stderr, where Snakemake shows it,
    and in the log; other exceptions keep their traceback in the log.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        main()
    except InputError as err:
        logging.error("%s", err)
        sys.exit(1)
    except Exception:
        logging.error("unexpected failure:\n%s", traceback.format_exc())
        sys.exit(1)
