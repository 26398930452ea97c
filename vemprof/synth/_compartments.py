"""The crowded cytoplasm: dense and membrane-bound compartments, Golgi stacks, ribosome
speckle and cytoskeletal filaments.

- Lysosomes: round, dense, heterogeneous content (a coarse mottle with lighter
  inclusions) inside a membrane; as dark as mitochondrial matrix or darker.
- Multivesicular bodies: a membrane around a grey lumen holding small internal vesicles.
- Lipid droplets: round and homogeneous, osmium-dark, no bilayer (a monolayer: a sharp
  edge without a rim).
- Endosomes: membrane-bound, slightly flattened, lumen from light to as dark as
  mitochondria, a few with internal vesicles.
- Golgi stacks: 3-6 stacked, curved cisternae (two membranes around a thin lumen, ends
  tapered), the stack's cisternae shorter towards one face, small vesicles at the rims.
  A stack that finds no room at ``golgi_stack_width_nm`` among many candidate places is
  shrunk to fit (down to `_GOLGI_SMALLEST` of it); the table's ``attrs['requested']``
  holds how many of each kind were requested.
- Ribosomes: dots 15-30 nm (``ribosome_diameter_nm``), single and in short polysome
  chains, deposited at their places and blurred by the point spread: granular cytosol.
- Filaments (microtubules, actin bundles): faint lines where the level sets of two smooth
  fields cross, so they run long and gently curved.

Compartments are placed in free cytoplasm, clear of the membranes, of mitochondria and of
each other, and labelled (instances in ``organelles``, one row per instance in the
``organelles`` table with its ``kind``); ribosomes and filaments are texture only.
Everything is composited over what is there with its blurred coverage, as in
`_organelles`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from vemprof.synth import _stain as stain_of
from vemprof.synth._fields import SmoothField
from vemprof.synth._grid import Grid
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._profiles import gaussian_cdf, layered, sigma_along
from vemprof.synth._space import Cytoplasm
from vemprof.synth._textures import Textures

#: Membrane of the compartments and least gap between them and other objects, nm.
_MEMBRANE_NM = 6.0
_GAP_NM = 30.0
_ATTEMPTS = 40
#: Spread of an ellipsoid's semi-axes around the radius, relative (endosomes: flatter).
_AXIS_SPREAD = 0.12
_ENDOSOME_AXIS_SPREAD = 0.3
#: Stain of the contents.
_LYSOSOME_RANGE = (0.6, 0.95)
_LYSOSOME_MOTTLE = 0.35
_LYSOSOME_INCLUSIONS = 0.25  # share of the content that is light inclusions
_MVB_LUMEN_RANGE = (0.25, 0.45)
_LIPID_RANGE = (0.45, 0.75)
_ENDOSOME_LIGHT_RANGE = (0.1, 0.45)
_ENDOSOME_DARK_RANGE = (0.55, 0.8)
#: Internal vesicles of multivesicular bodies (and some endosomes), nm; share of the
#: lumen's volume they fill.
_INTERNAL_VESICLE_NM = (40.0, 90.0)
_INTERNAL_FILL = 0.25
_ENDOSOME_WITH_VESICLES = 0.3
#: Golgi: cisterna lumen and spacing (centre to centre), nm; curvature radius over the
#: stack's half-width; rim vesicles per cisterna and their diameters, nm.
_GOLGI_LUMEN_NM = (15.0, 35.0)
_GOLGI_PITCH_NM = 60.0
_GOLGI_CURVATURE = (1.2, 3.0)
_GOLGI_RIM_VESICLES = 3
_GOLGI_VESICLE_NM = (40.0, 80.0)
#: Golgi placement: candidate places per stack; a stack may shrink (by this factor per
#: step) down to this share of ``golgi_stack_width_nm`` to fit.
_GOLGI_ATTEMPTS = 400
_GOLGI_SHRINK = 0.85
_GOLGI_SMALLEST = 0.45
#: Ribosome stain and polysome chains: share of ribosomes in chains, chain length, step.
_RIBOSOME_STAIN = 1.0
_POLYSOME_SHARE = 0.5
_POLYSOME_LENGTH = (3, 8)
_POLYSOME_STEP_NM = 30.0
#: Filaments: correlation lengths of the two fields (Z, Y, X) nm, diameter and stain added.
_FILAMENT_CORRELATION_NM = (600.0, 1500.0, 1500.0)
_FILAMENT_DIAMETER_NM = 25.0
_FILAMENT_STAIN = 0.35
_FILAMENT_SLAB = 32

KINDS = ("golgi", "lipid_droplet", "lysosome", "multivesicular_body", "endosome")


class _Occupancy:
    """Spheres placed so far, for the clearance checks."""

    def __init__(self) -> None:
        self.centers = np.zeros((0, 3))
        self.radii = np.zeros(0)

    def free(self, center: np.ndarray, radius: float) -> bool:
        if not len(self.radii):
            return True
        return bool((np.linalg.norm(self.centers - center, axis=1) >= self.radii + radius + _GAP_NM).all())

    def add(self, center: np.ndarray, radius: float) -> None:
        self.centers = np.vstack([self.centers, center])
        self.radii = np.append(self.radii, radius)


def _log_uniform(rng, low, high, count):
    return np.exp(rng.uniform(np.log(low), np.log(high), count))


def draw_compartments(
    stain: np.ndarray,
    organelles: np.ndarray,
    mitochondria: np.ndarray,
    space: Cytoplasm,
    grid: Grid,
    params: PhantomParameters,
    textures: Textures,
    axis_variance: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Place and draw Golgi stacks, lipid droplets, lysosomes, multivesicular bodies and
    endosomes into free cytoplasm; label them 1..N in ``organelles``. Returns the table
    (label, kind, centre z/y/x µm, diameter_nm: the mean diameter; each is kept inside
    `_EXTENT` times that)."""
    volume = space.volume_um3
    wanted: list[tuple[float, str]] = []
    for kind, density, (low, high) in (
        ("golgi", params.golgi_stack_density_per_um3, (params.golgi_stack_width_nm,) * 2),
        ("lipid_droplet", params.lipid_droplet_density_per_um3, params.lipid_droplet_diameter_nm),
        ("lysosome", params.lysosome_density_per_um3, params.lysosome_diameter_nm),
        ("multivesicular_body", params.multivesicular_body_density_per_um3, params.multivesicular_body_diameter_nm),
        ("endosome", params.endosome_density_per_um3, params.endosome_diameter_nm),
    ):
        count = int(rng.poisson(density * volume)) if density > 0 else 0
        wanted += [(d / 2, kind) for d in _log_uniform(rng, low, high, count)]
    # largest first (Golgi stacks, at their full size, before all but large lipid droplets)
    wanted.sort(key=lambda item: -item[0])
    occupancy = _Occupancy()
    rows = []
    for radius, kind in wanted:
        if kind == "golgi":
            placed = _place_golgi(radius, stain, organelles, mitochondria, space, grid, params, textures, axis_variance, rng, occupancy, len(rows) + 1)
            if placed is not None:
                center, width = placed
                rows.append((len(rows) + 1, kind, *(center / 1000), width))
            continue
        reserve = radius * _EXTENT[kind]
        for center in space.random_points(_ATTEMPTS, reserve + _GAP_NM, rng):
            if not occupancy.free(center, reserve):
                continue
            local = grid.box_around(center - reserve - _GAP_NM, center + reserve + _GAP_NM)
            if mitochondria[local].any() or organelles[local].any():
                continue
            label = len(rows) + 1
            _DRAW[kind](stain, organelles, label, center, radius, grid, params, textures, axis_variance, rng)
            occupancy.add(center, reserve)
            rows.append((label, kind, *(center / 1000), 2 * radius))
            break
    table = pd.DataFrame(rows, columns=["label", "kind", "z_um", "y_um", "x_um", "diameter_nm"])
    table.attrs["requested"] = {kind: sum(k == kind for _, k in wanted) for kind in KINDS}
    return table


