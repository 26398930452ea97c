"""Chromatin, nucleoli, endoplasmic reticulum and vesicles (drawn, not labelled).

- Nucleoplasm: mottled euchromatin with dark heterochromatin clumps away from the
  envelope (the envelope band draws the lining), and dense, granular, lobed nucleoli.
- ER: thin membrane cisternae and tubules with a light lumen, in patches covering a set
  fraction of the cytoplasm. Cisternae are evenly spaced level sets of a smooth random
  field; tubules are the crossings of the level sets of two finer fields, a polygonal
  network. With ``er_orientation='isotropic'`` (the default) the fields are isotropic, so
  sheets and tubules run in all directions and any section cuts many thin
  double-membrane profiles; with 'flat' (preset 'simple') they are stretched laterally, so
  that most sheets lie parallel to the substrate, in loose stacks.
- Vesicles: spheres 25-500 nm across (log-uniform) with a membrane rim and a lumen of
  random density, placed in free cytoplasm away from mitochondria.

Objects drawn over what is already there are composited with their blurred coverage α:
``stain = stain · (1 - α) + own stain``.
"""

from __future__ import annotations

import edt
import numpy as np
from scipy.stats import norm

from vemprof.synth import _stain as stain_of
from vemprof.synth._fields import LevelSets, SmoothField
from vemprof.synth._grid import Box, Grid
from vemprof.synth._nucleus import Lobe
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._profiles import gaussian_cdf, layered, sigma_along
from vemprof.synth._space import Cytoplasm
from vemprof.synth._textures import Textures

#: Fraction of the nucleoplasm in heterochromatin clumps.
_CLUMP_COVERAGE = 0.1
#: Clumps grow from nothing to full density over this range of their field.
_CLUMP_RAMP = 0.8
#: Clumps keep this far from the envelope band (nm), fading in over the same distance.
_CLUMP_CLEARANCE_NM = 200.0
#: Least nucleoplasm between a nucleolus and the envelope, nm.
_NUCLEOLUS_CLEARANCE_NM = 300.0
#: Largest width over height of a nucleolus flattened to fit a thin nucleus.
_NUCLEOLUS_FLATTEST = 2.0
#: Least distance between nucleoli centres, in radii.
_NUCLEOLUS_SEPARATION = 2.1
#: Candidate places tried per nucleolus.
_NUCLEOLUS_ATTEMPTS = 200
#: Share of the deepest room in the nucleus that a shrunk nucleolus may take.
_NUCLEOLUS_FIT = 0.8
#: Spread of a nucleolus' semi-axes around the mean radius, relative.
_NUCLEOLUS_AXIS_SPREAD = 0.2
#: Depth of the lobes on a nucleolus' surface, relative to its radius, per standard
#: deviation of their field, which is clipped at ±_LOBE_LIMIT.
_NUCLEOLUS_LOBES = 0.15
_LOBE_LIMIT = 2.0
#: Correlation lengths (Z, Y, X) of the ER sheet and tubule fields and of the patches
#: holding ER, nm; spacing of the sheets and of the tubule network's levels, nm.
_ER_SHEET_CORRELATION_NM = (300.0, 800.0, 800.0)
_ER_TUBULE_CORRELATION_NM = (300.0, 500.0, 500.0)
#: The same for ``er_orientation='isotropic'``: sheets and tubules in all directions.
_ER_ISOTROPIC_SHEET_CORRELATION_NM = (450.0, 450.0, 450.0)
_ER_ISOTROPIC_TUBULE_CORRELATION_NM = (350.0, 350.0, 350.0)
_ER_PATCH_CORRELATION_NM = 1000.0
_ER_SHEET_SPACING_NM = 250.0
_ER_TUBULE_SPACING_NM = 450.0
#: Coarse grid cells per correlation length of the ER fields: their level sets are drawn
#: as membranes, so they must be resolved.
_ER_GRID = 5.0
#: ER patches fade in over this range of their field.
_ER_PATCH_RAMP = 0.3
#: ER membrane thickness and the least distance of ER from other membranes, nm.
_ER_MEMBRANE_NM = 6.0
_ER_CLEARANCE_NM = 60.0
#: Vesicle membrane thickness and least gap to other objects, nm.
_VESICLE_MEMBRANE_NM = 6.0
_VESICLE_GAP_NM = 20.0
_VESICLE_ATTEMPTS = 30


def _isotropic_sigma(axis_variance: np.ndarray) -> np.float32:
    return np.float32(np.sqrt(axis_variance.mean()))


