"""The pixel classifier's 3D feature bank: ilastik-style filters at scales in nanometres.

Every channel is a local filter of the image at one Gaussian scale ``s`` (a standard
deviation in nm), the same physical width on every axis: in voxels it is
``s / spacing`` per axis, so anisotropic voxels are honoured. The kinds, per scale:

- ``gaussian``: Gaussian smoothing.
- ``log``: Laplacian of Gaussian (trace of the Hessian below); negative at the centre
  of a bright blob, positive at a dark one.
- ``gradient``: gradient magnitude of Gaussian.
- ``dog``: difference of Gaussians as ilastik: smoothing at ``s`` minus smoothing at
  ``DOG_RATIO · s`` (0.66), which has the sign of ``log``.
- ``hessian``: the three eigenvalues of the Hessian of Gaussian, largest first.
- ``structure``: the three eigenvalues of the structure tensor, largest first, as
  ilastik: the gradient at the inner scale ``s``, its outer products smoothed at the
  outer scale ``STRUCTURE_OUTER_RATIO · s`` (0.5).

Plus the raw intensity once (channel ``"intensity"``). Derivatives are taken with
respect to position in units of the scale (``x_nm / s``; "scale-normalised"), so that
every channel is in intensity units (intensity² for ``structure``), comparable across
scales and voxel sizes.

Kernels are sampled Gaussians cut at ``TRUNCATE`` (3) standard deviations plus half a
standard deviation per derivative order, applied one axis at a time with scipy's
``'reflect'`` boundary (half-sample symmetric); derivative kernels are normalised so
that a ramp has slope 1 and a parabola curvature 1. Both as vigra, which ilastik uses;
the normalisation keeps derivatives accurate at small scales. Along an axis where the
scale is under ``MIN_SIGMA_VOXELS`` (0.3) voxels there is no smoothing, and derivatives
along it are central differences (the limit of the normalised kernels). The Gaussian
filters of one scale share their passes (Z, then Y, then X): smoothing, gradient and
Hessian take 19 one-axis passes instead of 30. Each scale reads only the halo it
reaches, and each pass computes only what the later passes read (the Z pass the core's
planes plus the structure tensor's outer reach, and so on): a block filters little more
than its own voxels at the small scales.

Memory: float32 throughout. A block of ``N`` voxels, ``P`` with its halo,
peaks at about ``4 · (C·N + 14·P)`` bytes: its ``C`` output channels and 14 float32
scratch arrays of at most the padded block for one scale (derivatives, smoothed tensor
components; measured with tracemalloc on the default bank, before the passes were cropped).
A whole array is computed with one scale per thread (as many threads as cores, at
most one per scale), each holding its own scratch.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError
from vemprof.ops import map_channels_with_halo
from vemprof.volume import validate_spacing

#: Every kind of feature, in channel order, with its number of channels per scale.
KINDS = {"gaussian": 1, "log": 1, "gradient": 1, "dog": 1, "hessian": 3, "structure": 3}
DEFAULT_KINDS = tuple(KINDS)
#: `FeatureBank.default` scales, in multiples of the largest voxel size (like
#: ilastik's sigmas in pixels): membranes and cristae at the smallest, organelle and
#: cell-versus-resin texture at the largest; 41 channels with all kinds.
DEFAULT_SCALES_VOXELS = (0.7, 1.6, 3.5, 5.0)
TRUNCATE = 3.0
MIN_SIGMA_VOXELS = 0.3
DOG_RATIO = 0.66
STRUCTURE_OUTER_RATIO = 0.5
#: Stored with the bank in model files; raised when the definition of a channel changes.
FEATURES_VERSION = 1
#: Voxels per slab (at least one Z plane) in the one-axis filters and the eigenvalue
#: solver: large enough that two threads seldom wait for the GIL between numpy calls
#: (64 K voxels made two blocks at once run at half speed each), small enough for the cache.
_SLAB = 1 << 18
_CENTRAL_DIFFERENCES = {1: np.array([-0.5, 0.0, 0.5]), 2: np.array([1.0, -2.0, 1.0])}
#: Derivative orders (z, y, x) of the Gaussian that each kind needs.
_FIRST = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
_PURE_SECOND = ((2, 0, 0), (0, 2, 0), (0, 0, 2))
_MIXED_SECOND = ((1, 1, 0), (1, 0, 1), (0, 1, 1))
_ORDERS = {
    "gaussian": ((0, 0, 0),),
    "dog": ((0, 0, 0),),
    "gradient": _FIRST,
    "structure": _FIRST,
    "log": _PURE_SECOND,
    "hessian": _PURE_SECOND + _MIXED_SECOND,
}


def _kernel(sigma: float, order: int) -> np.ndarray | None:
    """Correlation weights of a Gaussian (order 0) or its 1st/2nd derivative, sigma in voxels.

    None means "leave this axis alone" (order 0 under `MIN_SIGMA_VOXELS`).
    """
    if sigma < MIN_SIGMA_VOXELS:
        return None if order == 0 else _CENTRAL_DIFFERENCES[order]
    radius = int((TRUNCATE + 0.5 * order) * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    if order == 0:
        return phi / phi.sum()
    if order == 1:
        weights = x * phi
        return weights / (x * weights).sum()
    weights = ((x / sigma) ** 2 - 1) * phi
    weights -= phi * weights.sum() / phi.sum()
    return weights / (0.5 * x * x * weights).sum()


def _scaled_kernel(sigma: float, order: int) -> np.ndarray | None:
    """`_kernel` for a derivative with respect to position in units of sigma (times sigma**order)."""
    kernel = _kernel(sigma, order)
    return None if kernel is None else kernel * sigma**order


def _radius(sigma: float, order: int) -> int:
    kernel = _kernel(sigma, order)
    return 0 if kernel is None else len(kernel) // 2


def _reach(kind: str, sigma: float) -> int:
    """Voxels along one axis that a ``kind`` channel at ``sigma`` voxels sees on either side."""
    if kind == "dog":
        return max(_radius(sigma, 0), _radius(DOG_RATIO * sigma, 0))
    if kind == "structure":
        return _radius(sigma, 1) + _radius(STRUCTURE_OUTER_RATIO * sigma, 0)
    return _radius(sigma, max(order for orders in _ORDERS[kind] for order in orders))


def _scale_name(scale_nm: float) -> str:
    return f"{scale_nm:g}nm"


def _spacing(spacing: Any) -> tuple[float, float, float]:
    return validate_spacing(spacing, what="voxel size (spacing)")


@dataclass(frozen=True)
class FeatureBank:
    """Which features the pixel classifier sees: Gaussian scales in nm and filter kinds.

    Parameters
    ----------
    scales_nm : sequence of floats
        Gaussian scales (standard deviations) in nm, positive and distinct; stored
        ascending.
    kinds : sequence of str
        A subset of `KINDS` (``gaussian``, ``log``, ``gradient``, ``dog``, ``hessian``,
        ``structure``); stored in that order.

    Examples
    --------
    >>> bank = FeatureBank((50, 20), kinds=("hessian", "gaussian"))
    >>> bank.names()[:4], bank.names()[-1], bank.count
    (['intensity', 'gaussian_20nm', 'gaussian_50nm', 'hessian_20nm_0'], 'hessian_50nm_2', 9)
    >>> bank.halo((25, 10, 10))  # Hessian: 3 + 2 × 0.5 sigma of 50 nm = 8 voxels of 25 nm, 20 of 10 nm
    (8, 20, 20)
    """

    scales_nm: tuple[float, ...]
    kinds: tuple[str, ...] = DEFAULT_KINDS

    def __post_init__(self) -> None:
        object.__setattr__(self, "scales_nm", _check_scales(self.scales_nm))
        object.__setattr__(self, "kinds", _check_kinds(self.kinds))

    @classmethod
    def default(cls, spacing: Sequence[float]) -> FeatureBank:
        """All kinds at `DEFAULT_SCALES_VOXELS` times the largest voxel size (nm, rounded to 0.001)."""
        largest = max(_spacing(spacing))
        return cls(tuple(round(multiple * largest, 3) for multiple in DEFAULT_SCALES_VOXELS))

    def groups(self) -> list[tuple[str, int]]:
        """``(name, channels)`` per filter in channel order: ``intensity``, then kind by kind, scale by scale."""
        return [("intensity", 1)] + [
            (f"{kind}_{_scale_name(scale)}", KINDS[kind]) for kind in self.kinds for scale in self.scales_nm
        ]

    def names(self) -> list[str]:
        """One name per channel: a filter's name, with ``_0``… (largest eigenvalue first) for 3 channels."""
        return [name if width == 1 else f"{name}_{i}" for name, width in self.groups() for i in range(width)]

    @property
    def count(self) -> int:
        """The number of channels."""
        return sum(width for _, width in self.groups())

    def halo(self, spacing: Sequence[float]) -> tuple[int, int, int]:
        """Voxels per axis (Z, Y, X) a block needs around it to get exactly the whole-array result."""
        return tuple(  # type: ignore[return-value]
            max(_reach(kind, scale / size) for kind in self.kinds for scale in self.scales_nm)
            for size in _spacing(spacing)
        )

    def to_dict(self) -> dict:
        """JSON-ready description; `FeatureBank.from_dict` reads it back."""
        return {"version": FEATURES_VERSION, "scales_nm": list(self.scales_nm), "kinds": list(self.kinds)}

    @classmethod
    def from_dict(cls, description: Any) -> FeatureBank:
        """The bank that `FeatureBank.to_dict` described."""
        if not isinstance(description, dict) or "scales_nm" not in description:
            raise VemprofError(
                "the feature bank description needs 'scales_nm' (and optionally 'kinds'); "
                "write it with FeatureBank.to_dict()"
            )
        version = description.get("version", FEATURES_VERSION)
        if version != FEATURES_VERSION:
            raise VemprofError(
                f"the feature bank is version {version!r} but this vemprof computes version "
                f"{FEATURES_VERSION}; retrain the classifier with this vemprof"
            )
        return cls(tuple(description["scales_nm"]), tuple(description.get("kinds", DEFAULT_KINDS)))