def _place_golgi(radius, stain, organelles, mitochondria, space, grid, params, textures, axis_variance, rng, occupancy, label):
    """Place and draw one Golgi stack of half-width ``radius`` (nm), or smaller (down to
    `_GOLGI_SMALLEST` of it) where the cytoplasm is too thin or crowded for the full
    size; returns (centre, width) or None. Candidates with room for the full stack are
    preferred; otherwise the roomiest free candidate is taken."""
    margin = _GOLGI_VESICLE_NM[1]
    smallest = radius * _GOLGI_SMALLEST
    candidates = space.random_points(_GOLGI_ATTEMPTS, smallest + margin + _GAP_NM, rng)
    if not len(candidates):
        return None
    room = space.clearance_at(candidates) - margin - _GAP_NM
    best = None
    for center, fit in zip(candidates, np.minimum(room, radius)):
        size = float(fit)
        while size >= smallest:
            reserve = size + margin
            if occupancy.free(center, reserve):
                local = grid.box_around(center - reserve - _GAP_NM, center + reserve + _GAP_NM)
                if not (mitochondria[local].any() or organelles[local].any()):
                    break
            size *= _GOLGI_SHRINK
        if size < smallest:
            continue
        if best is None or size > best[1]:
            best = (center, size)
        if size >= radius:
            break
    if best is None:
        return None
    center, size = best
    _golgi(stain, organelles, label, center, size, grid, params, textures, axis_variance, rng)
    occupancy.add(center, size + margin)
    return center, 2 * size


