"""`make_phantom`: compose the cell, its organelles and the image, with exact ground truth.

Order of work: the cell and nucleus shapes and their labels; pores on the envelope; the
stain volume (cytosol of uneven density, nucleoplasm, the plasma membrane and envelope
bands, ribosomes, filaments, ER); the mitochondria (composited over the ER, so they
touch it), the other compartments and vesicles placed in the cytoplasm; the image; then
tables and a summary measured on what was generated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vemprof.errors import VemprofError
from vemprof.synth._compartments import KINDS, draw_compartments, draw_filaments, draw_ribosomes
from vemprof.synth._geometry import build_cell
from vemprof.synth._grid import Grid
from vemprof.synth._imaging import BASELINE, dose_for_contrast, form_image, slice_geometry
from vemprof.synth._membranes import (
    draw_nuclear_envelope,
    draw_plasma_membrane,
    envelope_band_depth_nm,
)
from vemprof.synth._mitochondria import place_mitochondria
from vemprof.synth._organelles import draw_er, draw_nucleoplasm, draw_vesicles
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._pores import sample_pores
from vemprof.synth._profiles import normal_blur_variance
from vemprof.synth._space import Cytoplasm
from vemprof.synth._summary import summarise
from vemprof.synth._textures import Textures

#: Margin around the nucleus' ellipsoids for its working box, nm (holds the bumps and
#: the envelope band).
_NUCLEUS_BOX_MARGIN_NM = 400.0
#: Cytosol used as the contrast reference lies this far from both membranes, nm.
_REFERENCE_CLEARANCE_NM = 150.0
#: Every n-th reference voxel is enough for a median.
_REFERENCE_STRIDE = 7

MASKS = ("cell", "nucleus", "nucleus_sections", "nuclear_envelope")
INSTANCES = ("mitochondria", "pores", "pockets", "organelles")


@dataclass
class Phantom:
    """A synthetic FIB-SEM volume of one cell with its ground truth.

    Attributes
    ----------
    image : ndarray (Z, Y, X), uint8 or uint16
        The EM image. Labels describe the specimen on the nominal grid; the image may
        sample it slightly off that grid (see the ``slice_shifts`` table).
    spacing : tuple of 3 floats
        Voxel size in nm (Z, Y, X).
    labels : dict of str to ndarray (Z, Y, X)
        Ground truth, 0 = background: masks (uint8) ``cell`` (inside the plasma membrane),
        ``nucleus``, ``nucleus_sections`` (1 = the small, more curved section, 2 = the
        large), ``nuclear_envelope`` (the double-membrane shell, at least one voxel
        thick); instances (uint32) ``mitochondria`` (1..N), ``pores`` (1..P),
        ``pockets`` (the pocket under pore k has label k) and ``organelles`` (1..M: Golgi
        stacks, lipid droplets, lysosomes, multivesicular bodies, endosomes; their kinds in
        the ``organelles`` table).
    tables : dict of str to pandas.DataFrame
        One row per object, with its ``label``. ``pores``: ``section`` (1 or 2), centre
        ``z_um``, ``y_um``, ``x_um`` on the envelope's mid-surface and the outward normal
        ``normal_z``, ``normal_y``, ``normal_x``. ``mitochondria``: centroid ``z_um``,
        ``y_um``, ``x_um``, ``volume_um3``, ``surface_um2`` (marching cubes on the label),
        ``sv_ratio_per_um``, the generator's ``design_radius_nm`` and
        ``centreline_length_um``, ``branched``, and the centroid's distances
        ``dist_plasma_membrane_um``, ``dist_nuclear_envelope_um``,
        ``dist_nearer_membrane_um``. ``slice_shifts``: one row per slice ``z``, where the
        image slice really is relative to the labels' grid: ``dz_nm`` (the milled face
        lies at z · spacing_z + dz_nm; uneven slice thickness) and ``dy_nm``, ``dx_nm``
        (the slice's content is shifted by these in the image; zero unless
        ``slice_shift_jitter_nm`` or ``slice_shift_drift_nm`` is set). ``organelles``:
        ``label``, ``kind`` (golgi, lipid_droplet, lysosome, multivesicular_body,
        endosome), centre ``z_um``, ``y_um``, ``x_um`` and ``diameter_nm`` (of the sphere
        reserved for it).
    parameters : dict
        Every effective parameter (those left at None resolved), JSON-serialisable;
        ``make_phantom(**parameters)`` makes the same phantom.
    summary : dict
        Statistics measured on what was generated, JSON-serialisable.
    """

    image: np.ndarray
    spacing: tuple[float, float, float]
    labels: dict[str, np.ndarray] = field(repr=False)
    tables: dict[str, pd.DataFrame] = field(repr=False)
    parameters: dict[str, Any] = field(repr=False)
    summary: dict[str, Any] = field(repr=False)


def make_phantom(params: PhantomParameters | None = None, /, **overrides: Any) -> Phantom:
    """Make a synthetic FIB-SEM volume of a HeLa-like cell with exact ground truth.

    Parameters
    ----------
    params : PhantomParameters, optional
        All parameters; defaults give a whole small cell in a (256, 512, 512) volume at
        25 × 20 × 20 nm.
    **overrides
        Parameters to change, by name (see `PhantomParameters`).

    Returns
    -------
    Phantom

    Raises
    ------
    VemprofError
        For invalid parameters, a field of view too small for a cell, or organelles
        that cannot be placed; the message says what to change.

    Examples
    --------
    >>> from vemprof.synth import make_phantom
    >>> phantom = make_phantom(shape=(64, 128, 128), spacing=(40, 40, 40), n_mitochondria=10)
    >>> phantom.image.shape, phantom.image.dtype
    ((64, 128, 128), dtype('uint8'))
    """
    params = _resolve(params, overrides)
    threads = params.threads or os.cpu_count() or 1
    grid = Grid(params.shape, params.spacing)
    _check_resolution(params)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(10)]
    cell_rng, pore_rng, texture_rng, nucleus_rng, er_rng, mitochondria_rng, vesicle_rng = streams[:7]
    compartment_rng, ribosome_rng, filament_rng = streams[7:]
    axis_variance = normal_blur_variance(grid.spacing, params.psf_sigma_nm)

    # shapes and their masks
    cell, cell_box = build_cell(params, grid, cell_rng)
    nucleus = cell.nucleus
    labels = {name: np.zeros(grid.shape, dtype=np.uint8) for name in MASKS}
    labels.update({name: np.zeros(grid.shape, dtype=np.uint32) for name in INSTANCES})
    cell_phi = cell.sdf_on_grid(grid, cell_box)
    labels["cell"][cell_box] = cell_phi < 0
    nucleus_box = grid.box_around(*nucleus.bounds_nm(_NUCLEUS_BOX_MARGIN_NM + 3 * params.nucleus_irregularity_nm))
    nucleus_phi = nucleus.sdf_on_grid(grid, nucleus_box)
    inside = nucleus_phi < 0
    labels["nucleus"][nucleus_box] = inside
    labels["nucleus_sections"][nucleus_box] = np.where(inside, np.where(nucleus.small_side_on_grid(grid, nucleus_box), 1, 2), 0)
    del inside
    pores = sample_pores(nucleus, nucleus_phi, nucleus_box, grid, params, pore_rng)

    # the stain volume: compartments, membranes, ER
    low_nm = np.array([b.start for b in cell_box]) * np.asarray(grid.spacing)
    high_nm = np.array([b.stop for b in cell_box]) * np.asarray(grid.spacing)
    textures = Textures(low_nm, high_nm, texture_rng, density_variation=params.cytosol_density_variation)
    stain = np.zeros(grid.shape, dtype=np.float32)
    np.copyto(stain[cell_box], textures.cytosol_on_grid(cell_box, grid), where=cell_phi < 0)
    nucleoli = draw_nucleoplasm(
        stain, nucleus_phi, nucleus_box, grid, params, textures, axis_variance, nucleus_rng,
        band_depth_nm=envelope_band_depth_nm(params, axis_variance),
        threads=threads,
    )
    draw_plasma_membrane(stain, cell_phi, cell_box, grid, params, textures, axis_variance)
    draw_nuclear_envelope(stain, labels, nucleus_phi, nucleus_box, grid, params, pores, textures, axis_variance)
    del cell_phi, nucleus_phi
    space = Cytoplasm(
        labels["cell"][cell_box].astype(bool), labels["nucleus"][cell_box].astype(bool), cell_box, grid,
        threads=threads,
    )
    ribosomes = draw_ribosomes(stain, space, grid, params, ribosome_rng)
    draw_filaments(stain, space, grid, params, axis_variance, filament_rng)
    er_fraction = draw_er(stain, space, grid, params, axis_variance, er_rng) if params.er else 0.0

    # organelles placed in the cytoplasm
    mitochondria_table, radius_scale = place_mitochondria(
        stain, labels["mitochondria"], space, grid, params, axis_variance, mitochondria_rng
    )
    organelles_table = draw_compartments(
        stain, labels["organelles"], labels["mitochondria"], space, grid, params, textures, axis_variance,
        compartment_rng,
    )
    vesicles = (
        draw_vesicles(
            stain, labels["mitochondria"], space, grid, params, axis_variance, vesicle_rng,
            occupied=labels["organelles"] if len(organelles_table) else None,
        )
        if params.vesicles
        else 0
    )

    # the image
    envelope_voxels = (labels["nuclear_envelope"] == 1) & (labels["pores"] == 0)
    reference = _cytosol_reference(space, labels["mitochondria"])
    envelope_stain = float(stain[envelope_voxels].mean())
    cytosol_stain = float(np.median(stain[space.box][reference]))
    dose = dose_for_contrast(
        envelope_stain - cytosol_stain, cytosol_stain, params.contrast_to_noise, params.read_noise_electrons
    )
    geometry = slice_geometry(grid, params)
    image = form_image(stain, grid=grid, params=params, dose=dose, threads=threads, geometry=geometry)
    del stain

    tables = {
        "pores": pores.table(), "mitochondria": mitochondria_table, "slice_shifts": geometry,
        "organelles": organelles_table,
    }
    parameters = params.model_dump(mode="json")
    parameters.update(
        cell_diameter_um=float(2 * cell.outline.mean_radius_nm) / 1000,
        cell_height_um=float(cell.height_nm) / 1000,
        cytoplasm_margin_um=float(cell.margin_nm) / 1000,
        n_mitochondria=len(mitochondria_table),
        threads=threads,
        mitochondria_radius_nm=radius_scale,
    )
    summary = summarise(
        image, labels, tables, grid, params, pores,
        envelope_voxels=envelope_voxels,
        reference=reference,
        space=space,
        nucleoli=nucleoli,
        vesicles=vesicles,
        er_fraction=er_fraction,
        electrons_cytosol=dose * (BASELINE + cytosol_stain),
    )
    for kind in KINDS:  # placed, and requested (some may not find room)
        summary[f"{kind}_count"] = int((organelles_table["kind"] == kind).sum())
        summary[f"{kind}_count_requested"] = int(organelles_table.attrs["requested"][kind])
    summary.update(
        ribosomes=ribosomes,
        organelles_fraction_of_cytoplasm=float(np.count_nonzero(labels["organelles"])) * grid.voxel_volume_um3
        / max(space.volume_um3, 1e-12),
    )
    return Phantom(image, grid.spacing, labels, tables, parameters, summary)


def _resolve(params: PhantomParameters | None, overrides: dict[str, Any]) -> PhantomParameters:
    if params is None:
        return PhantomParameters(**overrides)
    if not isinstance(params, PhantomParameters):
        raise VemprofError(
            f"make_phantom takes a PhantomParameters or keyword parameters, got {type(params).__name__}; "
            "pass parameters by name, e.g. make_phantom(shape=(64, 128, 128))"
        )
    return params.with_changes(**overrides) if overrides else params


def _check_resolution(params: PhantomParameters) -> None:
    coarsest = max(params.spacing)
    if coarsest > params.pore_diameter_nm / 2:
        raise VemprofError(
            f"voxel size {coarsest:g} nm is too coarse to draw nuclear pores {params.pore_diameter_nm:g} nm across; "
            f"use a spacing of at most {params.pore_diameter_nm / 2:g} nm on every axis"
        )


def _cytosol_reference(space: Cytoplasm, mitochondria: np.ndarray) -> np.ndarray:
    """Sparse sample (bool over the cell box) of cytosol far from membranes and mitochondria."""
    reference = np.minimum(space.to_plasma_membrane, space.to_nucleus) > _REFERENCE_CLEARANCE_NM
    reference &= mitochondria[space.box] == 0
    sparse = np.zeros_like(reference)
    sparse.reshape(-1)[::_REFERENCE_STRIDE] = reference.reshape(-1)[::_REFERENCE_STRIDE]
    return sparse
