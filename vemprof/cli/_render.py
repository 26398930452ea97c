"""``vemprof render``: a label image's objects coloured by a column of their table, as a PNG and a mesh."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console()


def render_command(
    store: Path = typer.Argument(..., help="The dataset store holding labels/NAME and tables/NAME."),
    labels: str = typer.Option(..., "--labels", metavar="NAME", help="Render the objects of labels/NAME."),
    color_by: str = typer.Option(..., "--color-by", metavar="COLUMN",
                                 help="Colour each object by this column of tables/NAME, e.g. sv_ratio_per_um."),
    out: Path = typer.Option(..., "--out", metavar="FIG.png",
                             help="The figure: XY and XZ slices, maximum projections, colour bar, scale bars."),
    mesh: Optional[Path] = typer.Option(None, "--mesh", metavar="OUT.glb",
                                        help="Also the objects' coloured surfaces (.ply, .glb or .gltf), µm, x,y,z."),
    cmap: str = typer.Option("viridis", "--cmap", help="Matplotlib colour map (viridis, magma, coolwarm, …)."),
) -> None:
    """Colour each object of a label image by a measured feature: slices and projections (PNG) and a mesh."""
    from vemprof.render import render_labels
    from vemprof.store import Store

    rendering = render_labels(Store.open(store), labels, color_by=color_by, out=out, mesh=mesh, cmap=cmap)
    level = "full resolution" if rendering.level == 0 else f"pyramid level {rendering.level}"
    voxel = "×".join(f"{s:g}" for s in rendering.spacing)
    console.print(f"rendered {rendering.objects} objects of labels/{labels} by {color_by} ({level}, {voxel} nm "
                  f"voxels); wrote {out}" + (f" and {mesh}" if mesh else ""), highlight=False, soft_wrap=True)