def _check_scales(scales: Any) -> tuple[float, ...]:
    try:
        values = sorted(float(s) for s in scales)
    except (TypeError, ValueError):
        raise VemprofError(f"scales_nm must be lengths in nm, e.g. (20, 50, 100), got {scales!r}") from None
    if not values:
        raise VemprofError("scales_nm is empty; give at least one Gaussian scale in nm, e.g. (20, 50, 100)")
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise VemprofError(f"scales_nm must be positive finite lengths in nm, got {tuple(values)}")
    if len({_scale_name(v) for v in values}) != len(values):
        raise VemprofError(f"scales_nm has a scale twice, got {tuple(values)}; give distinct scales")
    return tuple(values)


def _check_kinds(kinds: Any) -> tuple[str, ...]:
    given = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in given if k not in KINDS]
    if unknown or not given:
        raise VemprofError(
            f"unknown feature kind(s) {unknown or 'none given'}; choose from {', '.join(KINDS)}"
        )
    return tuple(kind for kind in KINDS if kind in given)


def _check_image(image: Any) -> None:
    if not hasattr(image, "ndim") or not hasattr(image, "dtype"):
        raise VemprofError(f"the image must be a numpy or dask array, got {type(image).__name__}")
    if image.ndim != 3 or 0 in image.shape:
        raise VemprofError(
            f"the image must be a non-empty 3D (Z, Y, X) array, got shape {tuple(image.shape)}; "
            "add a Z axis of length 1 for a single plane"
        )
    if image.dtype != bool and not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise VemprofError(f"the image must be real numbers, got dtype {image.dtype}")