def _local(center, reach, grid: Grid):
    local = grid.box_around(center - reach, center + reach)
    z, y, x = grid.coordinates(local)
    offset = np.stack(
        np.broadcast_arrays(z - np.float32(center[0]), y - np.float32(center[1]), x - np.float32(center[2])), axis=-1
    )
    return local, offset


def _ellipsoid(offset, radius, rng, spread):
    """Approximate signed distance (nm) to a randomly oriented ellipsoid of mean radius
    ``radius`` and the unit normals."""
    rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    axes = radius * (1 + spread * rng.uniform(-1, 1, 3))
    turned = offset @ rotation.astype(np.float32)
    scaled = np.sqrt(((turned / axes.astype(np.float32)) ** 2).sum(axis=-1))
    distance = (scaled - 1) * np.float32(radius)
    normals = offset / np.maximum(np.sqrt((offset**2).sum(axis=-1)), 1e-3)[..., None]
    return distance, normals


def _composite(stain, local, coverage, own):
    view = stain[local]
    view *= 1 - coverage
    view += own


def _label(organelles, local, inside, label):
    view = organelles[local]
    view[inside & (view == 0)] = label


def _membrane_bound(stain, organelles, label, center, radius, grid, axis_variance, rng, spread, content):
    """A membrane around ``content(offset, distance)`` (the lumen stain)."""
    reach = radius * (1 + spread) + 4 * float(np.sqrt(axis_variance.max()))
    local, offset = _local(center, reach, grid)
    distance, normals = _ellipsoid(offset, radius, rng, spread)
    sigma = sigma_along(normals, axis_variance)
    lumen = content(local, offset, distance)
    coverage = gaussian_cdf(-distance / sigma)
    own = layered(distance, [0.0, -_MEMBRANE_NM], [0.0, stain_of.MEMBRANE, lumen], sigma)
    _composite(stain, local, coverage, own)
    _label(organelles, local, distance < 0, label)
    return local, offset, distance


