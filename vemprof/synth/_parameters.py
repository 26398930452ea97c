"""`PhantomParameters`: every knob of the phantom, in physical units, with its default.

Lengths are in nm (``_nm``) or µm (``_um``), densities per µm² or µm³; nothing is in
voxels, so a phantom keeps its physical size when ``shape`` or ``spacing`` change. Fields
left at None are derived from the field of view and reported, resolved, in
``Phantom.parameters``. A ``preset`` fills the parameters not given explicitly: 'hard'
(the defaults) or 'simple' (the previous phantom, see `PRESETS`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vemprof.errors import VemprofError


class PhantomParameters(BaseModel):
    """Parameters of a synthetic FIB-SEM volume of one HeLa-like cell.

    Defaults give the README example: a whole small cell in a (256, 512, 512) volume at
    25 × 20 × 20 nm (6.4 × 10.2 × 10.2 µm). Invalid values raise `VemprofError` with a
    one-line message that names the parameter and the fix.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- field of view --------------------------------------------------------------
    shape: tuple[int, int, int] = Field(
        (256, 512, 512), description="Volume size in voxels along (Z, Y, X)."
    )
    spacing: tuple[float, float, float] = Field(
        (25.0, 20.0, 20.0),
        description="Voxel size in nm along (Z, Y, X); at most half the pore diameter.",
    )
    seed: int = Field(0, ge=0, description="Random seed; the same parameters and seed give identical arrays.")
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Threads for distance transforms and image formation; None: all cores. Does not change "
        "the result.",
    )
    preset: Literal["hard", "simple"] = Field(
        "hard",
        description="'hard': the defaults (FIB-SEM imaging as the instrument gives it); 'simple': the "
        "previous phantom, identical images for the same seed (point spread (6, 4, 4) nm, contrast-to-noise 4, "
        "Gaussian shot noise, no detector noise, no slice jitter). Parameters given explicitly override the "
        "preset's values.",
    )

    # --- cell ------------------------------------------------------------------------
    cell_diameter_um: float | None = Field(
        None,
        gt=0,
        description="Mean diameter of the cell outline in µm; None: the largest that fits the field of view "
        "with a resin margin.",
    )
    cell_height_um: float | None = Field(
        None,
        gt=0,
        description="Thickness of the cell over the nucleus in µm; None: min(3.5 µm, 70% of the Z extent).",
    )
    cell_edge_thickness_um: float = Field(
        0.5, gt=0, description="Thickness of the thin spread edge (lamella) of the cell in µm."
    )
    cell_outline_irregularity: float = Field(
        0.1,
        ge=0,
        le=0.25,
        description="Standard deviation of the outline radius relative to its mean (smooth low-frequency "
        "lobes, angular orders 2-5); dimensionless.",
    )
    plasma_membrane_thickness_nm: float = Field(7.0, gt=0, le=30, description="Plasma membrane thickness in nm.")
    microvilli_density_per_um2: float = Field(
        0.6, ge=0, description="Microvilli per µm² of the upper cell surface (0: none)."
    )
    microvillus_length_um: float = Field(0.5, gt=0, description="Median microvillus length in µm (log-normal).")
    microvillus_diameter_nm: float = Field(90.0, gt=0, le=500, description="Microvillus diameter in nm.")

    # --- nucleus ---------------------------------------------------------------------
    nucleus_length_fraction: float = Field(
        0.6,
        gt=0.2,
        le=0.8,
        description="Long axis of the nucleus as a fraction of the cell diameter (reduced where the outline is "
        "too narrow to hold it).",
    )
    nucleus_small_section_ratio: float = Field(
        0.7,
        ge=0.4,
        le=0.95,
        description="Radii of the small, more curved lobe (section 1) relative to the large lobe (section 2); "
        "dimensionless.",
    )
    nucleus_irregularity_nm: float = Field(
        60.0, ge=0, le=500, description="Amplitude (standard deviation) of smooth bumps on the nuclear surface, nm."
    )
    cytoplasm_margin_um: float | None = Field(
        None,
        gt=0,
        description="Least cytoplasm thickness between the nucleus and the plasma membrane in µm; None: 20% "
        "of the cell thickness, at least 0.3 µm.",
    )
    invagination_width_nm: float = Field(
        250.0,
        ge=60,
        le=1000,
        description="Width of the cytoplasmic cleft between the two nuclear lobes, outer membrane to outer "
        "membrane, nm (HeLa 100-500).",
    )
    invagination_depth_fraction: float = Field(
        0.75,
        gt=0,
        lt=1,
        description="Fraction of the junction between the lobes that the cleft cuts; the rest is the bridge "
        "joining them; dimensionless.",
    )
    nuclear_membrane_thickness_nm: float = Field(
        7.5, gt=0, le=20, description="Thickness of each nuclear membrane (inner and outer), nm (6-9)."
    )
    perinuclear_space_nm: float = Field(
        30.0, gt=0, le=100, description="Gap between the inner and outer nuclear membranes, nm (20-50)."
    )
    heterochromatin_thickness_nm: float = Field(
        110.0, ge=0, le=500, description="Mean thickness of the dark heterochromatin layer lining the envelope, nm."
    )
    heterochromatin_coverage: float = Field(
        0.6, ge=0, le=1, description="Fraction of the envelope lined by heterochromatin (outside the pore pockets)."
    )
    n_nucleoli: int = Field(2, ge=0, le=6, description="Number of nucleoli (0: none).")
    nucleolus_diameter_um: float = Field(
        0.8, gt=0, description="Mean nucleolus diameter in µm (smaller where the nucleus is too thin to hold it)."
    )

    # --- nuclear pores ---------------------------------------------------------------
    pore_density_small_per_um2: float = Field(
        10.0, ge=0, description="Nuclear pores per µm² of envelope on the small section (1); HeLa 5-12."
    )
    pore_density_large_per_um2: float = Field(
        7.0, ge=0, description="Nuclear pores per µm² of envelope on the large section (2); HeLa 5-12."
    )
    pore_diameter_nm: float = Field(120.0, gt=0, le=300, description="Outer diameter of a nuclear pore complex, nm.")
    pore_height_nm: float = Field(
        80.0, gt=0, le=300, description="Height of a pore complex across the envelope, nm (70-80)."
    )
    pore_min_spacing_nm: float = Field(
        150.0, gt=0, description="Least centre-to-centre distance between pores (hard core), nm."
    )
    pocket_diameter_nm: float = Field(
        200.0, gt=0, le=1000, description="Diameter of the low-density pocket under each pore, nm (~200)."
    )
    pocket_depth_nm: float = Field(
        100.0, gt=0, le=1000, description="Depth of the pocket below the inner nuclear membrane, nm (~100)."
    )

    # --- mitochondria ----------------------------------------------------------------
    n_mitochondria: int | None = Field(
        None,
        ge=1,
        description="Number of mitochondria; None: as many as `mitochondria_volume_fraction` holds at the "
        "typical radius `mitochondria_radius_nm`. Given a number, the radius scale follows from the fraction "
        "and `mitochondria_radius_nm` is not used.",
    )
    mitochondria_volume_fraction: float = Field(
        0.07, gt=0, le=0.3, description="Mitochondrial volume as a fraction of the cytoplasm volume (HeLa 0.05-0.10)."
    )
    mitochondria_radius_nm: float = Field(
        130.0,
        gt=0,
        description="Radius of a mitochondrion extrapolated to zero distance from the nearer membrane, nm; "
        "used when `n_mitochondria` is None.",
    )
    mitochondria_radius_gradient_per_um: float = Field(
        0.8,
        ge=-0.9,
        le=5,
        description="Relative radius change per µm of distance from the nearer membrane (nuclear envelope or "
        "plasma membrane): radius = r0 · (1 + gradient · distance) · noise. Positive: thicker deeper in the "
        "cytoplasm, so surface-to-volume falls with distance (negative correlation); 0: no coupling; "
        "negative: the reverse, weaker, since thick mitochondria cannot sit close to a membrane.",
    )
    mitochondria_radius_noise: float = Field(
        0.1, ge=0, le=1, description="Log-normal sigma of the radius around that trend; dimensionless."
    )
    mitochondria_aspect_ratio: float = Field(
        8.0, ge=1, le=50, description="Median length over diameter of a mitochondrion; dimensionless."
    )
    mitochondria_branch_fraction: float = Field(
        0.25, ge=0, le=1, description="Fraction of mitochondria with one side branch."
    )
    mitochondria_gap_nm: float = Field(
        40.0, ge=0, description="Least gap between two mitochondria, and between a mitochondrion and a membrane, nm."
    )
    mitochondria_contact_fraction: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Share of mitochondria placed against one already placed: they start beside it, run "
        "alongside and touch it (outer membranes in contact, no gap; separate labels). Preset 'simple': 0.",
    )
    crista_spacing_nm: float = Field(
        70.0, ge=30, le=300, description="Mean spacing of the lamellar cristae along a mitochondrion, nm (40-100)."
    )
    crista_spacing_variation: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Log-normal sigma of each mitochondrion's own mean crista spacing around "
        "`crista_spacing_nm` (0.2: most between 50 and 100 nm); dimensionless. Preset 'simple': 0.",
    )
    crista_spacing_spread: float = Field(
        0.35,
        ge=0,
        le=1,
        description="Standard deviation of the gap between consecutive cristae relative to the "
        "mitochondrion's mean spacing (gaps clipped at half of it); dimensionless. Preset 'simple': 0.25.",
    )
    crista_tilt_deg: float = Field(
        10.0,
        ge=0,
        le=45,
        description="Standard deviation of each crista's tilt away from perpendicular to the long axis, "
        "degrees (clipped at 2.5 standard deviations). Preset 'simple': 0.",
    )
    crista_sag_nm: float = Field(
        10.0,
        ge=0,
        le=100,
        description="Standard deviation of how far a crista's edge bows out of the plane through its middle "
        "(curved cristae), nm. Preset 'simple': 0.",
    )
    crista_width_range: tuple[float, float] = Field(
        (0.4, 1.0),
        description="Least and most share of the inner diameter a crista spans along its plane, in the "
        "direction across the one it reaches in from the inner membrane (drawn per crista; less than 1: "
        "cut or fenestrated lamellae, interrupted in a section); dimensionless, in (0, 1]. Preset 'simple': "
        "(1, 1).",
    )
    crista_contrast_range: tuple[float, float] = Field(
        (0.2, 0.75),
        description="Least and most strength of the cristae (their membranes and light lumen) relative to "
        "full contrast against the matrix, drawn per mitochondrion (faint to clear cristae); dimensionless, "
        "in [0, 1]. Preset 'simple': (1, 1).",
    )
    mitochondria_matrix_stain_range: tuple[float, float] = Field(
        (0.32, 0.52),
        description="Least and most stain density of the mitochondrial matrix, drawn per mitochondrion "
        "(dimensionless stain scale of `_stain`: resin 0, cytosol 0.30, membranes 1.8): from barely darker than "
        "cytosol (then told apart by its membranes and cristae) to clearly darker. Preset 'simple': "
        "(0.62, 0.62).",
    )

    # --- cytosol -----------------------------------------------------------------------
    cytosol_density_variation: float = Field(
        0.25,
        ge=0,
        le=0.5,
        description="Relative standard deviation of the cytosol's stain density over regions of about 1.5 µm "
        "(denser, ribosome-rich cytoplasm beside paler regions, and uneven en-bloc staining), so that grey "
        "level alone does not tell mitochondrial matrix from cytosol; dimensionless. Preset 'simple': 0.",
    )

    # --- distractors -----------------------------------------------------------------
    er: bool = Field(True, description="Draw endoplasmic reticulum sheets and tubules (not labelled).")
    er_coverage: float = Field(
        0.6, ge=0, le=1, description="Fraction of the cytoplasm that holds ER. Preset 'simple': 0.35."
    )
    er_lumen_nm: float = Field(40.0, gt=0, le=200, description="Width of the ER lumen, nm (40-70).")
    er_orientation: Literal["isotropic", "flat"] = Field(
        "isotropic",
        description="'isotropic': ER sheets and tubules run in all directions (many thin double-membrane "
        "profiles in any section); 'flat': sheets mostly parallel to the substrate, in loose stacks. "
        "Preset 'simple': 'flat'.",
    )
    vesicles: bool = Field(True, description="Draw vesicles with a dark rim (not labelled).")
    vesicle_density_per_um3: float = Field(
        4.0, ge=0, description="Vesicles per µm³ of cytoplasm. Preset 'simple': 2."
    )
    vesicle_diameter_min_nm: float = Field(25.0, gt=0, description="Smallest vesicle diameter, nm.")
    vesicle_diameter_max_nm: float = Field(500.0, gt=0, description="Largest vesicle diameter, nm (log-uniform).")

    # --- crowded cytoplasm (labelled in `organelles`, see `_compartments`) -------------
    # Densities are per µm³ of cytoplasm (Poisson counts); diameters (least, most) nm,
    # log-uniform. Preset 'simple': all densities 0 (none of these structures).
    lysosome_density_per_um3: float = Field(
        0.45, ge=0, le=20, description="Lysosomes per µm³ of cytoplasm: round, dense, heterogeneous content."
    )
    lysosome_diameter_nm: tuple[float, float] = Field((200.0, 800.0), description="Lysosome diameters, nm (200-800).")
    multivesicular_body_density_per_um3: float = Field(
        0.2, ge=0, le=20, description="Multivesicular bodies per µm³ of cytoplasm: a membrane around small vesicles."
    )
    multivesicular_body_diameter_nm: tuple[float, float] = Field(
        (250.0, 600.0), description="Multivesicular body diameters, nm."
    )
    lipid_droplet_density_per_um3: float = Field(
        0.05, ge=0, le=20, description="Lipid droplets per µm³ of cytoplasm: homogeneous, round, no bilayer."
    )
    lipid_droplet_diameter_nm: tuple[float, float] = Field(
        (200.0, 1500.0), description="Lipid droplet diameters, nm (200-2000)."
    )
    endosome_density_per_um3: float = Field(
        1.5, ge=0, le=50, description="Endosomes per µm³ of cytoplasm: membrane-bound, lumen light to dark."
    )
    endosome_diameter_nm: tuple[float, float] = Field((100.0, 600.0), description="Endosome diameters, nm.")
    endosome_dark_fraction: float = Field(
        0.3, ge=0, le=1, description="Share of endosomes whose lumen is as dark as mitochondrial matrix or darker."
    )
    golgi_stack_density_per_um3: float = Field(
        0.06, ge=0, le=5, description="Golgi stacks per µm³ of cytoplasm: stacked, curved cisternae with rim vesicles."
    )
    golgi_stack_width_nm: float = Field(
        900.0, ge=200, le=3000, description="Length of the longest cisterna of a Golgi stack, nm (0.5-1.5 µm)."
    )
    golgi_cisternae: tuple[int, int] = Field((3, 6), description="Least and most cisternae per Golgi stack (1-10).")
    ribosome_density_per_um3: float = Field(
        3000.0,
        ge=0,
        le=30000,
        description="Ribosomes per µm³ of cytoplasm (HeLa ~3000-5000), half of them in short polysome chains: "
        "granular cytosol texture. Drawn as texture, not labelled.",
    )
    ribosome_diameter_nm: float = Field(25.0, ge=10, le=40, description="Ribosome diameter, nm (20-30).")
    filament_length_per_um3: float = Field(
        6.0,
        ge=0,
        le=100,
        description="Faint cytoskeletal filaments (microtubules, actin bundles), µm of filament per µm³ of "
        "cytoplasm; long, gently curved lines. Texture, not labelled.",
    )

    # --- image formation -------------------------------------------------------------
    psf_sigma_nm: tuple[float, float, float] = Field(
        (20.0, 10.0, 10.0),
        description="Gaussian sigma of the point spread along (Z, Y, X), nm: laterally the beam and the "
        "interaction volume, in Z the milled slice and the depth the back-scattered electrons come from, so "
        "larger than laterally. The voxel box average is added to it; layers are drawn already blurred "
        "(see `_profiles`), so the image is not blurred again. Preset 'simple': (6, 4, 4).",
    )
    contrast_to_noise: float = Field(
        3.0,
        gt=0,
        description="Contrast-to-noise between nuclear-envelope voxels and cytosol: their mean difference over "
        "the noise standard deviation (shot plus detector noise) in cytosol; sets the electron dose (FIB-SEM "
        "3-6). Preset 'simple': 4.",
    )
    shot_noise: Literal["poisson", "gaussian"] = Field(
        "poisson",
        description="'poisson': detected electrons per voxel drawn from a Poisson distribution at the dose "
        "that meets `contrast_to_noise`, after the brightness drift, curtaining and slice geometry; "
        "'gaussian': its normal approximation (variance proportional to the signal) drawn before drift and "
        "curtaining, as the previous phantom did. Preset 'simple': 'gaussian'.",
    )
    read_noise_electrons: float = Field(
        4.0,
        ge=0,
        le=1000,
        description="Standard deviation of the Gaussian detector (read) noise added to each voxel's count, in "
        "detected electrons; the dose is raised so that the total noise still meets `contrast_to_noise`. "
        "0: shot noise only. Preset 'simple': 0.",
    )
    brightness_drift: float = Field(
        0.03, ge=0, le=0.5, description="Largest slow slice-to-slice brightness change along Z, relative (0.01-0.05)."
    )
    curtaining: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description="Relative strength of curtaining stripes at the far Y edge; they run along Y (milling "
        "direction), vary across X and grow with Y.",
    )
    slice_position_jitter: float = Field(
        0.05,
        ge=0,
        le=0.3,
        description="Standard deviation of each milled face's Z position about its nominal place, relative to "
        "the Z spacing (uneven slice thickness; clipped at 3 standard deviations). The image is sampled at the "
        "jittered positions, the labels stay on the nominal grid; the offsets are in the table "
        "`slice_shifts` (dz_nm). 0: none. Preset 'simple': 0.",
    )
    slice_shift_jitter_nm: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="Standard deviation of a random translation of each slice in Y and in X, nm (an unaligned "
        "stack). The image is shifted, the labels are not; the true shifts are in the table `slice_shifts` "
        "(dy_nm, dx_nm). 0: aligned.",
    )
    slice_shift_drift_nm: tuple[float, float] = Field(
        (0.0, 0.0),
        description="Steady drift of the field from slice to slice along (Y, X), nm per slice, added to "
        "`slice_shift_jitter_nm` (slice z is shifted by z times it). The image is shifted, the labels are not. "
        "(0, 0): none.",
    )
    contrast: Literal["em", "backscatter"] = Field(
        "em",
        description="'em': display convention, membranes and stained structures dark, resin light; "
        "'backscatter': raw detector contrast, membranes bright.",
    )
    dtype: Literal["uint8", "uint16"] = Field(
        "uint8",
        description="Image type: 'uint8' fills the 8-bit range; 'uint16' is raw-like, signal in a narrow band "
        "(about 24,000-34,000) of the 16-bit range.",
    )
    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise VemprofError(_one_line(error, type(self))) from None

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        """Fill the parameters not given explicitly from the preset."""
        if isinstance(data, dict) and isinstance(data.get("preset", "hard"), str):
            return {**PRESETS.get(data.get("preset", "hard"), {}), **data}
        return data

    def with_changes(self, **changes: Any) -> PhantomParameters:
        """These parameters with ``changes`` applied. Under a new ``preset``, the values that
        came from the old preset follow the new one; values set to anything else are kept."""
        values = self.model_dump()
        if changes.get("preset", self.preset) != self.preset:
            for name in _PRESET_FIELDS:
                if values[name] == PRESETS[self.preset].get(name, type(self).model_fields[name].default):
                    del values[name]
        return type(self)(**{**values, **changes})

    @field_validator("shape")
    @classmethod
    def _shape_positive(cls, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        if any(n < 8 for n in shape):
            raise VemprofError(f"shape {shape} is too small: every axis needs at least 8 voxels; give e.g. (256, 512, 512)")
        return shape

    @model_validator(mode="after")
    def _ranges_in_order(self) -> PhantomParameters:
        _check_order(
            self.vesicle_diameter_min_nm, self.vesicle_diameter_max_nm, "vesicle_diameter_min_nm", "vesicle_diameter_max_nm"
        )
        _check_order(self.pore_diameter_nm, self.pocket_diameter_nm, "pore_diameter_nm", "pocket_diameter_nm")
        for name, low, high in (
            ("crista_width_range", 0.05, 1.0),
            ("crista_contrast_range", 0.0, 1.0),
            ("mitochondria_matrix_stain_range", 0.0, 1.8),
            ("lysosome_diameter_nm", 20.0, 3000.0),
            ("multivesicular_body_diameter_nm", 100.0, 3000.0),
            ("lipid_droplet_diameter_nm", 20.0, 5000.0),
            ("endosome_diameter_nm", 20.0, 3000.0),
            ("golgi_cisternae", 1, 10),
        ):
            _check_range(getattr(self, name), low, high, name)
        return self

    @field_validator("slice_shift_drift_nm")
    @classmethod
    def _drift_finite(cls, values: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(v) and abs(v) <= 100 for v in values):
            raise VemprofError(
                f"slice_shift_drift_nm must be 2 drifts in nm per slice (Y, X), each within ±100, got {values}; "
                "give e.g. slice_shift_drift_nm=(2, -1)"
            )
        return values

    @field_validator("spacing", "psf_sigma_nm")
    @classmethod
    def _lengths_positive(cls, values: tuple[float, float, float], info: Any) -> tuple[float, float, float]:
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise VemprofError(
                f"{info.field_name} must be 3 positive lengths in nm (Z, Y, X), got {values}; "
                f"give e.g. {info.field_name}={cls.model_fields[info.field_name].default}"
            )
        return values


#: Values each preset gives the parameters not given explicitly; 'hard' is the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "hard": {},
    "simple": {
        "psf_sigma_nm": (6.0, 4.0, 4.0),
        "contrast_to_noise": 4.0,
        "shot_noise": "gaussian",
        "read_noise_electrons": 0.0,
        "slice_position_jitter": 0.0,
        "crista_spacing_variation": 0.0,
        "crista_spacing_spread": 0.25,
        "crista_tilt_deg": 0.0,
        "crista_sag_nm": 0.0,
        "crista_width_range": (1.0, 1.0),
        "crista_contrast_range": (1.0, 1.0),
        "mitochondria_matrix_stain_range": (0.62, 0.62),
        "mitochondria_contact_fraction": 0.0,
        "cytosol_density_variation": 0.0,
        "er_coverage": 0.35,
        "vesicle_density_per_um3": 2.0,
        "er_orientation": "flat",
        "lysosome_density_per_um3": 0.0,
        "multivesicular_body_density_per_um3": 0.0,
        "lipid_droplet_density_per_um3": 0.0,
        "endosome_density_per_um3": 0.0,
        "golgi_stack_density_per_um3": 0.0,
        "ribosome_density_per_um3": 0.0,
        "filament_length_per_um3": 0.0,
    },
}
_PRESET_FIELDS = sorted({name for values in PRESETS.values() for name in values})


def _check_range(values: tuple[float, float], low: float, high: float, name: str) -> None:
    if not all(math.isfinite(v) and low <= v <= high for v in values) or values[0] > values[1]:
        raise VemprofError(
            f"{name} must be (least, most) with {low:g} <= least <= most <= {high:g}, got {values}; "
            f"give e.g. {name}={PhantomParameters.model_fields[name].default}"
        )


def _check_order(low: float, high: float, low_name: str, high_name: str) -> None:
    if low > high:
        raise VemprofError(f"{low_name}={low:g} is above {high_name}={high:g}; swap them or make them equal")


def _one_line(error: ValidationError, model: type[BaseModel]) -> str:
    """The first pydantic error as one line: parameter, problem, value, and what it means."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "parameters"
    field = model.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    meaning = f"; {name}: {field.description}" if field is not None and field.description else ""
    if first["type"] == "extra_forbidden":
        return f"unknown phantom parameter {name!r}; see PhantomParameters for the names"
    return f"phantom parameter {name}: {first['msg'].lower()}, got {first.get('input')!r}{meaning}"