def draw_nucleoplasm(
    stain: np.ndarray,
    phi: np.ndarray,
    box: Box,
    grid: Grid,
    params: PhantomParameters,
    textures: Textures,
    axis_variance: np.ndarray,
    rng: np.random.Generator,
    *,
    band_depth_nm: float,
    threads: int,
) -> int:
    """Fill the nucleus (``phi`` < 0 over ``box``) with euchromatin, clumps and nucleoli.

    Depths inside the nucleus come from an exact distance transform of its mask (the
    analytic ``phi`` is accurate only near the surface).

    Returns the number of nucleoli placed.
    """
    interior = textures.nucleoplasm_on_grid(box, grid)
    clumps = textures.clumps.on_grid(box, grid.spacing)
    clumps -= np.float32(norm.ppf(1 - _CLUMP_COVERAGE))
    clumps /= np.float32(_CLUMP_RAMP)
    np.clip(clumps, 0, 1, out=clumps)
    inside = phi < 0
    depth = edt.edt(inside, anisotropy=grid.spacing, black_border=True, parallel=threads)
    clumps *= np.clip((depth - band_depth_nm) / _CLUMP_CLEARANCE_NM - 1, 0, 1)
    interior += (stain_of.HETEROCHROMATIN - interior) * clumps
    del clumps
    placed = _draw_nucleoli(interior, depth, box, grid, params, textures, axis_variance, rng)
    view = stain[box]
    np.copyto(view, interior, where=inside)
    return placed


def _draw_nucleoli(interior, depth, box, grid, params, textures, axis_variance, rng) -> int:
    """Nucleoli at random places in the nucleus, clear of the envelope and of each other;
    flattened (and, if need be, smaller) where the nucleus is too thin to hold them.
    Returns how many were placed."""
    if params.n_nucleoli == 0:
        return 0
    reach_per_radius = 1 + _NUCLEOLUS_AXIS_SPREAD + _LOBE_LIMIT * _NUCLEOLUS_LOBES
    room = float(depth.max()) - _NUCLEOLUS_CLEARANCE_NM
    radius = min(params.nucleolus_diameter_um * 500, _NUCLEOLUS_FIT * room / reach_per_radius * _NUCLEOLUS_FLATTEST)
    height = min(radius, _NUCLEOLUS_FIT * room / reach_per_radius)
    if height < 2 * max(grid.spacing):
        return 0
    start = np.array([b.start for b in box])
    spacing = np.asarray(grid.spacing)
    lateral_reach = radius * (1 + _NUCLEOLUS_AXIS_SPREAD) + _NUCLEOLUS_CLEARANCE_NM / 2
    candidates = np.argwhere(depth > height * reach_per_radius + _NUCLEOLUS_CLEARANCE_NM)
    sigma = _isotropic_sigma(axis_variance)
    centers: list[np.ndarray] = []
    for candidate in rng.permutation(candidates)[: _NUCLEOLUS_ATTEMPTS * params.n_nucleoli]:
        if len(centers) == params.n_nucleoli:
            break
        center = (candidate + start) * spacing
        sides = center + np.array([[0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]) * lateral_reach
        side_index = tuple(np.clip(np.rint(sides / spacing).astype(int) - start, 0, np.array(depth.shape) - 1).T)
        if (depth[side_index] <= 0).any() or any(np.linalg.norm(center - c) < _NUCLEOLUS_SEPARATION * radius for c in centers):
            continue
        centers.append(center)
        axes = np.array([height, radius, radius]) * (1 + _NUCLEOLUS_AXIS_SPREAD * rng.uniform(-1, 1, 3))
        reach = axes.max() + _LOBE_LIMIT * _NUCLEOLUS_LOBES * height + 4 * sigma
        local = tuple(
            slice(max(s.start, b.start), min(s.stop, b.stop)) for s, b in zip(grid.box_around(center - reach, center + reach), box)
        )
        relative = tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(local, box))
        z, y, x = grid.coordinates(local)
        lobe = Lobe(0.0, axes[2], axes[1], axes[0])
        distance = lobe.sdf(x - np.float32(center[2]), y - np.float32(center[1]), z - np.float32(center[0]))
        lobes = np.clip(textures.clumps.on_grid(local, grid.spacing), -_LOBE_LIMIT, _LOBE_LIMIT)
        distance += np.float32(_NUCLEOLUS_LOBES * height) * lobes
        coverage = gaussian_cdf(-distance / sigma)
        grain = textures.cytosol.on_grid(local, grid.spacing)
        density = stain_of.NUCLEOLUS * (1 + stain_of.NUCLEOLUS_TEXTURE * grain)
        target = interior[relative]
        target += coverage * (density - target)
    return len(centers)


