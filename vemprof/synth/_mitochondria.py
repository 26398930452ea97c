"""Mitochondria: curved, sometimes branched tubes with a double membrane and cristae.

How many and how big
    The volume fraction of the cytoplasm fixes the total volume. With ``n_mitochondria``
    unset, the count is that volume over the volume of a typical mitochondrion (radius
    ``mitochondria_radius_nm``, median aspect ratio); the radius scale is then solved
    from the volume per mitochondrion. Planned volumes spread log-normally
    and are placed largest first; after each placement the remaining plan is rescaled to
    the volume still missing, so the achieved fraction lands on the request.

Radius and distance
    A mitochondrion's radius is ``r0 · (1 + gradient · d) · noise``, with d (µm) the
    distance from its middle to the nearer membrane (plasma membrane or nuclear envelope)
    and noise log-normal. With a positive gradient, mitochondria deep in the cytoplasm are
    thicker and their surface-to-volume ratio (about 2/r for a tube) lower: S/V falls with
    distance. Tubes grow along the membranes (their heading loses most of its component
    along the distance gradient at each step), so a whole tube keeps about the distance
    of its middle.

Shape
    The centreline is a persistent random walk (steps of half a radius) that stays at
    least radius + gap from the membranes and from other mitochondria; a branched one
    gets a side branch. `_tubes` turns the centrelines into a shape and draws it.

Contacts
    A share ``mitochondria_contact_fraction`` of them starts against one already placed:
    beside a random point of its centreline, the two surfaces half a voxel apart, heading
    along it. Such a one keeps only that half voxel from other mitochondria (still the gap
    from the membranes), so it runs alongside its neighbour and their labels touch; where
    no neighbour has room beside it, it is placed anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from skimage.measure import marching_cubes, mesh_surface_area

from vemprof.errors import VemprofError
from vemprof.synth._grid import Box, Grid
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._space import Cytoplasm
from vemprof.synth._tubes import draw_mitochondrion, rasterise_tubes

#: Persistence length of the centreline (how far it runs before turning), nm.
_PERSISTENCE_NM = 1500.0
#: Fraction of the heading's component along the distance gradient removed at each step.
_STEERING = 0.7
#: Log-normal sigma of the planned volumes.
_VOLUME_SPREAD = 0.5
#: Share of a branched mitochondrion's centreline in its side branch, and its radius.
_BRANCH_SHARE = 0.3
_BRANCH_RADIUS = 0.85
#: Smallest radius, in voxels (of the coarsest axis), that still draws a tube.
_MIN_RADIUS_VOXELS = 1.5
#: Samples of the cytoplasm used to plan radii, and attempts per mitochondrion.
_PLAN_SAMPLES = 4000
_ATTEMPTS = 80
_TURN_TRIES = 8
#: Share of places in the cytoplasm where a planned mitochondrion must fit.
_LEAST_FITTING_SHARE = 0.02
#: Largest relative miss of the requested volume fraction before giving up.
_FRACTION_TOLERANCE = 0.15
#: Fewest voxels of an accepted mitochondrion.
_MIN_VOXELS = 8
#: Gap between the surfaces of two mitochondria in contact, in voxels (of the finest
#: axis): touching labels, no shared voxel.
_CONTACT_GAP_VOXELS = 0.5


def _plan(space: Cytoplasm, grid: Grid, params: PhantomParameters, rng) -> tuple[int, float]:
    """The count and the radius scale r0 (nm) that give the requested volume fraction.

    Raises `VemprofError` if the request needs mitochondria thinner than the voxels can
    draw or thicker than the cytoplasm can hold.
    """
    target = params.mitochondria_volume_fraction * space.volume_um3 * 1e9
    gap = params.mitochondria_gap_nm
    smallest = _MIN_RADIUS_VOXELS * max(grid.spacing)
    clearance = space.clearance_at(space.random_points(_PLAN_SAMPLES, gap + smallest, rng))
    if len(clearance) == 0:
        raise VemprofError(
            "the cytoplasm is too thin for any mitochondrion; use a finer voxel size or a thicker cell "
            "(cell_height_um, cell_edge_thickness_um)"
        )
    trend = 1 + params.mitochondria_radius_gradient_per_um * np.median(clearance) / 1000
    aspect = params.mitochondria_aspect_ratio
    shape_factor = np.pi * (2 * aspect - 2 / 3)  # capsule volume / r³ at that aspect ratio
    if params.n_mitochondria is None:
        typical = params.mitochondria_radius_nm * trend
        count = max(1, round(target / (shape_factor * typical**3)))
    else:
        count = params.n_mitochondria
    # solved from the count in both cases, so that the resolved count reproduces it
    scale = (target / count / shape_factor) ** (1 / 3) / trend
    if scale * trend < smallest:
        raise VemprofError(
            f"{count} mitochondria holding {params.mitochondria_volume_fraction:g} of the cytoplasm would be "
            f"{scale * trend:.0f} nm in radius, under {_MIN_RADIUS_VOXELS:g} voxels ({smallest:.0f} nm); lower "
            "n_mitochondria, raise mitochondria_volume_fraction, or use a finer voxel size"
        )
    fits = scale * (1 + params.mitochondria_radius_gradient_per_um * clearance / 1000) + gap <= clearance
    if fits.mean() < _LEAST_FITTING_SHARE:
        fix = "lower mitochondria_radius_nm" if params.n_mitochondria is None else "raise n_mitochondria"
        raise VemprofError(
            f"mitochondria of radius ~{scale * trend:.0f} nm do not fit the cytoplasm (at most "
            f"{clearance.max():.0f} nm from a membrane); {fix} or lower mitochondria_volume_fraction"
        )
    return count, float(scale)


def place_mitochondria(
    stain: np.ndarray,
    labels: np.ndarray,
    space: Cytoplasm,
    grid: Grid,
    params: PhantomParameters,
    axis_variance: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, float]:
    """Place, label and draw the mitochondria.

    Parameters
    ----------
    stain : ndarray (Z, Y, X) float32
        Stain volume; each mitochondrion is composited over it.
    labels : ndarray (Z, Y, X) uint32
        Receives instance labels 1..N.
    space : Cytoplasm
    grid : Grid
    params : PhantomParameters
    axis_variance : ndarray (3,)
        Blur variance per axis, nm².
    rng : numpy.random.Generator

    Returns
    -------
    table : pandas.DataFrame
        One row per mitochondrion, measured on its label (see `_measure`).
    radius_scale_nm : float
        The r0 used.

    Raises
    ------
    VemprofError
        If the request is impossible or some mitochondria cannot be placed.
    """
    count, scale = _plan(space, grid, params, rng)
    target = params.mitochondria_volume_fraction * space.volume_um3 * 1e9
    weights = rng.lognormal(0, _VOLUME_SPREAD, count)
    planned = np.sort(weights / weights.sum() * target)[::-1]
    gap = params.mitochondria_gap_nm
    smallest = _MIN_RADIUS_VOXELS * max(grid.spacing)
    margin = 4 * float(np.sqrt(axis_variance.max())) + max(grid.spacing)
    # the looks (matrix stain, cristae) come from a stream of their own: placement and
    # labels do not depend on them (spawning draws nothing from ``rng``)
    looks = rng.spawn(1)[0]
    # contacts too (a second child stream); with no contacts it is never drawn from
    contacts = rng.spawn(1)[0]
    contact_gap = _CONTACT_GAP_VOXELS * min(grid.spacing)
    placed_volume = 0.0
    rows: list[dict] = []
    lines: list[tuple[np.ndarray, float]] = []  # main centreline (nm) and radius of each placed one
    for index in range(count):
        remaining = planned[index:].sum()
        volume = planned[index] * max(target - placed_volume, 0) / remaining if remaining > 0 else 0.0
        touching = bool(lines) and params.mitochondria_contact_fraction > 0 and (
            contacts.random() < params.mitochondria_contact_fraction)
        # one against a neighbour tries that first, then anywhere
        for attempt in range(2 * _ATTEMPTS if touching else _ATTEMPTS):
            if touching and attempt < _ATTEMPTS:
                seed, heading, radius = _beside(lines, scale, smallest, contact_gap, space, params, contacts)
                apart = contact_gap
                if space.clearance_at(seed)[0] < radius + gap or not _free_ball(seed, radius + apart, labels, grid):
                    continue
            else:
                seed = space.random_points(1, gap + smallest, rng)
                if len(seed) == 0:
                    break
                seed, heading, apart = seed[0], None, None
                clearance = float(space.clearance_at(seed)[0])
                radius = scale * (1 + params.mitochondria_radius_gradient_per_um * clearance / 1000)
                radius *= float(np.exp(params.mitochondria_radius_noise * rng.standard_normal()))
                radius = max(radius, smallest)
                if radius + gap > clearance or not _free(seed, radius + gap, labels, grid):
                    continue
            branches, radii = _centrelines(seed, radius, volume, space, labels, grid, params, rng,
                                           heading=heading, apart=apart)
            shape = rasterise_tubes(branches, radii, grid, margin)
            inside = shape.phi < 0
            voxels = int(np.count_nonzero(inside))
            if voxels < _MIN_VOXELS or labels[shape.box][inside].any() or not _in_cytoplasm(inside, shape.box, grid, space):
                continue
            label = len(rows) + 1
            labels[shape.box][inside] = label
            draw_mitochondrion(stain, shape, params, axis_variance, rng, looks)
            placed_volume += voxels * grid.voxel_volume_um3 * 1e9
            rows.append(_measure(label, inside, shape.box, grid, space, branches, radii))
            lines.append((branches[0], radii[0]))
            break
        if len(rows) <= index:
            _cannot_place(index, count, params)
    achieved = placed_volume / target
    if abs(achieved - 1) > _FRACTION_TOLERANCE:
        raise VemprofError(
            f"{count} mitochondria reach a volume fraction of {achieved * params.mitochondria_volume_fraction:.3g}, "
            f"not the requested {params.mitochondria_volume_fraction:g} (they cannot grow long enough in this "
            "cytoplasm); raise n_mitochondria or lower mitochondria_volume_fraction"
        )
    return pd.DataFrame(rows, columns=list(_COLUMNS)), scale


def _cannot_place(index: int, count: int, params: PhantomParameters) -> None:
    raise VemprofError(
        f"could place only {index} of {count} mitochondria (volume fraction "
        f"{params.mitochondria_volume_fraction:g}) in the cytoplasm; lower mitochondria_volume_fraction or "
        "mitochondria_gap_nm, or change n_mitochondria"
    )


def _in_cytoplasm(inside: np.ndarray, box: Box, grid: Grid, space: Cytoplasm) -> bool:
    """Every voxel of the shape lies in the cytoplasm (a check on the clearance test)."""
    points = (np.argwhere(inside) + [b.start for b in box]) * np.asarray(grid.spacing)
    return bool((space.clearance_at(points) > 0).all())


def _free(point: np.ndarray, reach: float, labels: np.ndarray, grid: Grid) -> bool:
    """No labelled voxel within the box of half-size ``reach`` nm around ``point``."""
    return not labels[grid.box_around(point - reach, point + reach)].any()


def _free_ball(point: np.ndarray, reach: float, labels: np.ndarray, grid: Grid) -> bool:
    """No labelled voxel centre closer than ``reach`` nm to ``point``."""
    local = grid.box_around(point - reach, point + reach)
    taken = np.argwhere(labels[local])
    if len(taken) == 0:
        return True
    centres = (taken + [b.start for b in local]) * np.asarray(grid.spacing)
    return bool((((centres - point) ** 2).sum(axis=1) >= reach**2).all())


def _beside(lines, scale, smallest, contact_gap, space: Cytoplasm, params: PhantomParameters, rng):
    """A seed, heading and radius for a mitochondrion against a placed one: beside a
    random point of its centreline, ``contact_gap`` nm between the two surfaces, heading
    along it."""
    points, neighbour_radius = lines[rng.integers(len(lines))]
    at = rng.integers(len(points))
    along = points[min(at + 1, len(points) - 1)] - points[max(at - 1, 0)]
    if not np.any(along):
        along = rng.standard_normal(3)
    noise = float(np.exp(params.mitochondria_radius_noise * rng.standard_normal()))
    side = _tangent(rng.standard_normal(3), along)
    seed = points[at]
    for _ in range(2):  # the radius follows the distance of its own middle, which follows the radius
        clearance = float(space.clearance_at(seed)[0])
        radius = max(scale * (1 + params.mitochondria_radius_gradient_per_um * clearance / 1000) * noise, smallest)
        seed = points[at] + side * (neighbour_radius + radius + contact_gap)
    heading = along / np.linalg.norm(along) * rng.choice((-1.0, 1.0))
    return seed, heading, radius


def _centrelines(seed, radius, volume, space, labels, grid, params, rng, *, heading=None, apart=None):
    """Main centreline through ``seed`` (along ``heading``, else a random direction along
    the membranes) and, for a branched one, a side branch; lengths from the planned
    ``volume``; ``apart`` as for `_grow`."""
    length = max(volume - 4 / 3 * np.pi * radius**3, 0.0) / (np.pi * radius**2)
    branched = rng.random() < params.mitochondria_branch_fraction and length > 6 * radius
    main_length = length * (1 - _BRANCH_SHARE) if branched else length
    if heading is None:
        heading = _tangent(rng.standard_normal(3), space.clearance_gradient_at(seed))
    forward = _grow(seed, heading, main_length / 2, radius, space, labels, grid, params, rng, apart=apart)
    backward = _grow(seed, -heading, main_length / 2, radius, space, labels, grid, params, rng, apart=apart)
    main = np.concatenate([backward[::-1], forward[1:]])
    if not branched or len(main) < 5:
        return (main,), (radius,)
    fork = main[rng.integers(len(main) // 5, len(main) - len(main) // 5)]
    branch_radius = _BRANCH_RADIUS * radius
    side = _tangent(rng.standard_normal(3), space.clearance_gradient_at(fork))
    branch = _grow(fork, side, length * _BRANCH_SHARE, branch_radius, space, labels, grid, params, rng, apart=apart)
    if len(branch) < 2:
        return (main,), (radius,)
    return (main, branch), (radius, branch_radius)


def _tangent(direction: np.ndarray, gradient: np.ndarray, keep: float = 0.0) -> np.ndarray:
    """``direction`` with its component along ``gradient`` scaled by ``keep``, normalised."""
    norm = np.linalg.norm(gradient)
    if norm > 0:
        unit = gradient / norm
        direction = direction - (1 - keep) * np.dot(direction, unit) * unit
    return direction / max(np.linalg.norm(direction), 1e-12)


def _grow(start, heading, length, radius, space: Cytoplasm, labels, grid, params, rng, *, apart) -> np.ndarray:
    """Persistent random walk of ``length`` nm from ``start`` that keeps radius + gap from
    the membranes and from other mitochondria (a box test; ``apart`` None) or, for one in
    contact, radius + ``apart`` nm from them (a ball test); stops early where it cannot
    go on."""
    reach = radius + params.mitochondria_gap_nm
    if apart is None:
        neighbours, free = reach, _free
    else:
        neighbours, free = radius + apart, _free_ball
    step_nm = max(radius / 2, min(grid.spacing) / 2)
    points = [np.asarray(start, dtype=float)]
    travelled = 0.0
    while travelled < length:
        step = min(step_nm, length - travelled)
        for attempt in range(_TURN_TRIES):
            wobble = np.sqrt(step / _PERSISTENCE_NM) * (1 + attempt)
            trial = heading + wobble * rng.standard_normal(3)
            trial = _tangent(trial, space.clearance_gradient_at(points[-1]), keep=1 - _STEERING)
            candidate = points[-1] + step * trial
            if space.clearance_at(candidate)[0] >= reach and free(candidate, neighbours, labels, grid):
                break
        else:
            break
        points.append(candidate)
        heading = trial
        travelled += step
    return np.asarray(points)


_COLUMNS = (
    "label",
    "z_um",
    "y_um",
    "x_um",
    "volume_um3",
    "surface_um2",
    "sv_ratio_per_um",
    "design_radius_nm",
    "centreline_length_um",
    "branched",
    "dist_plasma_membrane_um",
    "dist_nuclear_envelope_um",
    "dist_nearer_membrane_um",
)


def _measure(label, inside, box, grid: Grid, space: Cytoplasm, branches, radii) -> dict:
    """Volume, surface (marching cubes on the label), S/V, centroid and distances."""
    spacing = np.asarray(grid.spacing)
    padded = np.pad(inside, 1).astype(np.float32)
    verts, faces, _, _ = marching_cubes(padded, level=0.5, spacing=tuple(spacing))
    surface = mesh_surface_area(verts, faces) * 1e-6
    volume = np.count_nonzero(inside) * grid.voxel_volume_um3
    centroid = (np.argwhere(inside).mean(axis=0) + [b.start for b in box]) * spacing
    to_membrane, to_nucleus = (d[0] / 1000 for d in space.distances_at(centroid[None]))
    length = sum(float(np.linalg.norm(np.diff(b, axis=0), axis=1).sum()) for b in branches)
    return {
        "label": np.uint32(label),
        "z_um": centroid[0] / 1000,
        "y_um": centroid[1] / 1000,
        "x_um": centroid[2] / 1000,
        "volume_um3": volume,
        "surface_um2": surface,
        "sv_ratio_per_um": surface / volume,
        "design_radius_nm": radii[0],
        "centreline_length_um": length / 1000,
        "branched": len(branches) > 1,
        "dist_plasma_membrane_um": to_membrane,
        "dist_nuclear_envelope_um": to_nucleus,
        "dist_nearer_membrane_um": min(to_membrane, to_nucleus),
    }


def sv_distance_correlation(table: pd.DataFrame) -> dict:
    """Pearson and Spearman correlation of S/V with the distance to the nearer membrane."""
    n = len(table)
    if n < 3:
        return {"n": n, "pearson_r": None, "pearson_p": None, "spearman_r": None, "spearman_p": None}
    sv, distance = table["sv_ratio_per_um"], table["dist_nearer_membrane_um"]
    pearson = stats.pearsonr(distance, sv)
    spearman = stats.spearmanr(distance, sv)
    return {
        "n": n,
        "pearson_r": float(pearson.statistic),
        "pearson_p": float(pearson.pvalue),
        "spearman_r": float(spearman.statistic),
        "spearman_p": float(spearman.pvalue),
    }