def _internal_vesicles(stain, local, offset, distance, radius, grid, axis_variance, rng, fill):
    """Small vesicles inside a compartment (drawn over its lumen)."""
    low, high = _INTERNAL_VESICLE_NM
    room = radius - _MEMBRANE_NM - high / 2
    if room <= 0:
        return
    count = max(1, int(fill * (room / ((low + high) / 4)) ** 3))
    sigma = np.float32(np.sqrt(axis_variance.mean()))
    for _ in range(count):
        r = rng.uniform(low, high) / 2
        direction = rng.standard_normal(3)
        place = direction / np.linalg.norm(direction) * room * rng.random() ** (1 / 3)
        d = np.sqrt(((offset - place.astype(np.float32)) ** 2).sum(axis=-1)) - np.float32(r)
        near = d < r + 4 * sigma
        if not near.any():
            continue
        coverage = gaussian_cdf(-d[near] / sigma)
        own = layered(d[near], [0.0, -_MEMBRANE_NM], [0.0, stain_of.MEMBRANE, stain_of.VESICLE_LUMEN_RANGE[0]], sigma)
        view = stain[local]
        view[near] = view[near] * (1 - coverage) + own


def _lysosome(stain, organelles, label, center, radius, grid, params, textures, axis_variance, rng):
    base = rng.uniform(*_LYSOSOME_RANGE)

    def content(local, offset, distance):
        mottle = textures.chromatin.on_grid(local, grid.spacing)
        inclusions = np.clip(mottle - np.float32(1 - 2 * _LYSOSOME_INCLUSIONS), 0, 1)
        out = np.float32(base) * (1 + np.float32(_LYSOSOME_MOTTLE) * np.clip(mottle, -1.5, 1))
        return out - inclusions * np.float32(base * 0.6)

    _membrane_bound(stain, organelles, label, center, radius, grid, axis_variance, rng, _AXIS_SPREAD, content)


def _multivesicular_body(stain, organelles, label, center, radius, grid, params, textures, axis_variance, rng):
    lumen = np.float32(rng.uniform(*_MVB_LUMEN_RANGE))
    local, offset, distance = _membrane_bound(
        stain, organelles, label, center, radius, grid, axis_variance, rng, _AXIS_SPREAD, lambda *a: lumen
    )
    _internal_vesicles(stain, local, offset, distance, radius, grid, axis_variance, rng, _INTERNAL_FILL)


def _endosome(stain, organelles, label, center, radius, grid, params, textures, axis_variance, rng):
    dark = rng.random() < params.endosome_dark_fraction
    lumen = np.float32(rng.uniform(*(_ENDOSOME_DARK_RANGE if dark else _ENDOSOME_LIGHT_RANGE)))
    local, offset, distance = _membrane_bound(
        stain, organelles, label, center, radius, grid, axis_variance, rng, _ENDOSOME_AXIS_SPREAD, lambda *a: lumen
    )
    if rng.random() < _ENDOSOME_WITH_VESICLES:
        _internal_vesicles(stain, local, offset, distance, radius * (1 - _ENDOSOME_AXIS_SPREAD), grid, axis_variance, rng, _INTERNAL_FILL / 2)


def _lipid_droplet(stain, organelles, label, center, radius, grid, params, textures, axis_variance, rng):
    reach = radius * (1 + _AXIS_SPREAD / 2) + 4 * float(np.sqrt(axis_variance.max()))
    local, offset = _local(center, reach, grid)
    distance, normals = _ellipsoid(offset, radius, rng, _AXIS_SPREAD / 2)
    sigma = sigma_along(normals, axis_variance)
    coverage = gaussian_cdf(-distance / sigma)
    _composite(stain, local, coverage, coverage * np.float32(rng.uniform(*_LIPID_RANGE)))
    _label(organelles, local, distance < 0, label)


