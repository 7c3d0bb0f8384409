"""Helpers shared by the table scripts: per-example flag columns as written by the memorization rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memkd.errors import InputError


def flags(column: pd.Series) -> np.ndarray:
    """'1' -> True, '0' -> False; an empty cell (not applicable) -> False. Pair with `defined`."""
    return (column.astype(str) == "1").to_numpy()


def defined(column: pd.Series) -> np.ndarray:
    """Where a flag applies (the cell is not empty)."""
    return (column.astype(str) != "").to_numpy()



def aligned(path: str, table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """`table` unchanged if its `id` column follows `ids` exactly; else stop naming the file."""
    if table["id"].tolist() != ids:
        raise InputError(f"{path}: its {len(table)} rows do not follow the study pairs ({len(ids)}) id by id")
    return table