def _as_float32(block: np.ndarray) -> np.ndarray:
    image = np.asarray(block, dtype=np.float32)
    if not np.isfinite(image).all():
        raise VemprofError("the image contains NaN or infinite values; replace them first, e.g. np.nan_to_num(image)")
    return image


def _reflect(index: int, size: int) -> int:
    """The input index that scipy's ``'reflect'`` boundary (half-sample symmetric, repeated) reads."""
    index %= 2 * size
    return index if index < size else 2 * size - 1 - index


def _along(array: np.ndarray, kernel: np.ndarray | None, axis: int, window: slice | None = None) -> np.ndarray:
    """One axis of a separable filter, at positions ``window`` (default all) along ``axis``.

    A correlation with scipy's ``'reflect'`` boundary at ``array``'s own faces, into a
    new float32 array (a view of ``array`` for no kernel), computed in slabs of Z
    planes (about `_SLAB` voxels, cache-sized) as float32 multiply-adds of whole shifted
    slabs; the kernel is symmetric or antisymmetric, so each pair of taps costs one
    multiply. Two to ten times faster than ``scipy.ndimage.correlate1d`` along Z and
    Y, whose line buffers stride across memory, and a little faster along X. Every voxel gets
    the same sequence of operations, so a block's core equals the whole array's.
    """
    size = array.shape[axis]
    window = window or slice(0, size)
    if kernel is None:
        return array[(slice(None),) * axis + (window,)]
    radius = len(kernel) // 2
    weights = kernel[radius:].astype(np.float32)
    pair = np.add if kernel[0] == kernel[-1] else np.subtract
    extended = np.array([_reflect(i, size) for i in range(window.start - radius, window.stop + radius)])
    shape = list(array.shape)
    shape[axis] = window.stop - window.start
    out = np.empty(shape, np.float32)
    step = max(1, _SLAB // (shape[1] * shape[2]))
    inside = window.start >= radius and window.stop + radius <= size  # no reflected voxel needed
    for start in range(0, shape[0], step):
        target = out[start : start + step]
        stop = start + len(target)
        lead = radius  # where, along ``axis``, ``source`` holds the first target voxel's centre tap
        if axis > 0 and inside:
            source, lead = array[start:stop], window.start
        elif axis > 0:
            source = np.take(array[start:stop], extended, axis=axis)
        elif window.start + start >= radius and window.start + stop + radius <= size:
            source = array[window.start + start - radius : window.start + stop + radius]
        else:
            source = np.take(array, extended[start : stop + 2 * radius], axis=0)

        def shifted(offset: int) -> np.ndarray:
            taps = [slice(None)] * 3
            taps[axis] = slice(lead + offset, lead + offset + target.shape[axis])
            return source[tuple(taps)]

        scratch = np.empty(target.shape, np.float32)
        np.multiply(shifted(0), weights[0], out=target)
        for offset in range(1, radius + 1):
            pair(shifted(offset), shifted(-offset), out=scratch)
            scratch *= weights[offset]
            target += scratch
    return out


def _gaussian_derivatives(
    image: np.ndarray,
    sigmas: Sequence[float],
    orders: set[tuple[int, int, int]],
    region: tuple[slice, ...],
) -> dict[tuple[int, int, int], np.ndarray]:
    """Scale-normalised Gaussian derivatives of ``image`` in ``region`` for each (z, y, x)
    order, sharing passes: each pass computes only what the later passes read."""
    kernels = [{order: _scaled_kernel(sigma, order) for order in range(3)} for sigma in sigmas]
    results = {}
    for oz in sorted({o[0] for o in orders}):
        along_z = _along(image, kernels[0][oz], 0, region[0])
        for oy in sorted({o[1] for o in orders if o[0] == oz}):
            along_zy = _along(along_z, kernels[1][oy], 1, region[1])
            for ox in sorted({o[2] for o in orders if o[:2] == (oz, oy)}):
                results[(oz, oy, ox)] = _along(along_zy, kernels[2][ox], 2, region[2])
    return results


def _smooth(image: np.ndarray, sigmas: Sequence[float], region: tuple[slice, ...]) -> np.ndarray:
    return _gaussian_derivatives(image, sigmas, {(0, 0, 0)}, region)[(0, 0, 0)]


def _grown(core: tuple[slice, ...], margins: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    """``core`` grown by ``margins`` voxels per axis, within ``shape``."""
    return tuple(slice(max(c.start - m, 0), min(c.stop + m, n)) for c, m, n in zip(core, margins, shape))


def _within(core: tuple[slice, ...], region: tuple[slice, ...]) -> tuple[slice, ...]:
    """``core`` in the coordinates of ``region`` (which holds it)."""
    return tuple(slice(c.start - r.start, c.stop - r.start) for c, r in zip(core, region))


def _eigenvalues_into(components: Sequence[np.ndarray], out: np.ndarray) -> None:
    """Eigenvalues, largest first, of symmetric 3×3 matrices, into ``out[0:3]``.

    ``components`` are (zz, yy, xx, zy, zx, yx) arrays of ``out``'s spatial shape
    (``out.shape[1:]``). The
    closed form for symmetric matrices (Smith 1961), in slabs along Z: the invariants
    in float64, the angle in float32 (four times faster than float64 trigonometry; the
    eigenvalues are off by at most about 3e-5 of the largest magnitude, where two of
    them nearly coincide).
    """
    step = max(1, _SLAB // (out.shape[2] * out.shape[3]))
    for start in range(0, out.shape[1], step):
        zz, yy, xx, zy, zx, yx = (c[start : start + step].astype(np.float64) for c in components)
        mean = (zz + yy + xx) / 3
        zz -= mean
        yy -= mean
        xx -= mean
        p = np.sqrt((zz * zz + yy * yy + xx * xx + 2 * (zy * zy + zx * zx + yx * yx)) / 6)
        det = zz * (yy * xx - yx * yx) - zy * (zy * xx - yx * zx) + zx * (zy * yx - yy * zx)
        cube = 2 * p * p * p
        ratio = np.divide(det, cube, out=np.zeros_like(det), where=cube > 0).astype(np.float32)
        cosine = np.cos(np.arccos(np.clip(ratio, -1, 1, out=ratio)) / np.float32(3))
        sine = np.sqrt(np.maximum(1 - cosine * cosine, 0))
        largest = mean + 2 * p * cosine
        smallest = mean - p * (cosine + np.float32(math.sqrt(3)) * sine)
        middle = np.clip(3 * mean - largest - smallest, smallest, largest)
        for channel, values in enumerate((largest, middle, smallest)):
            out[channel, start : start + step] = values


def _scale_channels(
    image: np.ndarray,
    scale_nm: float,
    *,
    spacing: Sequence[float],
    kinds: Sequence[str],
    core: tuple[slice, ...],
    output: Callable[[str], np.ndarray],
) -> None:
    """Compute every channel of one scale; ``output(name)`` gives the output view to fill.

    Only as much of ``image`` around ``core`` as this scale reaches is read, and the
    derivatives are computed on ``core`` plus the structure tensor's outer reach.
    """
    sigmas = [scale_nm / size for size in spacing]
    name = _scale_name(scale_nm)
    seen = _grown(core, [max(_reach(kind, s) for kind in kinds) for s in sigmas], image.shape)
    image, core = image[seen], _within(core, seen)
    outer = [STRUCTURE_OUTER_RATIO * s for s in sigmas]
    margins = [_radius(s, 0) if "structure" in kinds else 0 for s in outer]
    region = _grown(core, margins, image.shape)
    d = _gaussian_derivatives(image, sigmas, {o for kind in kinds for o in _ORDERS[kind]}, region)
    inner = _within(core, region)
    if "gaussian" in kinds:
        output(f"gaussian_{name}")[...] = d[(0, 0, 0)][inner]
    if "dog" in kinds:
        smaller = _smooth(image, [DOG_RATIO * s for s in sigmas], core)
        np.subtract(d[(0, 0, 0)][inner], smaller, out=output(f"dog_{name}"))
        del smaller
    d.pop((0, 0, 0), None)
    if "log" in kinds:
        laplacian = output(f"log_{name}")
        np.add(d[(2, 0, 0)][inner], d[(0, 2, 0)][inner], out=laplacian)
        laplacian += d[(0, 0, 2)][inner]
    if "hessian" in kinds:
        second = [d[o][inner] for o in _PURE_SECOND + _MIXED_SECOND]
        _eigenvalues_into(second, output(f"hessian_{name}"))
        del second
    for order in _PURE_SECOND + _MIXED_SECOND:
        d.pop(order, None)
    if "gradient" in kinds:
        squares = np.square(d[(1, 0, 0)][inner])
        squares += np.square(d[(0, 1, 0)][inner])
        squares += np.square(d[(0, 0, 1)][inner])
        np.sqrt(squares, out=output(f"gradient_{name}"))
        del squares
    if "structure" in kinds:
        gz, gy, gx = (d.pop(o) for o in _FIRST)
        tensor = [_smooth(a * b, outer, inner) for a, b in ((gz, gz), (gy, gy), (gx, gx), (gz, gy), (gz, gx), (gy, gx))]
        _eigenvalues_into(tensor, output(f"structure_{name}"))


def _features_block(
    block: np.ndarray, *, core: tuple[slice, ...], spacing: Sequence[float], bank: FeatureBank, workers: int
) -> np.ndarray:
    """The features of ``block[core]``, computed from ``block`` (core plus halo), channel
    first: (C, Z, Y, X) float32. Each channel is written whole and contiguous (channel
    last, every channel would stride over the whole output: ten times the memory traffic)."""
    image = _as_float32(block)
    out = np.empty((bank.count, *image[core].shape), np.float32)
    starts = np.cumsum([0] + [width for _, width in bank.groups()])
    views = {
        name: out[start] if width == 1 else out[start : start + width]
        for (name, width), start in zip(bank.groups(), starts)
    }
    views["intensity"][...] = image[core]
    group = {"spacing": spacing, "kinds": bank.kinds, "core": core, "output": views.__getitem__}
    largest_first = sorted(bank.scales_nm, reverse=True)
    if workers == 1:
        for scale in largest_first:
            _scale_channels(image, scale, **group)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(_scale_channels, image, scale, **group) for scale in largest_first]:
                done.result()
    return out


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def compute_features(image: np.ndarray, *, spacing: Sequence[float], bank: FeatureBank) -> np.ndarray:
    """The feature bank of a whole in-memory image.

    Parameters
    ----------
    image : (Z, Y, X) numpy array
        Intensities, any real dtype (booleans as 0/1), finite.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    bank : FeatureBank
        Which scales and kinds.

    Returns
    -------
    (Z, Y, X, C) float32 numpy array
        ``C = bank.count`` channels, named by ``bank.names()``. Peak memory about
        ``4 · (C + 14 · threads)`` bytes per voxel (one thread per core, at most one
        per scale).

    Notes
    -----
    Above about 8 M voxels prefer `features_dask` with chunks of 1–4 M voxels: its
    scratch is 14 arrays per running chunk rather than per thread of the whole volume,
    and arrays over glibc's mmap threshold (32 MiB) come fresh from the kernel in every
    one-axis pass (on 128 × 256 × 256 voxels, one thread: 5.0 s of system time beside
    5.8 s of computing).

    Examples
    --------
    >>> bank = FeatureBank((10, 20), kinds=("gaussian", "log"))
    >>> compute_features(np.zeros((4, 8, 8), np.uint8), spacing=(8, 5, 5), bank=bank).shape
    (4, 8, 8, 5)
    """
    if isinstance(image, da.Array):
        raise VemprofError("compute_features takes an in-memory image; use features_dask for a dask array")
    _check_image(image)
    spacing = _spacing(spacing)
    full = tuple(slice(0, n) for n in image.shape)
    workers = min(len(bank.scales_nm), _cores())
    return np.moveaxis(_features_block(image, core=full, spacing=spacing, bank=bank, workers=workers), 0, -1)


def features_dask(image: da.Array, *, spacing: Sequence[float], bank: FeatureBank) -> da.Array:
    """The feature bank of a dask image, lazily, block by block; equal to `compute_features` exactly.

    Each chunk is padded by ``bank.halo(spacing)`` (not padded at the volume's faces,
    where scipy's boundary applies as on the whole array) and computed on one thread;
    dask runs chunks in parallel. Chunks thinner than the halo are merged with a
    neighbour. Peak memory per running chunk of ``N`` voxels, ``P`` with its halo:
    about ``4 · (C·N + 14·P)`` bytes.

    Parameters
    ----------
    image : (Z, Y, X) dask array
        Intensities, any real dtype; NaN or inf raise `VemprofError` when computed.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    bank : FeatureBank
        Which scales and kinds.

    Returns
    -------
    (Z, Y, X, C) float32 dask array
        Chunked like ``image`` in space, one chunk along the ``C = bank.count`` channels.
    """
    image = da.asarray(image)
    _check_image(image)
    spacing = _spacing(spacing)

    def block(padded: np.ndarray, *, core: tuple[slice, ...]) -> np.ndarray:
        return np.moveaxis(_features_block(padded, core=core, spacing=spacing, bank=bank, workers=1), 0, -1)

    return map_channels_with_halo(block, image, halo=bank.halo(spacing), channels=bank.count, dtype=np.float32)
