"""The nucleus as an analytic signed distance in nm (negative inside).

Two ellipsoidal lobes of different size along the long axis, joined by a smooth union,
with gentle bumps (a smooth random field, cubic-interpolated so the surface shows no
facets). A cleft of cytoplasm (the invagination) runs along the gently waving, tilted
surface where the two lobes meet, from one side through most of the nucleus, leaving a
bridge. The small lobe's side of that surface is section 1, the large lobe's side
section 2. Distances are first-order accurate near the surface, where the envelope is
drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vemprof.errors import VemprofError
from vemprof.synth._fields import SmoothField
from vemprof.synth._grid import Box, Grid
from vemprof.synth._parameters import PhantomParameters

#: Blend radius of the smooth union of the two nuclear lobes, nm.
LOBE_BLEND_NM = 300.0
#: Distance between the lobe centres as a fraction of the sum of their long semi-axes.
_LOBE_SEPARATION = 0.6
#: Width of a lobe (semi-axis across the long axis) over its length (semi-axis along).
_LOBE_WIDTH_RATIO = 0.9
#: Halvings of an interval when solving for a position along an axis.
_BISECTIONS = 60
#: Tries to fit the nucleus into the outline, shrinking it by this factor each time.
_FIT_ATTEMPTS = 40
_FIT_SHRINK = 0.95
#: Amplitude of the junction's wave relative to its half-width, and its largest tilt
#: (nm along the long axis per nm along Z).
_CLEFT_WAVE = 0.12
_CLEFT_TILT = 0.25
#: Correlation length of the bumps on the nuclear surface, nm.
_NUCLEUS_BUMP_CORRELATION_NM = 1200.0
#: How many standard deviations of the bumps to leave room for.
BUMP_EXTREME = 2.0


def smooth_min(a: np.ndarray, b: np.ndarray, blend: float) -> np.ndarray:
    """Polynomial smooth minimum of two signed distances; equal to min(a, b) where they
    differ by more than ``blend`` nm."""
    h = np.clip(blend - np.abs(a - b), 0, None) / blend
    return np.minimum(a, b) - h * h * (blend / 4)


@dataclass(frozen=True)
class Lobe:
    """An ellipsoidal lobe of the nucleus: centre at ``u`` nm along the long axis, semi-axes
    along the long axis, across it, and along Z, nm."""

    u: float
    semi_u: float
    semi_v: float
    semi_z: float

    def sdf(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Approximate signed distance, exact on the surface to first order (nm)."""
        du = u - np.float32(self.u)
        k0 = np.sqrt((du / self.semi_u) ** 2 + (v / self.semi_v) ** 2 + (w / self.semi_z) ** 2)
        k1 = np.sqrt((du / self.semi_u**2) ** 2 + (v / self.semi_v**2) ** 2 + (w / self.semi_z**2) ** 2)
        # at the very centre the formula is 0/0; there the distance is the smallest semi-axis
        centre = np.float32(-min(self.semi_u, self.semi_v, self.semi_z))
        return np.where(k1 > 0, k0 * (k0 - 1) / np.maximum(k1, np.float32(1e-12)), centre)

    def top(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Height of the lobe's upper surface above its centre (nm); NaN outside its footprint."""
        inside = 1 - ((u - self.u) / self.semi_u) ** 2 - (v / self.semi_v) ** 2
        return np.where(inside >= 0, self.semi_z * np.sqrt(np.clip(inside, 0, None)), np.nan)


@dataclass(frozen=True)
class Junction:
    """The surface between the two lobes: u = u0 + amplitude · (sin(2πv/λ + φ) - sin φ) + tilt · w,
    a gently waving sheet across the long axis (nm)."""

    u0: float
    amplitude_nm: float
    wavelength_nm: float
    phase: float
    tilt: float

    def offset(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Signed distance (nm) from the junction, positive on the large lobe's side."""
        k = np.float32(2 * np.pi / self.wavelength_nm)
        angle = k * v + np.float32(self.phase)
        a = np.float32(self.amplitude_nm)
        shift = a * (np.sin(angle) - np.float32(np.sin(self.phase))) + np.float32(self.tilt) * w
        slope = a * k * np.cos(angle)
        return (u - np.float32(self.u0) - shift) / np.sqrt(1 + slope * slope + np.float32(self.tilt**2))


@dataclass(frozen=True)
class Nucleus:
    """Two lobes, a cleft between them along their junction, and bumps; coordinates
    (u, v, w) are along the long axis, across it, and along Z, from ``center_nm``
    (Z, Y, X), with the long axis at ``angle`` radians from the X axis."""

    center_nm: np.ndarray
    angle: float
    small: Lobe
    large: Lobe
    junction: Junction
    cleft_tip_v: float
    cleft_half_width: float
    bumps: SmoothField
    bump_amplitude_nm: float

    def frame(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) in nm of lateral positions ``y``, ``x`` (nm)."""
        dy = y - np.float32(self.center_nm[1])
        dx = x - np.float32(self.center_nm[2])
        cos, sin = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        return dx * cos + dy * sin, dy * cos - dx * sin

    def smooth_sdf(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Signed distance without the bumps (nm)."""
        union = smooth_min(self.small.sdf(u, v, w), self.large.sdf(u, v, w), LOBE_BLEND_NM)
        return np.maximum(union, -self.cleft_sdf(u, v, w))

    def cleft_sdf(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Signed distance to the cleft: a slab along the junction from the +v side to a
        rounded tip at ``cleft_tip_v`` (nm; negative inside the cleft)."""
        across = self.junction.offset(u, v, w)
        beyond_tip = np.clip(np.float32(self.cleft_tip_v) - v, 0, None)
        return np.sqrt(across * across + beyond_tip * beyond_tip) - np.float32(self.cleft_half_width)

    def sdf_on_grid(self, grid: Grid, box: Box) -> np.ndarray:
        """Signed distance to the nuclear surface (outer face of the outer membrane) at the
        voxel centres of ``box``, nm, float32."""
        z, y, x = grid.coordinates(box)
        u, v = self.frame(y, x)
        out = self.smooth_sdf(u, v, z - np.float32(self.center_nm[0]))
        out += np.float32(self.bump_amplitude_nm) * self.bumps.on_grid(box, grid.spacing)
        return out

    def sdf_at(self, points_nm: np.ndarray) -> np.ndarray:
        """Signed distance at points (n, 3) in nm (Z, Y, X); float32 (n,)."""
        points = np.asarray(points_nm, dtype=np.float32)
        u, v = self.frame(points[:, 1], points[:, 2])
        out = self.smooth_sdf(u, v, points[:, 0] - np.float32(self.center_nm[0]))
        return out + np.float32(self.bump_amplitude_nm) * self.bumps.at(points)

    def small_side_on_grid(self, grid: Grid, box: Box) -> np.ndarray:
        """True on the small lobe's side of the junction; bool of the box's shape."""
        z, y, x = grid.coordinates(box)
        u, v = self.frame(y, x)
        return self.junction.offset(u, v, z - np.float32(self.center_nm[0])) < 0

    def small_side_at(self, points_nm: np.ndarray) -> np.ndarray:
        points = np.asarray(points_nm, dtype=np.float32)
        u, v = self.frame(points[:, 1], points[:, 2])
        return self.junction.offset(u, v, points[:, 0] - np.float32(self.center_nm[0])) < 0

    def bounds_nm(self, margin_nm: float) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (Z, Y, X) bounds in nm of the nucleus grown by ``margin_nm``."""
        corners = []
        for lobe in (self.small, self.large):
            for su in (-1, 1):
                for sv in (-1, 1):
                    corners.append((lobe.u + su * lobe.semi_u, sv * lobe.semi_v))
        corners = np.asarray(corners)
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        xs = self.center_nm[2] + corners[:, 0] * cos - corners[:, 1] * sin
        ys = self.center_nm[1] + corners[:, 0] * sin + corners[:, 1] * cos
        half_z = self.large.semi_z
        low = np.array([self.center_nm[0] - half_z, ys.min(), xs.min()]) - margin_nm
        high = np.array([self.center_nm[0] + half_z, ys.max(), xs.max()]) + margin_nm
        return low, high


def build_nucleus(
    params: PhantomParameters,
    grid: Grid,
    *,
    center_yx_nm: tuple[float, float],
    angle: float,
    length_nm: float,
    lateral_sdf: np.ndarray,
    z_substrate_nm: float,
    height_nm: float,
    margin_nm: float,
    rng: np.random.Generator,
) -> Nucleus:
    """The nucleus of a cell whose bottom is at ``z_substrate_nm`` and which is ``height_nm``
    thick over it (towards lower Z), with ``margin_nm`` of cytoplasm above and below; its long axis of
    ``length_nm`` at ``angle`` radians from X through ``center_yx_nm``, shrunk until
    ``margin_nm`` of cytoplasm surrounds it inside the outline (``lateral_sdf``, (Y, X)).

    Raises `VemprofError` if the outline cannot hold it.
    """
    bump_room = BUMP_EXTREME * params.nucleus_irregularity_nm
    semi_z = (height_nm - 2 * margin_nm - 2 * bump_room) / 2
    center = np.array([z_substrate_nm - margin_nm - bump_room - semi_z, center_yx_nm[0], center_yx_nm[1]])
    ratio = params.nucleus_small_section_ratio
    length = length_nm
    bumps = SmoothField(np.zeros(3), grid.extent_nm, _NUCLEUS_BUMP_CORRELATION_NM, rng, interpolation="cubic")
    cleft_seed = int(rng.integers(2**63))
    y2, x2 = (np.arange(n, dtype=np.float32) * np.float32(s) for n, s in zip(grid.shape[1:], grid.spacing[1:]))
    y2, x2 = y2[:, None], x2[None, :]
    for _ in range(_FIT_ATTEMPTS):
        large_u = length / (1 + _LOBE_SEPARATION) / (1 + ratio)
        separation = _LOBE_SEPARATION * large_u * (1 + ratio)
        small_u0 = -(separation + large_u * (1 + ratio)) / 2 + ratio * large_u
        small = Lobe(small_u0, ratio * large_u, ratio * _LOBE_WIDTH_RATIO * large_u, ratio * semi_z)
        large = Lobe(small_u0 + separation, large_u, _LOBE_WIDTH_RATIO * large_u, semi_z)
        nucleus = _with_cleft(params, center, angle, small, large, bumps, np.random.default_rng(cleft_seed))
        u, v = nucleus.frame(y2, x2)
        footprint = nucleus.smooth_sdf(u, v, np.float32(0)) < bump_room
        if lateral_sdf[footprint].max() <= -margin_nm:
            return nucleus
        length *= _FIT_SHRINK
    raise VemprofError(
        "the cell outline is too narrow to hold the nucleus with cytoplasm around it; lower "
        "cell_outline_irregularity, nucleus_length_fraction or cytoplasm_margin_um"
    )


def _with_cleft(
    params: PhantomParameters, center, angle, small: Lobe, large: Lobe, bumps: SmoothField, rng: np.random.Generator
) -> Nucleus:
    """Place the junction where the two lobes' distances are equal on the axis between
    them, give it a gentle wave and tilt, and put the cleft's tip so that the cleft cuts
    the requested fraction of the junction."""
    low, high = small.u, large.u
    zero = np.float32(0)
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        point = np.float32(mid)
        if small.sdf(point, zero, zero) < large.sdf(point, zero, zero):
            low = mid
        else:
            high = mid
    straight = Junction((low + high) / 2, 0.0, 1.0, 0.0, 0.0)
    provisional = Nucleus(center, angle, small, large, straight, np.inf, 0.0, bumps, 0.0)
    low, high = 0.0, 2 * large.semi_v
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        inside = provisional.smooth_sdf(np.float32(straight.u0), np.float32(mid), zero) < 0
        low, high = (mid, high) if inside else (low, mid)
    half_width = low
    junction = Junction(
        straight.u0,
        _CLEFT_WAVE * half_width,
        2 * half_width,
        float(rng.uniform(0, 2 * np.pi)),
        float(rng.uniform(-_CLEFT_TILT, _CLEFT_TILT)),
    )
    tip = half_width * (1 - 2 * params.invagination_depth_fraction)
    return Nucleus(
        center, angle, small, large, junction, tip, params.invagination_width_nm / 2, bumps, params.nucleus_irregularity_nm
    )
