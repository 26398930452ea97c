"""A mitochondrion's shape and look: a union of capsules with membranes and cristae.

The shape is the union of capsules around the segments of centreline polylines (one per
branch), so its signed distance is exact. Outer membrane, intermembrane space, inner
membrane and matrix are drawn as layers of that distance (see `_profiles`); lamellar
cristae - a light lumen between two membranes, across the tube at irregular spacing,
each attached to the inner membrane on one side and reaching a random way across - as
layers of the distance along the centreline to the nearest crista plane. Each
mitochondrion draws its own matrix stain and crista contrast (faint to clear) and, unless
the crista parameters are the 'simple' preset's, its own mean crista spacing; its cristae
are then tilted, bowed and of limited width, so that sections show them oblique, curved
and interrupted.
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


def draw_mitochondrion(
    stain: np.ndarray, shape: TubeShape, params: PhantomParameters, axis_variance, rng, looks=None
) -> None:
    """Composite the mitochondrion's layers and cristae over ``stain``.

    ``rng`` is the placement stream: the regular cristae of the 'simple' preset are drawn
    from it, and it is drawn from in the same way whatever the look parameters, so that
    placement (and the labels) do not depend on them. ``looks`` (default: ``rng``) gives
    this mitochondrion's matrix stain, crista contrast and, unless the crista parameters
    are the 'simple' ones, its irregular cristae.
    """
    looks = rng if looks is None else looks
    index = np.nonzero(shape.phi < 4 * np.sqrt(axis_variance.max()))
    phi = shape.phi[index]
    offset = shape.offset[index]
    segment = shape.segment[index]
    length = np.sqrt((offset**2).sum(axis=1))
    normals = offset / np.maximum(length, 1e-3)[:, None]
    sigma = sigma_along(normals, axis_variance)
    matrix_stain = float(looks.uniform(*params.mitochondria_matrix_stain_range))
    contrast = float(looks.uniform(*params.crista_contrast_range))

    # cristae: planes across the tube at irregular spacing along each branch
    plan = _crista_plan(shape.branch_spans, params.crista_spacing_nm, _CRISTA_SPACING_SPREAD, rng)
    regular = _regular_cristae(params)
    if not regular:
        spacing = params.crista_spacing_nm * float(np.exp(params.crista_spacing_variation * looks.standard_normal()))
        plan = _crista_plan(shape.branch_spans, spacing, params.crista_spacing_spread, looks)
    positions, angles, spans_across = plan
    arc = shape.arc[index]
    after = np.clip(np.searchsorted(positions, arc), 1, len(positions) - 1)
    nearest = np.where(np.abs(arc - positions[after - 1]) < np.abs(positions[after] - arc), after - 1, after)
    frame = shape.frames[segment]
    cos, sin = np.cos(angles[nearest])[:, None], np.sin(angles[nearest])[:, None]
    toward = cos * frame[:, 0] + sin * frame[:, 1]
    inner_radius = shape.radii[segment] - 2 * _MEMBRANE_NM - _INTERMEMBRANE_NM
    reach_across = (offset * toward).sum(axis=1) + (2 * spans_across[nearest] - 1) * inner_radius
    axial_sigma = sigma_along(shape.tangents[segment], axis_variance)
    attached = gaussian_cdf(reach_across / axial_sigma)
    if regular:
        along = np.abs(arc - positions[nearest]).astype(np.float32)
    else:
        along, attached = _irregular(arc, positions, nearest, offset, shape.tangents[segment], frame, toward, cos,
                                     sin, inner_radius, attached, axial_sigma, params, looks)
    crista = layered(
        along,
        [_CRISTA_LUMEN_NM / 2 + _CRISTA_MEMBRANE_NM, _CRISTA_LUMEN_NM / 2],
        [matrix_stain, stain_of.CRISTA_MEMBRANE, stain_of.CRISTA_LUMEN],
        axial_sigma,
    )
    if contrast != 1.0:
        attached = attached * np.float32(contrast)
    matrix = matrix_stain + attached * (crista - matrix_stain)

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


def _regular_cristae(params: PhantomParameters) -> bool:
    """The crista parameters are those of the previous phantom (preset 'simple')."""
    return (
        params.crista_spacing_variation == 0
        and params.crista_spacing_spread == _CRISTA_SPACING_SPREAD
        and params.crista_tilt_deg == 0
        and params.crista_sag_nm == 0
        and tuple(params.crista_width_range) == (1.0, 1.0)
    )


def _crista_plan(branch_spans, spacing_nm: float, spread: float, rng):
    """Arc-length positions, angles (toward the inner membrane they attach to) and reach
    across of the cristae along each branch."""
    positions, angles, spans_across = [], [], []
    for start, stop in branch_spans:
        count = int((stop - start) / spacing_nm) + 2
        gaps = spacing_nm * np.clip(1 + spread * rng.standard_normal(count), 0.5, None)
        positions.append(start + np.cumsum(gaps) - gaps[0] / 2)
        angles.append(rng.uniform(0, 2 * np.pi, count))
        spans_across.append(rng.uniform(*_CRISTA_REACH, count))
    return np.concatenate(positions), np.concatenate(angles), np.concatenate(spans_across)


def _irregular(arc, positions, nearest, offset, tangents, frame, toward, cos, sin, inner_radius, attached,
               axial_sigma, params: PhantomParameters, looks):
    """Distance to tilted, bowed crista sheets of limited width, and where they are.

    Each crista's plane is tilted by a normal angle (sd ``crista_tilt_deg``) about a random
    axis across the tube and bowed (sd ``crista_sag_nm`` at the inner membrane); it spans a
    share (``crista_width_range``) of the inner diameter along the direction across the one
    it reaches in from, at a random place, so that sections show cut and interrupted cristae.
    """
    n = len(positions)
    limit = 2.5 * params.crista_tilt_deg
    tilt = np.tan(np.deg2rad(np.clip(params.crista_tilt_deg * looks.standard_normal(n), -limit, limit)))
    tilt_axis = looks.uniform(0, 2 * np.pi, n)
    sag = params.crista_sag_nm * looks.standard_normal(n)
    width = looks.uniform(*params.crista_width_range, n)
    centre = looks.uniform(-1, 1, n) * (1 - width)
    t, a = nearest, tilt_axis[nearest][:, None]
    tilted = np.cos(a) * frame[:, 0] + np.sin(a) * frame[:, 1]
    side = -sin * frame[:, 0] + cos * frame[:, 1]
    across = (offset * side).sum(axis=1)
    radial2 = np.minimum((offset**2).sum(axis=1) / inner_radius**2, 1.0)
    # in the end caps the offset runs along the axis too: the arc length goes on there
    axial = (offset * tangents).sum(axis=1)
    signed = arc + axial - positions[t] + tilt[t] * (offset * tilted).sum(axis=1) + sag[t] * radial2
    extent = width[t] * inner_radius - np.abs(across - centre[t] * inner_radius)
    attached = attached * gaussian_cdf(extent / axial_sigma)
    return np.abs(signed).astype(np.float32), attached
