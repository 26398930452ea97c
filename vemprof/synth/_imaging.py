"""Image formation: from stain density to a FIB-SEM image.

The stain arrives already blurred by the point spread and the voxel box average (layers
are drawn analytically, see `_profiles`); nothing here blurs it again. In order:

1. **Slice geometry.** Each milled face lies a little off its nominal Z (uneven slice
   thickness): the signal of slice z is read at z + dz by cubic (Keys) interpolation
   along Z. Each slice may also be translated in Y and X (jitter and drift of an
   unaligned stack), by linear interpolation. The labels stay on the nominal, aligned
   grid; `slice_geometry` gives the true offsets.
2. **Gains.** The back-scatter signal is the resin's baseline plus the stain (membranes
   bright), times the slow brightness drift from slice to slice and the curtaining:
   stripes that run along Y (the ion beam's milling direction), vary across X and slowly
   along Z, and grow with Y (depth below the block's top edge).
3. **Noise.** Detected electrons are Poisson at the dose that gives the requested
   contrast-to-noise in cytosol, plus Gaussian detector (read) noise in electrons. With
   ``shot_noise='gaussian'`` (the previous phantom) the shot noise is instead drawn as
   Gaussian with variance proportional to the signal, before the gains.
4. **Display.** The EM convention (inverted, membranes dark) or raw back-scatter
   contrast, and the integer type.

The volume is processed in slabs of slices on a thread pool; each slab draws its noise
from its own seed, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from vemprof.synth._grid import Grid
from vemprof.synth._parameters import PhantomParameters

#: Back-scatter signal of unstained resin, in stain units.
BASELINE = 0.35
#: Raw signal mapped to the bottom and top of the output range.
_SIGNAL_RANGE = (BASELINE - 0.15, BASELINE + 1.25)
#: Where the signal lies in a raw-like 16-bit image.
_UINT16_BAND = (24000.0, 34000.0)
_SLAB_SLICES = 16
#: Correlation length of the brightness drift along Z, nm.
_DRIFT_CORRELATION_NM = 800.0
#: Slice-to-slice jitter on top of the drift, relative to its amplitude.
_DRIFT_JITTER = 0.15
#: Width of curtaining stripes across X, and how slowly they change along Z, nm.
_CURTAIN_WIDTH_NM = 40.0
_CURTAIN_CORRELATION_NM = 400.0
#: Curtaining grows as (y / Y) to this power.
_CURTAIN_GROWTH = 1.5
#: Face position offsets are clipped at this many standard deviations.
_JITTER_CLIP = 3.0


def dose_for_contrast(
    contrast: float, cytosol: float, contrast_to_noise: float, read_noise_electrons: float = 0.0
) -> float:
    """Detected electrons per unit signal such that ``contrast`` (stain units, membrane
    minus cytosol) over the noise in cytosol equals ``contrast_to_noise``.

    The noise is the shot noise of the cytosol signal (baseline + ``cytosol``) plus the
    detector noise, ``read_noise_electrons`` electrons: in electrons, the contrast is
    C·d and the variance s·d + r², so d solves C²d² = CNR²(s·d + r²).
    """
    signal = BASELINE + cytosol
    if read_noise_electrons == 0:
        noise = abs(contrast) / contrast_to_noise
        return signal / noise**2
    c2, k2 = contrast**2, contrast_to_noise**2
    return (k2 * signal + math.sqrt((k2 * signal) ** 2 + 4 * c2 * k2 * read_noise_electrons**2)) / (2 * c2)


def slice_geometry(grid: Grid, params: PhantomParameters) -> pd.DataFrame:
    """Where each slice of the image really is, relative to the labels' grid.

    Returns
    -------
    pandas.DataFrame
        One row per slice: ``z`` (index), ``dz_nm`` (the milled face lies at
        z · spacing_z + dz_nm), ``dy_nm``, ``dx_nm`` (the slice's content appears shifted
        by these in the image: the labels' voxel (z, y, x) is seen at (y + dy, x + dx);
        shift by the negatives to align).
    """
    rng = np.random.default_rng([params.seed, 4])
    slices = grid.shape[0]
    # every draw is made whatever the values, so that turning one on does not change another
    face = np.clip(rng.standard_normal(slices), -_JITTER_CLIP, _JITTER_CLIP)
    jitter = rng.standard_normal((slices, 2))
    drift = np.arange(slices)[:, None] * np.asarray(params.slice_shift_drift_nm)
    shifts = params.slice_shift_jitter_nm * jitter + drift
    return pd.DataFrame(
        {
            "z": np.arange(slices),
            "dz_nm": params.slice_position_jitter * grid.spacing[0] * face + 0.0,
            "dy_nm": shifts[:, 0],
            "dx_nm": shifts[:, 1],
        }
    )


def form_image(
    stain: np.ndarray,
    *,
    grid: Grid,
    params: PhantomParameters,
    dose: float,
    threads: int,
    geometry: pd.DataFrame | None = None,
) -> np.ndarray:
    """The image (Z, Y, X) of ``params.dtype`` from a stain volume (float32, same shape).

    Parameters
    ----------
    stain : ndarray (Z, Y, X) float32
        Heavy-metal stain density (0 = resin), blurred by the point spread. Not modified.
    grid : Grid
    params : PhantomParameters
        Uses seed, brightness_drift, curtaining, shot_noise, read_noise_electrons,
        contrast and dtype.
    dose : float
        Detected electrons per unit of signal (see `dose_for_contrast`).
    threads : int
        Slabs processed at once.
    geometry : DataFrame, optional
        Per-slice offsets from `slice_geometry`; None: `slice_geometry(grid, params)`.
    """
    rng = np.random.default_rng([params.seed, 1])
    nz, ny, nx = grid.shape
    drift = _drift(nz, grid.spacing[0], params.brightness_drift, rng)
    curtains = _curtains(nz, nx, grid.spacing, params.curtaining, rng)
    growth = ((np.arange(ny, dtype=np.float32) / max(ny - 1, 1)) ** _CURTAIN_GROWTH)[:, None]
    if geometry is None:
        geometry = slice_geometry(grid, params)
    faces = geometry["dz_nm"].to_numpy() / grid.spacing[0]
    shifts = geometry[["dy_nm", "dx_nm"]].to_numpy() / np.asarray(grid.spacing[1:])
    read_noise = np.float32(params.read_noise_electrons)
    out = np.empty(grid.shape, dtype=np.dtype(params.dtype))
    low, high = _SIGNAL_RANGE
    if params.dtype == "uint8":
        bottom, top = 0.0, 255.0
    else:
        bottom, top = _UINT16_BAND

    def slab(first: int) -> None:
        last = min(first + _SLAB_SLICES, nz)
        noise_rng = np.random.default_rng([params.seed, 2, first])
        if faces.any():
            signal = _sample_faces(stain, first, last, faces)
            signal += np.float32(BASELINE)
        else:
            signal = stain[first:last] + np.float32(BASELINE)
        for i, shift in enumerate(shifts[first:last]):
            if shift.any():
                signal[i] = ndi.shift(signal[i], shift, order=1, mode="nearest")
        if params.shot_noise == "gaussian":
            # the previous phantom: noise first, then the gains
            noise = noise_rng.standard_normal(signal.shape, dtype=np.float32)
            noise *= np.sqrt(np.clip(signal, 0, None) / np.float32(dose))
            signal += noise
            if read_noise:
                signal += _read_noise(params.seed, first, signal.shape, read_noise / np.float32(dose))
            signal *= (1 + drift[first:last])[:, None, None]
            signal *= 1 + curtains[first:last, None, :] * growth
        else:
            signal *= (1 + drift[first:last])[:, None, None]
            signal *= 1 + curtains[first:last, None, :] * growth
            signal *= np.float32(dose)
            np.clip(signal, 0, None, out=signal)
            signal = noise_rng.poisson(signal).astype(np.float32)
            if read_noise:
                signal += _read_noise(params.seed, first, signal.shape, read_noise)
            signal /= np.float32(dose)
        signal -= np.float32(low)
        signal *= np.float32((top - bottom) / (high - low))
        if params.contrast == "em":
            np.subtract(np.float32(top), signal, out=signal)
        else:
            signal += np.float32(bottom)
        np.clip(signal, bottom, top, out=signal)
        np.rint(signal, out=signal)
        out[first:last] = signal

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(slab, range(0, nz, _SLAB_SLICES)))
    return out


def _read_noise(seed: int, first: int, shape, sigma: np.float32) -> np.ndarray:
    noise = np.random.default_rng([seed, 3, first]).standard_normal(shape, dtype=np.float32)
    noise *= sigma
    return noise


def _sample_faces(stain: np.ndarray, first: int, last: int, faces: np.ndarray) -> np.ndarray:
    """Slices ``first:last`` of ``stain`` read at Z positions z + ``faces[z]`` (voxels), by
    cubic convolution (Keys, a = -0.5) along Z, edges clamped; float32."""
    nz = stain.shape[0]
    out = np.zeros((last - first, *stain.shape[1:]), dtype=np.float32)
    for i, z in enumerate(range(first, last)):
        position = z + float(faces[z])
        base = math.floor(position)
        t = position - base
        for offset, weight in zip((-1, 0, 1, 2), _keys_weights(t)):
            if weight:
                out[i] += np.float32(weight) * stain[min(max(base + offset, 0), nz - 1)]
    return out


def _keys_weights(t: float) -> tuple[float, float, float, float]:
    """Cubic convolution weights of the samples at -1, 0, 1, 2 for a point at t in [0, 1)."""
    a = -0.5

    def near(x: float) -> float:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1

    def far(x: float) -> float:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a

    return far(1 + t), near(t), near(1 - t), far(2 - t)


def _drift(slices: int, step_nm: float, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Relative gain per slice: a smooth curve within ±amplitude plus a small jitter."""
    smooth = ndi.gaussian_filter1d(rng.standard_normal(slices), _DRIFT_CORRELATION_NM / step_nm, mode="reflect")
    smooth /= max(np.abs(smooth).max(), 1e-12)
    jitter = _DRIFT_JITTER * rng.uniform(-1, 1, slices)
    return (amplitude * (smooth * (1 - _DRIFT_JITTER) + jitter)).astype(np.float32)


def _curtains(slices: int, columns: int, spacing, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Relative gain per (slice, column) at the far Y edge: stripes across X drifting
    slowly along Z, unit standard deviation times ``strength``."""
    sigma = (_CURTAIN_CORRELATION_NM / spacing[0], _CURTAIN_WIDTH_NM / spacing[2])
    field = ndi.gaussian_filter(rng.standard_normal((slices, columns)), sigma, mode="wrap")
    field /= max(field.std(), 1e-12)
    return (strength * field).astype(np.float32)
