"""Tables printed as lines of ``column: value`` (numbers to 4 significant digits)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console


def print_rows(table: pd.DataFrame, console: Console, *, skip_empty: bool = False) -> None:
    """Each row of ``table`` as one line; with ``skip_empty``, cells without a value (NaN) left out."""
    for _, row in table.iterrows():
        console.print("  ".join(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}"
                                for key, value in row.items() if not (skip_empty and value != value)),
                      soft_wrap=True)
