"""``vemprof ops --list``: every operation, its inputs, parameters, units and defaults."""

from __future__ import annotations

from rich.text import Text

from vemprof.ops import describe_operations


def operations_table() -> Text:
    """One block per operation: its inputs, then a line per parameter."""
    text = Text()
    for operation, rows in describe_operations().groupby("operation", sort=False):
        text.append(f"{operation}", style="bold")
        text.append(f"({rows['inputs'].iloc[0]})\n")
        for row in rows.itertuples(index=False):
            if not row.parameter:
                text.append(f"    {row.description}\n", style="dim")
                continue
            unit = f" [{row.unit}]" if row.unit else ""
            text.append(f"    {row.parameter}{unit} = {row.default}", style="cyan")
            text.append(f"  {row.description}\n")
    return text