def _golgi(stain, organelles, label, center, half_width, grid, params, textures, axis_variance, rng):
    """Curved cisternae: shells about a common centre of curvature, each a cap of the
    same arc half-length (shorter towards the convex face), two membranes around a lumen."""
    half_width = half_width  # the stack's half-width, nm
    count = int(rng.integers(params.golgi_cisternae[0], params.golgi_cisternae[1] + 1))
    normal = rng.standard_normal(3)
    normal /= np.linalg.norm(normal)
    curvature = half_width * rng.uniform(*_GOLGI_CURVATURE)
    focus = center - curvature * normal
    reach = half_width + _GOLGI_VESICLE_NM[1] + 4 * float(np.sqrt(axis_variance.max()))
    local, offset = _local(center, reach, grid)
    relative = offset + (center - focus).astype(np.float32)
    rho = np.sqrt((relative**2).sum(axis=-1))
    cosine = np.clip((relative @ normal.astype(np.float32)) / np.maximum(rho, 1e-3), -1, 1)
    arc = curvature * np.arccos(cosine)
    sigma = np.float32(np.sqrt(axis_variance.mean()))
    inside = np.zeros(rho.shape, dtype=bool)
    for k in range(count):
        shell = curvature + (k - (count - 1) / 2) * _GOLGI_PITCH_NM
        length = half_width * (1 - 0.12 * k) * rng.uniform(0.85, 1.0)
        lumen = rng.uniform(*_GOLGI_LUMEN_NM) / 2
        outer = lumen + _MEMBRANE_NM
        radial = np.abs(rho - np.float32(shell))
        near = (radial < outer + 4 * sigma) & (arc < length + 4 * sigma)
        if not near.any():
            continue
        taper = gaussian_cdf((length - arc[near]) / np.float32(2 * sigma))
        d = radial[near]
        coverage = gaussian_cdf((outer - d) / sigma) * taper
        own = layered(d, [outer, lumen], [0.0, stain_of.MEMBRANE, stain_of.ER_LUMEN], sigma) * taper
        view = stain[local]
        view[near] = view[near] * (1 - coverage) + own
        inside[near] |= coverage > 0.5
        # vesicles budding at the rims
        for _ in range(rng.poisson(_GOLGI_RIM_VESICLES)):
            r = rng.uniform(*_GOLGI_VESICLE_NM) / 2
            side = rng.standard_normal(3)
            side -= (side @ normal) * normal
            side /= np.linalg.norm(side)
            angle = (length + rng.uniform(1.5, 3) * r) / curvature
            place = focus + shell * (np.cos(angle) * normal + np.sin(angle) * side) - center
            dv = np.sqrt(((offset - place.astype(np.float32)) ** 2).sum(axis=-1)) - np.float32(r)
            nearv = dv < r + 4 * sigma
            cov = gaussian_cdf(-dv[nearv] / sigma)
            ownv = layered(dv[nearv], [0.0, -_MEMBRANE_NM], [0.0, stain_of.MEMBRANE, stain_of.ER_LUMEN], sigma)
            view[nearv] = view[nearv] * (1 - cov) + ownv
    _label(organelles, local, inside, label)


_DRAW = {
    "golgi": _golgi,
    "lipid_droplet": _lipid_droplet,
    "lysosome": _lysosome,
    "multivesicular_body": _multivesicular_body,
    "endosome": _endosome,
}
#: Longest semi-axis of each kind's ellipsoid over its mean radius: the sphere it is
#: placed (and kept clear of membranes and neighbours) by.
_EXTENT = {
    "lipid_droplet": 1 + _AXIS_SPREAD / 2,
    "lysosome": 1 + _AXIS_SPREAD,
    "multivesicular_body": 1 + _AXIS_SPREAD,
    "endosome": 1 + _ENDOSOME_AXIS_SPREAD,
}