def draw_er(
    stain: np.ndarray,
    space: Cytoplasm,
    grid: Grid,
    params: PhantomParameters,
    axis_variance: np.ndarray,
    rng: np.random.Generator,
) -> float:
    """Draw ER sheets and tubules into the cytoplasm; returns the fraction of the cytoplasm
    inside ER patches."""
    if params.er_coverage <= 0:
        return 0.0
    low = space.start_nm
    high = low + np.asarray(space.to_nucleus.shape) * np.asarray(grid.spacing)
    lumen = params.er_lumen_nm / 2
    outer = lumen + _ER_MEMBRANE_NM
    sigma = _isotropic_sigma(axis_variance)
    reach = outer + 4 * float(sigma)
    if params.er_orientation == "flat":
        sheet_correlation, tubule_correlation = _ER_SHEET_CORRELATION_NM, _ER_TUBULE_CORRELATION_NM
    else:
        sheet_correlation, tubule_correlation = _ER_ISOTROPIC_SHEET_CORRELATION_NM, _ER_ISOTROPIC_TUBULE_CORRELATION_NM
    sheets = LevelSets(
        SmoothField(low, high, sheet_correlation, rng, cells_per_correlation=_ER_GRID), _ER_SHEET_SPACING_NM
    )
    tubules = [
        LevelSets(
            SmoothField(low, high, tubule_correlation, rng, cells_per_correlation=_ER_GRID),
            _ER_TUBULE_SPACING_NM,
        )
        for _ in range(2)
    ]
    patches = SmoothField(low, high, _ER_PATCH_CORRELATION_NM, rng)
    tubule_threshold = norm.ppf(1 - params.er_coverage)
    sheet_threshold = norm.ppf(1 - params.er_coverage / 2)
    patch = patches.on_grid(space.box, grid.spacing)
    clearance = np.minimum(space.to_plasma_membrane, space.to_nucleus)
    index = np.nonzero((patch > tubule_threshold) & (clearance > _ER_CLEARANCE_NM))
    covered = len(index[0]) / max(space.voxel_count, 1)
    points = space.start_nm + np.stack(index, axis=1) * np.asarray(grid.spacing)
    level = patch[index]
    del patch, clearance
    weight = np.clip((level - tubule_threshold) / _ER_PATCH_RAMP, 0, 1)
    sheet_share = np.clip((level - sheet_threshold) / _ER_PATCH_RAMP + 0.5, 0, 1)
    coverage = np.zeros(len(level), dtype=np.float32)
    own = np.zeros(len(level), dtype=np.float32)
    for share, distance in (
        (sheet_share, sheets.distance_at(points)),
        (1 - sheet_share, np.hypot(tubules[0].distance_at(points), tubules[1].distance_at(points))),
    ):
        near = (distance < reach) & (share > 0)
        part = (weight * share)[near]
        coverage[near] += part * gaussian_cdf((outer - distance[near]) / sigma)
        own[near] += part * layered(distance[near], [outer, lumen], [0.0, stain_of.MEMBRANE, stain_of.ER_LUMEN], sigma)
    drawn = coverage > 0
    index = tuple(i[drawn] for i in index)
    coverage, own = np.clip(coverage[drawn], 0, 1), own[drawn]
    view = stain[space.box]
    view[index] = view[index] * (1 - coverage) + own
    return covered


def draw_vesicles(
    stain: np.ndarray,
    mitochondria: np.ndarray,
    space: Cytoplasm,
    grid: Grid,
    params: PhantomParameters,
    axis_variance: np.ndarray,
    rng: np.random.Generator,
    *,
    occupied: np.ndarray | None = None,
) -> int:
    """Draw vesicles into free cytoplasm (not on mitochondria, labels ``mitochondria``,
    nor on other labelled compartments, ``occupied``); returns how many were placed."""
    wanted = round(params.vesicle_density_per_um3 * space.volume_um3)
    low, high = np.log(params.vesicle_diameter_min_nm), np.log(params.vesicle_diameter_max_nm)
    radii = np.sort(np.exp(rng.uniform(low, high, wanted)) / 2)[::-1]
    placed: list[tuple[np.ndarray, float]] = []
    for radius in radii:
        pool = space.random_points(_VESICLE_ATTEMPTS, radius + _VESICLE_GAP_NM, rng)
        for center in pool:
            if any(np.linalg.norm(center - c) < radius + r + _VESICLE_GAP_NM for c, r in placed):
                continue
            local = grid.box_around(center - radius - _VESICLE_GAP_NM, center + radius + _VESICLE_GAP_NM)
            if mitochondria[local].any() or (occupied is not None and occupied[local].any()):
                continue
            _draw_sphere(stain, center, radius, grid, axis_variance, rng)
            placed.append((center, radius))
            break
    return len(placed)


def _draw_sphere(stain, center, radius, grid: Grid, axis_variance, rng) -> None:
    reach = radius + 4 * float(np.sqrt(axis_variance.max()))
    local = grid.box_around(center - reach, center + reach)
    z, y, x = grid.coordinates(local)
    offset = np.broadcast_arrays(z - np.float32(center[0]), y - np.float32(center[1]), x - np.float32(center[2]))
    offset = np.stack(offset, axis=-1)
    length = np.sqrt((offset**2).sum(axis=-1))
    normals = offset / np.maximum(length, 1e-3)[..., None]
    sigma = sigma_along(normals, axis_variance)
    distance = length - np.float32(radius)
    lumen = rng.uniform(*stain_of.VESICLE_LUMEN_RANGE)
    coverage = gaussian_cdf(-distance / sigma)
    own = layered(distance, [0.0, -_VESICLE_MEMBRANE_NM], [0.0, stain_of.MEMBRANE, lumen], sigma)
    view = stain[local]
    view *= 1 - coverage
    view += own
