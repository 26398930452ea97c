"""One figure of the pore workflow's steps, like the published study's: the same patch of
envelope in one Z plane, seen as the EM image, the shell the pockets are sought in, the
pockets, the pore masks, the pore model's probability and the pores found.

The plane is the nucleus's middle Z plane; the patch (``window_um`` square) is centred on
the envelope where the most pockets of that plane lie within it, so the panels show
pores rather than empty envelope. A layer not made yet is drawn as an empty panel that
says which step makes it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from vemprof import ops
from vemprof.ops import load_chain
from vemprof.render import stretched_grey
from vemprof.store import Store
from vemprof.workflows._pockets import POCKETS_CHAIN

#: The patch drawn, µm square.
WINDOW_UM = 3.0


def pore_steps_figure(store: Store, *, nucleus: str, prefix: str, out: Path, chain: Path = POCKETS_CHAIN,
                      window_um: float = WINDOW_UM) -> Path:
    """Draw the six panels (module note) of ``store``'s pore layers named with ``prefix``
    into the PNG ``out``; returns its path."""
    spacing = np.asarray(store.spacing, np.float64)
    mask = store.labels(nucleus).data
    zs = np.flatnonzero(np.asarray((mask > 0).any(axis=(1, 2))))
    z = int((zs[0] + zs[-1]) // 2)
    shell_step = next(step for step in load_chain(chain) if step["op"] == "shell")
    reach = int(np.ceil(shell_step["outer_nm"] / spacing[0])) + 1
    slab = slice(max(z - reach, 0), min(z + reach + 1, mask.shape[0]))
    slab_mask = np.asarray(mask[slab]) > 0
    shell = ops.shell(slab_mask, inner_nm=shell_step["inner_nm"], outer_nm=shell_step["outer_nm"],
                      spacing=spacing)[z - slab.start]
    plane = {"nucleus": slab_mask[z - slab.start], "shell": shell, "raw": np.asarray(store.raw().data[z])}
    for key, name in (("pockets", "pockets"), ("masks", "pore_masks"), ("pores", "pores")):
        if f"{prefix}{name}" in store.label_names:
            plane[key] = np.asarray(store.labels(f"{prefix}{name}").data[z])
    if f"{prefix}pores" in store.probability_names:
        plane["probability"] = np.asarray(store.probabilities(f"{prefix}pores").data[z]) / 255
    window = _window(plane, spacing=spacing[1:], window_um=window_um)
    extent_um = [0, (window[1].stop - window[1].start) * spacing[2] / 1000,
                 (window[0].stop - window[0].start) * spacing[1] / 1000, 0]
    grey = stretched_grey(plane["raw"][window])
    panels = [("EM image", None, None), (f"shell {shell_step['inner_nm']:g}–{shell_step['outer_nm']:g} nm "
                                         "inside the envelope", "shell", "--steps pockets"),
              ("pockets (3D operations)", "pockets", "--steps pockets"), ("pore masks", "masks", "--steps masks"),
              ("pore probability (U-Net)", "probability", "--steps detect"), ("pores found", "pores", "--steps detect")]
    figure, axes = plt.subplots(2, 3, figsize=(12, 8.4), layout="constrained")
    for axis, (title, key, step) in zip(axes.ravel(), panels):
        axis.imshow(grey, cmap="gray", extent=extent_um, interpolation="nearest")
        outline = plane["nucleus"][window]
        axis.contour((np.arange(outline.shape[1]) + 0.5) * spacing[2] / 1000,
                     (np.arange(outline.shape[0]) + 0.5) * spacing[1] / 1000, outline, levels=[0.5],
                     colors="#4fc3f7", linewidths=0.6, alpha=0.7)
        if key is not None and key not in plane:
            axis.text(0.5, 0.5, f"not made yet ({step})", transform=axis.transAxes, ha="center",
                      bbox={"facecolor": "white", "alpha": 0.8})
        elif key == "probability":
            shown = axis.imshow(np.ma.masked_less(plane[key][window], 0.05), cmap="magma", vmin=0, vmax=1,
                                extent=extent_um, interpolation="nearest")
            figure.colorbar(shown, ax=axis, shrink=0.7, label="probability")
        elif key is not None:
            axis.imshow(np.ma.masked_equal(_coloured(plane[key][window]), 0), cmap=_LABEL_COLOURS, vmin=1,
                        vmax=len(_LABEL_COLOURS.colors), extent=extent_um, interpolation="nearest", alpha=0.7)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("x (µm)")
        axis.set_ylabel("y (µm)")
    figure.suptitle(f"{store.path.name}: the pore workflow in Z plane {z} (nucleus outline in blue)")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


#: Distinct colours for label ids (cycled).
_LABEL_COLOURS = ListedColormap(plt.get_cmap("tab10").colors)


def _coloured(labels: np.ndarray) -> np.ndarray:
    """Label ids as indices 1…10 of `_LABEL_COLOURS` (0 stays 0)."""
    return np.where(labels > 0, (labels.astype(np.int64) - 1) % len(_LABEL_COLOURS.colors) + 1, 0)


def _window(plane: dict[str, np.ndarray], *, spacing: np.ndarray, window_um: float) -> tuple[slice, slice]:
    """The (rows, columns) window of ``window_um`` centred on the envelope point of the plane
    with the most pocket (else pore, else envelope) pixels around it."""
    size = np.minimum(np.round(window_um * 1000 / spacing).astype(int), plane["raw"].shape)
    weight = next((plane[key] > 0 for key in ("pockets", "pores", "shell") if key in plane and plane[key].any()),
                  plane["nucleus"])
    rows, columns = np.nonzero(plane["shell"] if plane["shell"].any() else plane["nucleus"])
    if len(rows) == 0:
        centre = np.array(plane["raw"].shape) // 2
    else:
        counts = np.cumsum(np.cumsum(np.pad(weight, ((1, 0), (1, 0))), axis=0), axis=1)  # summed-area table
        half = size // 2
        top = np.clip(rows - half[0], 0, weight.shape[0] - size[0])
        left = np.clip(columns - half[1], 0, weight.shape[1] - size[1])
        inside = (counts[top + size[0], left + size[1]] - counts[top, left + size[1]] - counts[top + size[0], left]
                  + counts[top, left])
        best = int(np.argmax(inside))
        centre = np.array([top[best] + half[0], left[best] + half[1]])
    start = np.clip(centre - size // 2, 0, np.array(plane["raw"].shape) - size)
    return slice(int(start[0]), int(start[0] + size[0])), slice(int(start[1]), int(start[1] + size[1]))