def draw_ribosomes(
    stain: np.ndarray, space: Cytoplasm, grid: Grid, params: PhantomParameters, rng: np.random.Generator
) -> int:
    """Ribosomes as dots of stain added to the cytoplasm (before the organelles are
    composited over it): each adds its volume's worth of excess stain to its voxel, then
    the sum is blurred by the point spread. Returns how many were drawn."""
    if params.ribosome_density_per_um3 <= 0:
        return 0
    total = int(rng.poisson(params.ribosome_density_per_um3 * space.volume_um3))
    chained = int(total * _POLYSOME_SHARE)
    lengths = rng.integers(_POLYSOME_LENGTH[0], _POLYSOME_LENGTH[1] + 1, max(chained // 5, 1))
    starts = space.random_points(len(lengths), params.ribosome_diameter_nm / 2, rng)
    steps = rng.standard_normal((len(starts), _POLYSOME_LENGTH[1], 3))
    steps *= _POLYSOME_STEP_NM / np.linalg.norm(steps, axis=-1, keepdims=True)
    chains = starts[:, None, :] + np.cumsum(steps, axis=1)
    keep = np.arange(_POLYSOME_LENGTH[1])[None, :] < lengths[: len(starts), None]
    single = space.random_points(max(total - int(keep.sum()), 0), params.ribosome_diameter_nm / 2, rng)
    points = np.concatenate([chains[keep], single])
    points = points[space.clearance_at(points) > params.ribosome_diameter_nm / 2]
    shape = space.to_nucleus.shape
    index = np.rint((points - space.start_nm) / np.asarray(grid.spacing)).astype(np.intp)
    index = index[((index >= 0) & (index < shape)).all(axis=1)]
    dots = np.zeros(shape, dtype=np.float32)
    volume = np.pi / 6 * params.ribosome_diameter_nm**3
    np.add.at(dots, tuple(index.T), np.float32(volume / np.prod(grid.spacing) * (_RIBOSOME_STAIN - stain_of.CYTOSOL)))
    sigma = np.asarray(params.psf_sigma_nm) / np.asarray(grid.spacing)
    ndi.gaussian_filter(dots, sigma, output=dots, truncate=3.0)
    stain[space.box] += dots
    return len(index)


def draw_filaments(stain: np.ndarray, space: Cytoplasm, grid: Grid, params: PhantomParameters, axis_variance, rng) -> None:
    """Faint cytoskeletal filaments in the cytoplasm: the crossings of evenly spaced level
    sets of two smooth fields, at ``filament_length_per_um3`` µm of filament per µm³."""
    if params.filament_length_per_um3 <= 0:
        return
    spacing_nm = 1000.0 / np.sqrt(params.filament_length_per_um3)
    low = space.start_nm
    high = low + np.asarray(space.to_nucleus.shape) * np.asarray(grid.spacing)
    fields = [SmoothField(low, high, _FILAMENT_CORRELATION_NM, rng, cells_per_correlation=3.0) for _ in range(2)]
    steps = []
    for f in fields:
        gradient = float(f.gradient_magnitude().values.mean())
        steps.append((spacing_nm * gradient, gradient))
    width2 = (_FILAMENT_DIAMETER_NM / 2) ** 2 + float(axis_variance[1:].mean())
    peak = np.float32(_FILAMENT_STAIN * (_FILAMENT_DIAMETER_NM / 2) ** 2 / width2)
    box = space.box
    for z0 in range(0, box[0].stop - box[0].start, _FILAMENT_SLAB):
        z1 = min(z0 + _FILAMENT_SLAB, box[0].stop - box[0].start)
        slab = (slice(box[0].start + z0, box[0].start + z1), box[1], box[2])
        d2 = np.zeros([z1 - z0] + [s.stop - s.start for s in box[1:]], dtype=np.float32)
        for f, (step, gradient) in zip(fields, steps):
            value = f.on_grid(slab, grid.spacing)
            value -= np.float32(step) * np.rint(value / np.float32(step))
            value /= np.float32(gradient)
            d2 += value * value
        inside = (space.to_nucleus[z0:z1] > 0) & (space.to_plasma_membrane[z0:z1] > 0)
        stain[slab] += np.where(inside, peak * np.exp(-d2 / np.float32(2 * width2)), 0).astype(np.float32)
