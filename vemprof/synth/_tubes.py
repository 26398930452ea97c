"""A mitochondrion's shape and look: a union of capsules with membranes and cristae.

The shape is the union of capsules around the segments of centreline polylines (one per
branch), so its signed distance is exact. Outer membrane, intermembrane space, inner
membrane and matrix are drawn as layers of that distance (see `_profiles`); lamellar
cristae - a light lumen between two membranes, across the tube at irregular spacing,
each attached to the inner membrane on one side and reaching a random way across - as
layers of the distance along the centreline to the nearest crista plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vemprof.synth import _stain as stain_of
from vemprof.synth._grid import Box, Grid
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._profiles import gaussian_cdf, layered, sigma_along

#: Thickness of the outer and inner membranes and width of the space between them, nm.
_MEMBRANE_NM = 6.0
_INTERMEMBRANE_NM = 8.0
#: Width of a crista's lumen and thickness of its membranes, nm.
_CRISTA_LUMEN_NM = 24.0
_CRISTA_MEMBRANE_NM = 5.0
#: Relative spread of the spacing between consecutive cristae.
_CRISTA_SPACING_SPREAD = 0.25
#: Least and most share of the inner diameter a crista reaches across.
_CRISTA_REACH = (0.3, 1.0)


@dataclass
class TubeShape:
    """A mitochondrion rasterised over ``box``: per voxel the signed distance ``phi`` (nm),
    the offset from the nearest centreline point ``offset`` (..., 3) nm, the nearest segment
    ``segment`` and the arc length there ``arc`` (nm); per segment its unit ``tangents``,
    two unit vectors across it ``frames`` (n, 2, 3) and its radius; the arc-length span
    of each branch."""

    box: Box
    phi: np.ndarray
    offset: np.ndarray
    segment: np.ndarray
    arc: np.ndarray
    tangents: np.ndarray
    frames: np.ndarray
    radii: np.ndarray
    branch_spans: list[tuple[float, float]]


def rasterise_tubes(branches, radii, grid: Grid, margin: float) -> TubeShape:
    """The union of capsules of radius ``radii[b]`` around each branch polyline
    ``branches[b]`` (m, 3) nm, over the box that holds it with ``margin`` nm to spare."""
    starts, ends, seg_radii, seg_arc, spans = [], [], [], [], []
    offset = 0.0
    for points, radius in zip(branches, radii):
        if len(points) == 1:
            points = np.vstack([points, points])
        a, e = points[:-1], points[1:]
        lengths = np.linalg.norm(e - a, axis=1)
        starts.append(a)
        ends.append(e)
        seg_radii.append(np.full(len(a), radius))
        seg_arc.append(offset + np.concatenate([[0.0], np.cumsum(lengths)[:-1]]))
        spans.append((offset, offset + lengths.sum()))
        offset += lengths.sum() + 1e6  # keep branches apart in arc length
    a = np.concatenate(starts)
    e = np.concatenate(ends)
    r = np.concatenate(seg_radii)
    arc0 = np.concatenate(seg_arc)
    reach = r.max() + margin
    box = grid.box_around(np.minimum(a, e).min(axis=0) - reach, np.maximum(a, e).max(axis=0) + reach)
    shape = tuple(s.stop - s.start for s in box)
    phi = np.full(shape, np.inf, dtype=np.float32)
    off = np.zeros(shape + (3,), dtype=np.float32)
    segment = np.zeros(shape, dtype=np.int32)
    arc = np.zeros(shape, dtype=np.float32)
    origin = np.array([s.start for s in box])
    for i in range(len(a)):
        sub = grid.box_around(np.minimum(a[i], e[i]) - r[i] - margin, np.maximum(a[i], e[i]) + r[i] + margin)
        sub = tuple(slice(max(s.start, b.start), min(s.stop, b.stop)) for s, b in zip(sub, box))
        rel = tuple(slice(s.start - o, s.stop - o) for s, o in zip(sub, origin))
        z, y, x = grid.coordinates(sub)
        direction = (e[i] - a[i]).astype(np.float32)
        length2 = float(direction @ direction)
        rz, ry, rx = z - np.float32(a[i, 0]), y - np.float32(a[i, 1]), x - np.float32(a[i, 2])
        t = (rz * direction[0] + ry * direction[1] + rx * direction[2]) / np.float32(max(length2, 1e-9))
        np.clip(t, 0, 1, out=t)
        vz, vy, vx = rz - t * direction[0], ry - t * direction[1], rx - t * direction[2]
        distance = np.sqrt(vz * vz + vy * vy + vx * vx) - np.float32(r[i])
        better = distance < phi[rel]
        phi[rel][better] = distance[better]
        segment[rel][better] = i
        arc[rel][better] = (arc0[i] + t * np.sqrt(length2))[better]
        for axis, v in enumerate((vz, vy, vx)):
            off[rel + (axis,)][better] = np.broadcast_to(v, better.shape)[better]
    tangents = e - a
    lengths = np.linalg.norm(tangents, axis=1, keepdims=True)
    # a single-point branch is a sphere: any axis will do for its cristae
    tangents = np.where(lengths > 1e-9, tangents / np.maximum(lengths, 1e-9), [[1.0, 0.0, 0.0]])
    helper = np.where(np.abs(tangents[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    first = np.cross(tangents, helper)
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    frames = np.stack([first, np.cross(tangents, first)], axis=1)
    return TubeShape(box, phi, off, segment, arc, tangents, frames, r, spans)


def draw_mitochondrion(stain: np.ndarray, shape: TubeShape, params: PhantomParameters, axis_variance, rng) -> None:
    """Composite the mitochondrion's layers and cristae over ``stain``."""
    index = np.nonzero(shape.phi < 4 * np.sqrt(axis_variance.max()))
    phi = shape.phi[index]
    offset = shape.offset[index]
    segment = shape.segment[index]
    length = np.sqrt((offset**2).sum(axis=1))
    normals = offset / np.maximum(length, 1e-3)[:, None]
    sigma = sigma_along(normals, axis_variance)

    # cristae: planes across the tube at irregular spacing along each branch
    positions, angles, spans_across = [], [], []
    for start, stop in shape.branch_spans:
        count = int((stop - start) / params.crista_spacing_nm) + 2
        gaps = params.crista_spacing_nm * np.clip(1 + _CRISTA_SPACING_SPREAD * rng.standard_normal(count), 0.5, None)
        positions.append(start + np.cumsum(gaps) - gaps[0] / 2)
        angles.append(rng.uniform(0, 2 * np.pi, count))
        spans_across.append(rng.uniform(*_CRISTA_REACH, count))
    positions = np.concatenate(positions)
    angles = np.concatenate(angles)
    spans_across = np.concatenate(spans_across)
    arc = shape.arc[index]
    after = np.clip(np.searchsorted(positions, arc), 1, len(positions) - 1)
    nearest = np.where(np.abs(arc - positions[after - 1]) < np.abs(positions[after] - arc), after - 1, after)
    along = np.abs(arc - positions[nearest]).astype(np.float32)
    frame = shape.frames[segment]
    toward = np.cos(angles[nearest])[:, None] * frame[:, 0] + np.sin(angles[nearest])[:, None] * frame[:, 1]
    inner_radius = shape.radii[segment] - 2 * _MEMBRANE_NM - _INTERMEMBRANE_NM
    reach_across = (offset * toward).sum(axis=1) + (2 * spans_across[nearest] - 1) * inner_radius
    axial_sigma = sigma_along(shape.tangents[segment], axis_variance)
    attached = gaussian_cdf(reach_across / axial_sigma)
    crista = layered(
        along,
        [_CRISTA_LUMEN_NM / 2 + _CRISTA_MEMBRANE_NM, _CRISTA_LUMEN_NM / 2],
        [stain_of.MITOCHONDRIAL_MATRIX, stain_of.CRISTA_MEMBRANE, stain_of.CRISTA_LUMEN],
        axial_sigma,
    )
    matrix = stain_of.MITOCHONDRIAL_MATRIX + attached * (crista - stain_of.MITOCHONDRIAL_MATRIX)

    outer = -_MEMBRANE_NM
    own = layered(
        phi,
        [0.0, outer, outer - _INTERMEMBRANE_NM, outer - _INTERMEMBRANE_NM - _MEMBRANE_NM],
        [0.0, stain_of.MEMBRANE, stain_of.INTERMEMBRANE_SPACE, stain_of.MEMBRANE, matrix],
        sigma,
    )
    coverage = gaussian_cdf(-phi / sigma)
    view = stain[shape.box]
    view[index] = view[index] * (1 - coverage) + own
