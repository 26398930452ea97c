"""The cell as an analytic signed distance in nm (negative inside), holding its nucleus.

The cell is a spread, flattened shape: a star-shaped outline whose radius carries smooth
low-frequency lobes (angular orders 2-5), a flat bottom on the substrate and a top that
rises from a thin lamella at the edge to a dome draped over the nucleus (see `_nucleus`)
with a margin of cytoplasm on every side, rounded edges, and microvilli on the upper
surface. The signed distance is first-order accurate near the surface (an implicit
function over its gradient), which is where the membrane is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from vemprof.errors import VemprofError
from vemprof.synth._grid import Box, Grid
from vemprof.synth._nucleus import (
    BUMP_EXTREME,
    LOBE_BLEND_NM,
    Lobe,
    Nucleus,
    build_nucleus,
    smooth_min,
)
from vemprof.synth._parameters import PhantomParameters

#: Least resin between the cell and the faces of the volume, nm.
_RESIN_MARGIN_NM = 250.0
#: Share of the resin thickness (the Z extent beyond the cell) below the substrate; the rest
#: lies over the cell.
_SUBSTRATE_SHARE = 0.4
#: Smallest cell outline diameter that holds a nucleus with a cleft and mitochondria, nm.
_MIN_CELL_DIAMETER_NM = 3000.0
#: Least nucleus thickness, nm.
_MIN_NUCLEUS_HEIGHT_NM = 500.0
#: Default cell thickness over the nucleus when the field allows it, nm.
_DEFAULT_CELL_HEIGHT_NM = 3500.0
#: Default cell thickness as a fraction of the Z extent, for shallow fields.
_DEFAULT_HEIGHT_FRACTION = 0.7
#: Default cytoplasm above and below the nucleus, as a fraction of the cell thickness, and
#: its least value, nm.
_DEFAULT_MARGIN_FRACTION = 0.2
_MIN_MARGIN_NM = 300.0
#: Thickness of the cytoplasm away from the nucleus, as a fraction of the way from the
#: edge thickness to the thickness over the nucleus.
_LAMELLA_RISE = 0.5
#: Radius of the rounded cell edge as a fraction of the edge thickness.
_EDGE_ROUNDING = 0.45
#: Growing an ellipsoid's semi-axes by d does not quite hold the surface at distance d
#: from it (flat ones bulge out by up to ~5%); grow them by this multiple of d.
_DOME_GROWTH = 1.5
#: Width over which the cell top blends into the dome over the nucleus, nm.
_DOME_BLEND_NM = 400.0
#: Blend radius where a microvillus joins the cell surface, nm; its largest tilt from the
#: surface normal (as a tangent); log-normal sigma of microvillus lengths.
_MICROVILLUS_BLEND_NM = 40.0
_MICROVILLUS_TILT = 0.6
_MICROVILLUS_LENGTH_SPREAD = 0.35


@dataclass(frozen=True)
class Outline:
    """Star-shaped outline of the cell on the substrate: R(θ) = R0 (1 + Σ a_k cos(kθ - φ_k))."""

    center_yx_nm: tuple[float, float]
    mean_radius_nm: float
    orders: np.ndarray
    amplitudes: np.ndarray
    phases: np.ndarray

    def relative_radius(self, theta: np.ndarray) -> np.ndarray:
        angles = self.orders * theta[..., None] - self.phases
        return 1 + (self.amplitudes * np.cos(angles)).sum(axis=-1)

    def relative_radius_slope(self, theta: np.ndarray) -> np.ndarray:
        angles = self.orders * theta[..., None] - self.phases
        return -(self.amplitudes * self.orders * np.sin(angles)).sum(axis=-1)


@dataclass(frozen=True)
class Microvilli:
    """Finger-like protrusions of the upper cell surface: capsules from ``bases`` to
    ``tips`` (n, 3) nm, of radius ``radius_nm``."""

    bases: np.ndarray
    tips: np.ndarray
    radius_nm: float

    def join(self, sdf: np.ndarray, grid: Grid, box: Box) -> None:
        """Smoothly unite the microvilli with the signed distance ``sdf`` over ``box`` (in place)."""
        reach = self.radius_nm + _MICROVILLUS_BLEND_NM
        for base, tip in zip(self.bases, self.tips):
            local = grid.box_around(np.minimum(base, tip) - reach, np.maximum(base, tip) + reach)
            local = tuple(slice(max(s.start, b.start), min(s.stop, b.stop)) for s, b in zip(local, box))
            if any(s.stop <= s.start for s in local):
                continue
            z, y, x = grid.coordinates(local)
            axis = (tip - base).astype(np.float32)
            rz, ry, rx = z - np.float32(base[0]), y - np.float32(base[1]), x - np.float32(base[2])
            t = np.clip((rz * axis[0] + ry * axis[1] + rx * axis[2]) / np.float32(axis @ axis), 0, 1)
            distance = np.sqrt((rz - t * axis[0]) ** 2 + (ry - t * axis[1]) ** 2 + (rx - t * axis[2]) ** 2)
            relative = tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(local, box))
            sdf[relative] = smooth_min(sdf[relative], distance - np.float32(self.radius_nm), _MICROVILLUS_BLEND_NM)


@dataclass(frozen=True)
class Cell:
    """The cell body: outline, flat bottom on the substrate at ``z_substrate_nm`` and a top
    ``top_nm`` (Y, X) nm above it (towards lower Z: the volume is milled from the top of the
    block down to the substrate, so the first slices meet the top of the cell) (``height_nm`` is the requested thickness over the nucleus, ``margin_nm`` the
    cytoplasm above and below the nucleus), with ``rounding_nm`` rounded edges; and its
    nucleus."""

    outline: Outline
    z_substrate_nm: float
    height_nm: float
    margin_nm: float
    top_nm: np.ndarray
    top_slope_factor: np.ndarray
    lateral_sdf: np.ndarray
    rounding_nm: float
    nucleus: Nucleus
    microvilli: Microvilli

    def sdf_on_grid(self, grid: Grid, box: Box) -> np.ndarray:
        """Signed distance to the plasma membrane (outer face) at the voxels of ``box``, nm,
        float32: the rounded intersection of the outline's prism and the slab between the
        bottom and the top, joined smoothly to the microvilli."""
        z, _, _ = grid.coordinates(box)
        lateral = self.lateral_sdf[box[1], box[2]][None] + np.float32(self.rounding_nm)
        height = np.float32(self.z_substrate_nm) - z
        top = self.top_nm[box[1], box[2]][None]
        slope = self.top_slope_factor[box[1], box[2]][None]
        vertical = height - top
        vertical *= slope
        np.maximum(vertical, -height, out=vertical)
        vertical += np.float32(self.rounding_nm)
        out = np.maximum(vertical, lateral)
        np.minimum(out, 0, out=out)
        np.maximum(vertical, 0, out=vertical)
        vertical *= vertical
        vertical += np.clip(lateral, 0, None) ** 2
        np.sqrt(vertical, out=vertical)
        out += vertical
        out -= np.float32(self.rounding_nm)
        self.microvilli.join(out, grid, box)
        return out


def _outline(params: PhantomParameters, grid: Grid, rng: np.random.Generator) -> Outline:
    orders = np.arange(2, 6, dtype=float)
    weights = rng.rayleigh(size=orders.size) / orders
    amplitudes = params.cell_outline_irregularity * np.sqrt(2) * weights / np.linalg.norm(weights)
    phases = rng.uniform(0, 2 * np.pi, size=orders.size)
    extent = grid.extent_nm
    center = ((grid.shape[1] - 1) * grid.spacing[1] / 2, (grid.shape[2] - 1) * grid.spacing[2] / 2)
    unit = Outline(center, 1.0, orders, amplitudes, phases)
    widest = float(unit.relative_radius(np.linspace(0, 2 * np.pi, 720)).max())
    room = min(extent[1], extent[2]) / 2 - _RESIN_MARGIN_NM
    if params.cell_diameter_um is None:
        # resolved to whole nanometres of diameter, so that the value reported in
        # `Phantom.parameters` makes the same cell when given back
        radius = float(np.floor(2 * room / widest)) / 2
    else:
        radius = round(params.cell_diameter_um * 1000.0, 6) / 2
        if radius * widest > room:
            raise VemprofError(
                f"a cell {params.cell_diameter_um:g} µm across (up to {2e-3 * radius * widest:.1f} µm with its "
                f"lobes) does not fit the {extent[1] / 1000:.2f} × {extent[2] / 1000:.2f} µm field of view; "
                f"enlarge shape or spacing, or set cell_diameter_um ≤ {2e-3 * room / widest:.1f}"
            )
    if 2 * radius < _MIN_CELL_DIAMETER_NM:
        raise VemprofError(
            f"the field of view {_extent_text(grid)} is too small for a cell: it needs at least "
            f"{(_MIN_CELL_DIAMETER_NM * widest + 2 * _RESIN_MARGIN_NM) / 1000:.1f} µm in Y and X; "
            "increase shape or spacing"
        )
    return Outline(center, radius, orders, amplitudes, phases)


def _extent_text(grid: Grid) -> str:
    extent = grid.extent_nm / 1000
    return f"{extent[0]:.2f} × {extent[1]:.2f} × {extent[2]:.2f} µm (shape {grid.shape} at {grid.spacing} nm)"


def _cell_height(params: PhantomParameters, grid: Grid) -> tuple[float, float]:
    """Thickness of the cell over the nucleus and of the cytoplasm above and below the
    nucleus, nm."""
    depth = grid.extent_nm[0]
    room = depth - 2 * _RESIN_MARGIN_NM
    if params.cell_height_um is None:
        height = float(np.floor(min(_DEFAULT_CELL_HEIGHT_NM, _DEFAULT_HEIGHT_FRACTION * depth)))
    else:
        height = round(params.cell_height_um * 1000.0, 6)
        if height > room:
            raise VemprofError(
                f"a cell {params.cell_height_um:g} µm thick does not fit the {depth / 1000:.2f} µm Z extent with "
                f"resin around it; set cell_height_um ≤ {room / 1000:.2f} or enlarge shape or spacing in Z"
            )
    if params.cytoplasm_margin_um is None:
        margin = float(np.floor(max(_MIN_MARGIN_NM, _DEFAULT_MARGIN_FRACTION * height)))
    else:
        margin = round(params.cytoplasm_margin_um * 1000.0, 6)
    needed = _MIN_NUCLEUS_HEIGHT_NM + 2 * margin + 2 * BUMP_EXTREME * params.nucleus_irregularity_nm
    if height < needed:
        raise VemprofError(
            f"the cell is {height / 1000:.2f} µm thick, too thin for a nucleus with "
            f"{margin / 1000:g} µm of cytoplasm above and below (needs {needed / 1000:.2f} µm); "
            f"increase the Z extent (shape or spacing), cell_height_um, or lower cytoplasm_margin_um"
        )
    if params.cell_edge_thickness_um * 1000 >= height:
        raise VemprofError(
            f"cell_edge_thickness_um={params.cell_edge_thickness_um:g} must be below the cell thickness "
            f"{height / 1000:.2f} µm; lower it"
        )
    return height, margin


def build_cell(params: PhantomParameters, grid: Grid, rng: np.random.Generator) -> tuple[Cell, Box]:
    """The cell with its nucleus, and the index box that holds the cell with a resin margin.

    Raises `VemprofError` where the field of view cannot hold the requested cell.
    """
    outline = _outline(params, grid, rng)
    height, margin = _cell_height(params, grid)
    z_substrate = grid.extent_nm[0] - _SUBSTRATE_SHARE * (grid.extent_nm[0] - height)
    y = np.arange(grid.shape[1], dtype=np.float64)[:, None] * grid.spacing[1] - outline.center_yx_nm[0]
    x = np.arange(grid.shape[2], dtype=np.float64)[None, :] * grid.spacing[2] - outline.center_yx_nm[1]
    rho = np.hypot(y, x)
    theta = np.arctan2(y, x)
    radius = outline.mean_radius_nm * outline.relative_radius(theta)
    slope = outline.mean_radius_nm * outline.relative_radius_slope(theta)
    # the gradient correction of a star-shaped outline, evaluated no closer to the centre
    # than half the radius (it only matters near the outline)
    lateral = (rho - radius) / np.sqrt(1 + (slope / np.maximum(rho, radius / 2)) ** 2)
    # the nucleus' long axis along the outline's widest direction
    theta = np.linspace(0, np.pi, 360, endpoint=False)
    span = outline.relative_radius(theta) + outline.relative_radius(theta + np.pi)
    nucleus = build_nucleus(
        params,
        grid,
        center_yx_nm=outline.center_yx_nm,
        angle=float(theta[np.argmax(span)]),
        length_nm=params.nucleus_length_fraction * 2 * outline.mean_radius_nm,
        lateral_sdf=lateral,
        z_substrate_nm=z_substrate,
        height_nm=height,
        margin_nm=margin,
        rng=rng,
    )

    edge = params.cell_edge_thickness_um * 1000
    middle = edge + _LAMELLA_RISE * (height - edge)
    s = np.clip(rho / radius, 0, 1)
    lamella = edge + (middle - edge) * (1 - s**2)
    u, v = nucleus.frame(y + outline.center_yx_nm[0], x + outline.center_yx_nm[1])
    # the dome covers the nucleus, grown by the cytoplasm margin on every side
    headroom = _DOME_GROWTH * (margin + BUMP_EXTREME * params.nucleus_irregularity_nm + LOBE_BLEND_NM / 4)
    grown = [Lobe(lobe.u, lobe.semi_u + headroom, lobe.semi_v + headroom, lobe.semi_z + headroom) for lobe in (nucleus.small, nucleus.large)]
    lobe_top = np.fmax(grown[0].top(u, v), grown[1].top(u, v))
    dome = np.nan_to_num(lobe_top + (z_substrate - nucleus.center_nm[0]), nan=-1e9)
    blended = -smooth_min(-lamella, -dome, _DOME_BLEND_NM)
    top = np.maximum(ndi.gaussian_filter(blended, _DOME_BLEND_NM / 2 / np.asarray(grid.spacing[1:])), dome)
    dy, dx = np.gradient(top, grid.spacing[1], grid.spacing[2])
    rounding = _EDGE_ROUNDING * edge
    microvilli = _microvilli(params, grid, lateral, top, dy, dx, z_substrate, rounding, rng)
    cell = Cell(
        outline=outline,
        z_substrate_nm=float(z_substrate),
        height_nm=float(height),
        margin_nm=float(margin),
        top_nm=top.astype(np.float32),
        top_slope_factor=(1 / np.sqrt(1 + dy**2 + dx**2)).astype(np.float32),
        lateral_sdf=lateral.astype(np.float32),
        rounding_nm=rounding,
        nucleus=nucleus,
        microvilli=microvilli,
    )
    ys, xs = np.nonzero(lateral < 0)
    top_z = min(z_substrate - top.max(), microvilli.tips[:, 0].min(initial=np.inf) - microvilli.radius_nm)
    low = np.array([top_z, ys.min() * grid.spacing[1], xs.min() * grid.spacing[2]]) - _RESIN_MARGIN_NM / 2
    high = np.array([z_substrate, ys.max() * grid.spacing[1], xs.max() * grid.spacing[2]]) + _RESIN_MARGIN_NM / 2
    return cell, grid.box_around(low, high)


def _microvilli(params, grid: Grid, lateral, top, dy, dx, z_substrate, rounding, rng) -> Microvilli:
    """Microvilli uniform by area on the upper surface (away from the rounded edge),
    along the surface normal with a random tilt, of log-normal length; shortened to stay
    inside the field of view with resin above them."""
    radius = params.microvillus_diameter_nm / 2
    area_element = np.sqrt(1 + dy**2 + dx**2) * grid.spacing[1] * grid.spacing[2]
    area_element[lateral > -(rounding + 2 * radius)] = 0
    count = round(params.microvilli_density_per_um2 * area_element.sum() * 1e-6)
    if count == 0:
        return Microvilli(np.zeros((0, 3)), np.zeros((0, 3)), radius)
    flat = rng.choice(area_element.size, size=count, p=(area_element / area_element.sum()).reshape(-1))
    row, column = np.unravel_index(flat, area_element.shape)
    y = (row + rng.uniform(-0.5, 0.5, count)) * grid.spacing[1]
    x = (column + rng.uniform(-0.5, 0.5, count)) * grid.spacing[2]
    bases = np.stack([z_substrate - top[row, column] + radius, y, x], axis=1)
    normals = np.stack([-np.ones(count), -dy[row, column], -dx[row, column]], axis=1)
    directions = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    directions += _MICROVILLUS_TILT * rng.uniform(-1, 1, (count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    lengths = params.microvillus_length_um * 1000 * rng.lognormal(0, _MICROVILLUS_LENGTH_SPREAD, count)
    ceiling = _RESIN_MARGIN_NM + radius
    room = (bases[:, 0] - ceiling) / np.maximum(-directions[:, 0], 1e-3)
    lengths = np.minimum(lengths, room)
    kept = lengths > 2 * radius  # those with no room above them are dropped
    return Microvilli(bases[kept], bases[kept] + lengths[kept, None] * directions[kept], radius)
