"""What every rule script does around its work: log to the rule's log, report bad input plainly, once."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Callable

from memkd.errors import InputError


def run(main: Callable[[], None], log_path: str | None) -> None:
    """Run `main` with logging to the rule's log file and to stderr.

    Bad input (InputError) ends the job with one clear line, other exceptions with their traceback, written once:
    into the log, which Snakemake prints under the failed job (`show-failed-logs`, set in every profile of the
    workflow; the default profile is loaded with its Snakefile), or on stderr when there is no log. On stderr as well
    the line came twice (e.g. the split-size error of split_corpus).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
    try:
        main()
    except InputError as err:
        _log_once("%s", err)
        sys.exit(1)
    except Exception:
        _log_once("unexpected failure:\n%s", traceback.format_exc())
        sys.exit(1)


def _log_once(message: str, *args) -> None:
    """The job's last record: into the log file alone when there is one (see `run`)."""
    root = logging.getLogger()
    if any(isinstance(handler, logging.FileHandler) for handler in root.handlers):
        for handler in [h for h in root.handlers if not isinstance(h, logging.FileHandler)]:
            root.removeHandler(handler)
    logging.error(message, *args)
