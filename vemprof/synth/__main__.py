"""Write the documentation figures of the default phantom.

Usage: ``python -m vemprof.synth [OUT_DIR]`` (default ``docs/images``) writes
``phantom_montage.png`` (slices through the nucleus and an XZ slice, with the ground
truth) and ``phantom_pores_zoom.png`` (a crop on the envelope, cut across, showing pores
and the pockets under them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vemprof.synth import make_phantom, phantom_montage, phantom_zoom


def write_figures(out_dir: Path) -> list[Path]:
    """Make the default phantom and write its montage and pore zoom into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    phantom = make_phantom()
    nucleus_planes = np.flatnonzero(phantom.labels["nucleus"].any(axis=(1, 2)))
    low, high = nucleus_planes.min(), nucleus_planes.max()
    z_slices = [low + (high - low) // 5, (low + high) // 2, high - (high - low) // 5]
    montage = phantom_montage(
        phantom.image, phantom.labels, spacing=phantom.spacing, path=out_dir / "phantom_montage.png",
        z_slices=z_slices, title="vemprof.synth default phantom (EM contrast, 25 × 20 × 20 nm voxels)",
    )
    pore = _showcase_pore(phantom)
    zoom = phantom_zoom(
        phantom.image, phantom.labels, spacing=phantom.spacing, path=out_dir / "phantom_pores_zoom.png",
        center_zyx_um=(pore["z_um"], pore["y_um"], pore["x_um"]), size_um=1.6,
        title="Nuclear envelope: pores (red) and the pockets under them (cyan)",
    )
    return [montage, zoom]


def _showcase_pore(phantom):
    """A pore where the XY plane cuts the envelope straight across (a thin envelope line
    around it, one section, cytoplasm outside), with the darkest heterochromatin beside
    it, so that its gap and pocket show."""
    spacing = np.asarray(phantom.spacing)
    shape = np.asarray(phantom.image.shape)
    pores = phantom.tables["pores"]
    pores = pores[pores["normal_z"].abs() < 0.1]
    centers = pores[["z_um", "y_um", "x_um"]].to_numpy() * 1000
    normals = pores[["normal_z", "normal_y", "normal_x"]].to_numpy()
    along = np.stack([np.zeros(len(pores)), -normals[:, 2], normals[:, 1]], axis=1)
    along /= np.linalg.norm(along, axis=1, keepdims=True)

    def window(volume, points, half):
        """Values of ``volume`` in the XY square of half-size ``half`` voxels around each point."""
        z, y, x = np.clip(np.rint(points / spacing).astype(int), half, shape - half - 1).T
        return [volume[z[i], y[i] - half : y[i] + half + 1, x[i] - half : x[i] + half + 1] for i in range(len(z))]

    half = round(_SHOWCASE_RADIUS_NM / spacing[1])
    envelope = np.array([w.mean() for w in window(phantom.labels["nuclear_envelope"], centers, half)])
    sections = [np.unique(w[w > 0]) for w in window(phantom.labels["nucleus_sections"], centers, half)]
    outside = phantom.labels["cell"][tuple(np.rint((centers + _CYTOPLASM_OUTSIDE_NM * normals) / spacing).astype(int).T)]
    darkness = sum(
        np.array([w.mean() for w in window(phantom.image, centers - _LINING_DEPTH_NM * normals + side * _LINING_BESIDE_NM * along, 1)])
        for side in (-1, 1)
    )
    eligible = (envelope < np.median(envelope)) & (np.array([len(s) for s in sections]) == 1) & (outside == 1)
    darkness[~eligible] = np.inf
    return pores.iloc[int(np.argmin(darkness))]


#: Half-size of the square around the showcase pore that must hold a thin envelope line
#: of one section, nm.
_SHOWCASE_RADIUS_NM = 500.0
#: Distance outside the envelope that must still be cytoplasm, nm.
_CYTOPLASM_OUTSIDE_NM = 400.0
#: Where the heterochromatin beside the pocket is sampled: depth below the pore centre
#: and distance to either side along the envelope, nm.
_LINING_DEPTH_NM = 90.0
_LINING_BESIDE_NM = 170.0


if __name__ == "__main__":
    for path in write_figures(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(path)
