"""Image formation: from stain density to a FIB-SEM image.

The back-scatter signal is the resin's baseline plus the stain (membranes bright). Shot
noise is Poisson in the detected electrons; with tens of electrons per voxel it is drawn
as Gaussian with variance proportional to the signal, at the dose that gives the
requested contrast-to-noise in cytosol. Then the slow gain drift from slice to slice,
and curtaining: stripes that run along Y (the ion beam's milling direction), vary across
X and slowly along Z, and grow with Y (depth below the block's top edge). Last, the
display convention (EM: inverted, membranes dark) and the integer type.

The volume is processed in slabs of slices on a thread pool; each slab draws its noise
from its own seed, so the result does not depend on the number of threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
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


def dose_for_contrast(contrast: float, cytosol: float, contrast_to_noise: float) -> float:
    """Electrons per unit signal so that ``contrast`` (stain units, membrane minus cytosol)
    over the shot noise in cytosol equals ``contrast_to_noise``."""
    noise = abs(contrast) / contrast_to_noise
    return (BASELINE + cytosol) / noise**2


def form_image(stain: np.ndarray, *, grid: Grid, params: PhantomParameters, dose: float, threads: int) -> np.ndarray:
    """The image (Z, Y, X) of ``params.dtype`` from a stain volume (float32, same shape).

    Parameters
    ----------
    stain : ndarray (Z, Y, X) float32
        Heavy-metal stain density (0 = resin).
    grid : Grid
    params : PhantomParameters
        Uses seed, brightness_drift, curtaining, contrast and dtype.
    dose : float
        Detected electrons per unit of signal (see `dose_for_contrast`).
    threads : int
        Slabs processed at once.
    """
    rng = np.random.default_rng([params.seed, 1])
    nz, ny, nx = grid.shape
    drift = _drift(nz, grid.spacing[0], params.brightness_drift, rng)
    curtains = _curtains(nz, nx, grid.spacing, params.curtaining, rng)
    growth = ((np.arange(ny, dtype=np.float32) / max(ny - 1, 1)) ** _CURTAIN_GROWTH)[:, None]
    out = np.empty(grid.shape, dtype=np.dtype(params.dtype))
    low, high = _SIGNAL_RANGE
    if params.dtype == "uint8":
        bottom, top = 0.0, 255.0
    else:
        bottom, top = _UINT16_BAND

    def slab(first: int) -> None:
        last = min(first + _SLAB_SLICES, nz)
        noise_rng = np.random.default_rng([params.seed, 2, first])
        signal = stain[first:last] + np.float32(BASELINE)
        noise = noise_rng.standard_normal(signal.shape, dtype=np.float32)
        noise *= np.sqrt(np.clip(signal, 0, None) / np.float32(dose))
        signal += noise
        signal *= (1 + drift[first:last])[:, None, None]
        signal *= 1 + curtains[first:last, None, :] * growth
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
