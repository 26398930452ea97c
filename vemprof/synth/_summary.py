"""The phantom's summary: statistics measured on the generated labels and image."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from vemprof.synth._grid import Grid
from vemprof.synth._mitochondria import sv_distance_correlation
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._pores import Pores
from vemprof.synth._space import Cytoplasm


def summarise(
    image: np.ndarray,
    labels: dict[str, np.ndarray],
    tables: dict[str, pd.DataFrame],
    grid: Grid,
    params: PhantomParameters,
    pores: Pores,
    *,
    space: Cytoplasm,
    envelope_voxels: np.ndarray,
    reference: np.ndarray,
    nucleoli: int,
    vesicles: int,
    er_fraction: float,
    electrons_cytosol: float,
) -> dict[str, Any]:
    """Volumes (µm³), envelope areas (µm², mid-surface), pore counts and densities per
    section, mitochondrial count, volume fraction and S/V-distance correlation, and the
    contrast-to-noise measured on the image (envelope mean against the median and robust
    sigma of cytosol away from membranes and mitochondria, texture included) with the
    requested one, the detected electrons per cytosol voxel (``electrons_cytosol``) and
    the detector noise's share of the noise variance there; all plain JSON types."""
    voxel = grid.voxel_volume_um3
    cell_volume = np.count_nonzero(labels["cell"]) * voxel
    sections = np.array([np.count_nonzero(labels["nucleus_sections"] == s) for s in (1, 2)]) * voxel
    nucleus_volume = float(sections.sum())
    areas = pores.section_area_um2
    pore_counts = [int(np.count_nonzero(pores.sections == s)) for s in (1, 2)]
    mitochondria = tables["mitochondria"]
    mitochondria_volume = float(mitochondria["volume_um3"].sum())
    correlation = sv_distance_correlation(mitochondria)

    envelope_grey = float(image[envelope_voxels].mean())
    cytosol_grey = image[space.box][reference].astype(np.float64)
    cytosol_median = float(np.median(cytosol_grey))
    # a robust spread (median absolute deviation), blind to the ER and vesicles in cytosol
    cytosol_spread = _MAD_TO_SIGMA * float(np.median(np.abs(cytosol_grey - cytosol_median)))
    summary = {
        "shape": list(grid.shape),
        "spacing_nm": list(grid.spacing),
        "field_of_view_um": [float(e) / 1000 for e in grid.extent_nm],
        "cell_volume_um3": cell_volume,
        "nucleus_volume_um3": nucleus_volume,
        "cytoplasm_volume_um3": space.volume_um3,
        "nucleus_fraction_of_cell": nucleus_volume / cell_volume,
        "section1_volume_um3": float(sections[0]),
        "section2_volume_um3": float(sections[1]),
        "envelope_area_section1_um2": areas[0],
        "envelope_area_section2_um2": areas[1],
        "pore_count": int(sum(pore_counts)),
        "pore_count_section1": pore_counts[0],
        "pore_count_section2": pore_counts[1],
        "pore_density_section1_per_um2": pore_counts[0] / areas[0],
        "pore_density_section2_per_um2": pore_counts[1] / areas[1],
        "pore_nearest_neighbour_mean_nm": _mean_nearest_neighbour(pores.centers_nm),
        "mitochondria_count": len(mitochondria),
        "mitochondria_volume_um3": mitochondria_volume,
        "mitochondria_volume_fraction": mitochondria_volume / space.volume_um3,
        "mitochondria_volume_fraction_requested": params.mitochondria_volume_fraction,
        "mitochondria_branched": int(mitochondria["branched"].sum()),
        "mitochondria_sv_mean_per_um": _mean(mitochondria["sv_ratio_per_um"]),
        "sv_distance_n": correlation["n"],
        "sv_distance_pearson_r": correlation["pearson_r"],
        "sv_distance_pearson_p": correlation["pearson_p"],
        "sv_distance_spearman_r": correlation["spearman_r"],
        "sv_distance_spearman_p": correlation["spearman_p"],
        "nucleoli": nucleoli,
        "vesicles": vesicles,
        "er_fraction_of_cytoplasm": er_fraction,
        "envelope_grey_mean": envelope_grey,
        "cytosol_grey_median": cytosol_median,
        "cytosol_grey_sigma": cytosol_spread,
        "contrast_to_noise_image": abs(envelope_grey - cytosol_median) / max(cytosol_spread, 1e-12),
        "contrast_to_noise_requested": params.contrast_to_noise,
        "detected_electrons_cytosol": electrons_cytosol,
        "detector_noise_share_cytosol": params.read_noise_electrons**2
        / (electrons_cytosol + params.read_noise_electrons**2),
    }
    return {key: (float(value) if isinstance(value, np.floating) else value) for key, value in summary.items()}


#: Median absolute deviation over standard deviation of a normal distribution.
_MAD_TO_SIGMA = 1.4826


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def _mean_nearest_neighbour(points: np.ndarray) -> float | None:
    if len(points) < 2:
        return None
    distance, _ = cKDTree(points).query(points, k=2)
    return float(distance[:, 1].mean())
