"""``vemprof synth``: make a phantom cell (or a field of them) and write it, with its ground truth, as a store."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vemprof.render import write_preview
from vemprof.cli._rich_progress import rich_progress
from vemprof.errors import VemprofError
from vemprof.store import check_output_file, refuse_existing, write_dataset, write_tiled_dataset
from vemprof.synth import PhantomField, PhantomParameters, make_phantom, summarise_field
from vemprof.synth._phantom import INSTANCES

#: The phantom's tables of objects (mitochondria, pores, …) are stored as truth_<name>:
#: measuring labels/<name> writes tables/<name> beside the ground truth, not over it.
TRUTH_PREFIX = "truth_"


def describe_parameters() -> Table:
    """Every phantom parameter with its default and meaning."""
    table = Table("parameter", "default", "meaning", box=None)
    for name, field in PhantomParameters.model_fields.items():
        table.add_row(name, repr(field.default), field.description or "")
    return table


def run_synth(destination: Path, *, seed: int | None, overrides: dict, tiles: tuple[int, int, int] = (1, 1, 1),
              preview: bool, overwrite: bool, console: Console) -> None:
    """Generate the phantom, write the store (and a preview PNG beside it), print its summary.

    ``overrides`` maps parameter names to values, as text from ``--set`` or already typed;
    the seed may come from ``--seed`` or ``--set seed=N``, not both. ``tiles`` (Z, Y, X
    counts) other than (1, 1, 1) makes a field of cells, one phantom per tile (see
    `PhantomField`), written tile by tile."""
    refuse_existing(destination, overwrite=overwrite)  # before the phantom is generated, not after
    if preview:
        check_output_file(destination.with_suffix(".png"))
    if seed is not None and "seed" in overrides:
        raise VemprofError("give the seed once: --seed N or --set seed=N, not both")
    parameters = PhantomParameters(**{"seed": 0 if seed is None else seed, **_parsed(overrides)})
    if tuple(tiles) == (1, 1, 1):
        summary = _write_phantom(destination, parameters, overwrite=overwrite, console=console)
    else:
        summary = _write_field(destination, PhantomField(parameters, tiles=tiles), overwrite=overwrite,
                               console=console)
    console.print(_summary_table(summary))
    console.print(f"wrote {destination}")
    if preview:
        console.print(f"wrote {write_preview(destination)}")


def _write_phantom(destination: Path, parameters: PhantomParameters, *, overwrite: bool, console: Console) -> dict:
    """One phantom made in memory, then written; its summary."""
    started = time.perf_counter()
    with console.status("generating the phantom cell"):
        phantom = make_phantom(parameters)
    seconds = time.perf_counter() - started
    console.print(f"generated {'×'.join(map(str, phantom.image.shape))} voxels in {seconds:.1f} s")
    write_dataset(destination, raw=phantom.image, spacing=phantom.spacing, labels=phantom.labels,
                  tables=_truth_names(phantom.tables), step="synth", parameters={**phantom.parameters, "summary": phantom.summary},
                  overwrite=overwrite, progress=rich_progress)
    return phantom.summary


def _write_field(destination: Path, field: PhantomField, *, overwrite: bool, console: Console) -> dict:
    """A field of phantom cells made and written tile by tile; its summary (totals over
    the tiles; each tile's own in the store's ``tiles`` table)."""
    started = time.perf_counter()
    store = write_tiled_dataset(
        destination, shape=field.shape, spacing=field.spacing, count=field.count,
        make_tile=lambda *args, **options: _TruthTile(field.tile(*args, **options)),
        step="synth", parameters={**field.params.model_dump(mode="json"), "tiles": list(field.tiles)},
        overwrite=overwrite, progress=rich_progress,
    )
    seconds = time.perf_counter() - started
    console.print(f"generated and wrote {'×'.join(map(str, field.shape))} voxels in {field.count} tiles "
                  f"in {seconds:.1f} s")
    return summarise_field(store.read_table("tiles"))


def _truth_names(tables: dict) -> dict:
    return {(TRUTH_PREFIX + name if name in INSTANCES else name): table for name, table in tables.items()}


class _TruthTile:
    """A field's tile whose object tables are named as stored (`TRUTH_PREFIX`)."""

    def __init__(self, tile):
        self._tile = tile

    def __getattr__(self, name):
        return getattr(self._tile, name)

    @property
    def tables(self) -> dict:
        return _truth_names(self._tile.tables)


def _parsed(overrides: dict[str, str]) -> dict:
    """``--set`` values as the parameter types want them: pydantic converts the text, and
    `PhantomParameters` reports a bad value as one line."""
    unknown = sorted(set(overrides) - set(PhantomParameters.model_fields))
    if unknown:
        raise VemprofError(f"unknown phantom parameter(s) {', '.join(unknown)}; see 'vemprof synth --parameters'")
    return {name: _typed(value) for name, value in overrides.items()}


def _typed(value):
    if not isinstance(value, str):
        return value
    return None if value.lower() == "none" else (value.split(",") if "," in value else value)


def _summary_table(summary: dict) -> Table:
    table = Table(show_header=False, box=None)
    for name, value in summary.items():
        table.add_row(name, _format(value))
    return table


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    return str(value)
