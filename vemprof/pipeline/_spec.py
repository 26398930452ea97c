"""Pipelines as files: the steps of the workflow, with their parameters, in YAML.

A pipeline names the steps of the published workflow in the order they run — ``import``,
``cell`` (cell vs resin), ``organelles`` (nucleus and mitochondria, with their clean-up),
``measure``, ``distances``, ``statistics``, ``pores``, ``distribution``, ``report`` —
each at most once, each with its parameters (lengths in nm, ``_um`` where the name says
so) and its models by path (relative to the pipeline file). `load_pipeline` validates a
file with pydantic and refuses a bad one in one line that gives the file, the line, the
step, the field and what is allowed. `DEFAULT_PIPELINE` (``default.yaml``, shipped with the
package) is the published workflow end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vemprof.errors import VemprofError

#: The published workflow, end to end (see its comments).
DEFAULT_PIPELINE = Path(__file__).with_name("default.yaml")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImportStep(_Step):
    """A microscope's stack (TIFF, MRC, HDF5) into the store; skipped for a store."""

    step: Literal["import"]
    voxel_size_nm: tuple[float, float, float] | None = Field(
        None, description="(Z, Y, X) voxel size in nm, where the stack's metadata has none")

    @field_validator("voxel_size_nm")
    @classmethod
    def _positive(cls, value):
        if value is not None and min(value) <= 0:
            raise ValueError("every voxel size must be above 0 nm")
        return value


class CellStep(_Step):
    """Cell vs resin: a random forest trained on the scribbles ``annotations`` (or ``model``)."""

    step: Literal["cell"]
    annotations: str = Field("cell_scribbles", description="the scribbles' annotation image")
    model: Path | None = Field(None, description="a trained forest to use instead of training one")
    level: int = Field(2, ge=0, description="the pyramid level (coarser: faster; cell vs resin needs no detail)")
    trees: int = Field(100, ge=1, description="the forest's trees")
    each_cell: bool = Field(False, description="keep every cell of a volume of many (tissue, a field), not only "
                                               "the largest")


class OrganellesStep(_Step):
    """Nucleus and mitochondria: the 2D U-Net trained on the partly painted planes of
    ``annotations`` (or ``model``), its label images cleaned up (instances split)."""

    step: Literal["organelles"]
    annotations: str = Field("organelle_annotations", description="the painted planes' annotation image")
    model: Path | None = Field(None, description="a trained U-Net to use instead of training one")
    max_minutes: float = Field(10.0, gt=0, description="the longest training, minutes")
    max_iterations: int = Field(5000, ge=1, description="the most training steps (a fixed amount of training)")
    rotations: tuple[float, ...] = Field((), description="degrees of rotated training planes, e.g. [30, 60, 90]")
    within: str | None = Field("cell", description="the label image organelles are kept inside: the cell step's "
                                                   "cell mask (null: anywhere)")
    cleanup: dict[str, dict[str, float | str]] = Field(
        {}, description="clean-up overrides by class, e.g. {mitochondria: {neck_ratio: 0.5}}; "
                        "{nucleus: {kind: nuclei}} keeps every nucleus of a volume of many cells")

    @field_validator("cleanup")
    @classmethod
    def _cleanup(cls, value):
        from vemprof.learn._cleanup import cleanup_parameters

        for name, parameters in value.items():
            try:
                cleanup_parameters(name, parameters)
            except VemprofError as error:
                raise ValueError(str(error)) from None
        return value


class MeasureStep(_Step):
    """Object tables: volume, surface, S/V, shape, intensity, % of cell and cytoplasm."""

    step: Literal["measure"]
    labels: tuple[str, ...] = Field(("nucleus", "mitochondria"), min_length=1, description="label images measured")
    cell: str = Field("cell", description="the cell's label image")
    nucleus: str = Field("nucleus", description="the nucleus's label image")


class DistancesStep(_Step):
    """Distances of each object to the nuclear envelope and the plasma membrane, and to
    its nearest neighbour."""

    step: Literal["distances"]
    labels: str = Field("mitochondria", description="the objects")
    cell: str = Field("cell", description="the cell's label image (its surface: the plasma membrane)")
    nucleus: str = Field("nucleus", description="the nucleus's label image (its surface: the envelope)")
    to: str | None = Field("mitochondria", description="the objects whose nearest one each gets (None: none)")
    radius_um: float = Field(1.0, gt=0, description="neighbours counted within this, µm")


class StatisticsStep(_Step):
    """Correlations of pairs of columns of an object table (Pearson, Spearman, r, p, n)."""

    step: Literal["statistics"]
    table: str = Field("mitochondria", description="the object table")
    correlate: tuple[tuple[str, str], ...] = Field(
        (("dist_nearer_membrane_um", "sv_ratio_per_um"), ("dist_envelope_um", "sv_ratio_per_um"),
         ("dist_plasma_membrane_um", "sv_ratio_per_um")), min_length=1, description="pairs of columns [x, y]")


class PoresStep(_Step):
    """The nuclear pores: pockets by 3D operations, pore masks, the 3D-aware pore model."""

    step: Literal["pores"]
    nucleus: str = Field("nucleus", description="the nucleus's label image")
    contrast: Literal["auto", "em", "backscatter"] = "auto"
    pockets_chain: Path | None = Field(None, description="an edited copy of vemprof/workflows/pockets.yaml")
    pore_radius_nm: float = Field(60.0, gt=0, description="a pore's radius on the envelope, nm")
    model: Path | None = Field(None, description="a trained pore model to use instead of training one")
    train_minutes: float = Field(5.0, gt=0, description="the longest training, minutes")
    rotations: tuple[float, ...] = Field((30.0, 60.0, 90.0), description="degrees; [] for Z planes only")
    threshold: float = Field(0.5, gt=0, lt=1, description="the least smoothed probability of a pore")
    confirmed: float = Field(0.2, gt=0, lt=1, description="the least where a pore mask lies within a pore radius")
    axes: Literal["auto", "z", "zyx"] = Field("auto", description="the planes the pore model reads, averaged; auto: "
                                              "Z, Y and X planes for a model trained with 90° rotations, else Z")
    each_nucleus: bool = Field(False, description="the nucleus image holds several nuclei (a volume of many cells)")

    @field_validator("rotations")
    @classmethod
    def _angles(cls, value):
        if not all(0 < angle <= 90 for angle in value):
            raise ValueError("each must lie in (0, 90] degrees")
        return value


class DistributionStep(_Step):
    """Where the pores lie: kNN, KDE, density per µm² per nucleus section, the t-test."""

    step: Literal["distribution"]
    nucleus: str = Field("nucleus", description="the nucleus's label image")
    pores: str = Field("pores", description="the pores' label image (as the pores step names it)")
    k: int = Field(8, ge=1, description="neighbours of the mean kNN distance")
    bandwidth_um: float = Field(0.1, gt=0, description="the KDE's bandwidth, µm")
    each_nucleus: bool = Field(False, description="several nuclei: each split into its own two sections")


class ReportStep(_Step):
    """The self-contained HTML report, with the tables as Parquet and CSV beside it."""

    step: Literal["report"]


Step = Annotated[Union[ImportStep, CellStep, OrganellesStep, MeasureStep, DistancesStep, StatisticsStep, PoresStep,
                       DistributionStep, ReportStep], Field(discriminator="step")]
#: The steps in the order a pipeline runs them.
ORDER = ("import", "cell", "organelles", "measure", "distances", "statistics", "pores", "distribution", "report")


class Pipeline(BaseModel):
    """A pipeline: a name and its steps (each at most once, in `ORDER`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1)
    steps: tuple[Step, ...] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _ordered(self):
        kinds = [step.step for step in self.steps]
        repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if repeated:
            raise ValueError(f"step {repeated[0]!r} appears twice; give each step once")
        if kinds != sorted(kinds, key=ORDER.index):
            raise ValueError(f"the steps must run in the order {', '.join(k for k in ORDER if k in kinds)}")
        return self


def load_pipeline(path: str | Path) -> Pipeline:
    """The pipeline in the YAML file at ``path``, validated; models' paths are made
    relative to the file's folder and must exist. A bad file raises `VemprofError`:
    ``FILE line N: steps[i] (kind) field: problem; allowed: …``."""
    path = Path(path)
    if not path.is_file():
        raise VemprofError(f"no pipeline file {path}; write one (vemprof pipeline show > {path.name}) or fix the path")
    text = path.read_text()
    try:
        tree = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise VemprofError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    if not isinstance(document, dict):
        raise VemprofError(f"{path}: a pipeline is a YAML mapping with 'name' and 'steps'; see vemprof pipeline show")
    try:
        pipeline = Pipeline.model_validate(document)
    except ValidationError as error:
        raise VemprofError(_one_line(error, path, tree)) from None
    for index, step in enumerate(pipeline.steps):
        for field in ("model", "pockets_chain"):
            given = getattr(step, field, None)
            if given is None:
                continue
            resolved = given if given.is_absolute() else path.parent / given
            if not resolved.exists():
                line = _line(tree, ("steps", index, field))
                hint = "remove it to train one" if field == "model" else "remove it for the shipped chain"
                raise VemprofError(f"{path} line {line}: steps[{index}] ({step.step}) {field}: {given} does not "
                                   f"exist; fix the path or {hint}")
            pipeline = _with_step(pipeline, index, step.model_copy(update={field: resolved}))
    return pipeline


def pipeline_text(path: str | Path = DEFAULT_PIPELINE) -> str:
    """The pipeline file's text (the default: the published workflow), comments included."""
    return Path(path).read_text()


def _with_step(pipeline: Pipeline, index: int, step: _Step) -> Pipeline:
    steps = list(pipeline.steps)
    steps[index] = step
    return pipeline.model_copy(update={"steps": tuple(steps)})


def _one_line(error: ValidationError, path: Path, tree) -> str:
    """The first pydantic error as one line with the file's line, the step and the field."""
    first = error.errors()[0]
    loc = [part for part in first["loc"] if part not in ORDER]  # drop the union's tag
    line = _line(tree, loc)
    at = f"{path} line {line}" if line else str(path)
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step = (first.get("input") if len(loc) == 2 else None) or {}
        kind = _step_kind(tree, loc[1])
        field = ".".join(str(part) for part in loc[2:])
        name = f"steps[{loc[1]}]" + (f" ({kind})" if kind else "") + (f" {field}" if field else "")
        model = _STEP_MODELS.get(kind)
        if first["type"] == "union_tag_invalid":
            return f"{at}: {name}: unknown step {step.get('step')!r}; allowed: {', '.join(ORDER)}"
        if first["type"] == "union_tag_not_found":
            return f"{at}: {name}: each step needs 'step:', one of {', '.join(ORDER)}"
        if first["type"] == "extra_forbidden" and model is not None:
            allowed = ", ".join(f for f in model.model_fields if f != "step")
            return f"{at}: {name}: unknown field; allowed: {allowed or 'none'}"
        return f"{at}: {name}: {_message(first)}"
    if first["type"] == "extra_forbidden":
        return f"{at}: unknown field {'.'.join(map(str, loc))!r}; a pipeline has 'name' and 'steps'"
    field = ".".join(str(part) for part in loc) or "pipeline"
    return f"{at}: {field}: {_message(first)}"


def _message(error: dict) -> str:
    """pydantic's message, lower-cased, with the value given and, for a choice, the allowed values."""
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) else f", got {given!r}"
    return f"{message[0].lower()}{message[1:]}{shown}"


def _line(tree, loc) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (keys and indices), or of the deepest
    node found on the way."""
    node, line = tree, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
            if node is None:  # a missing field: the line of the mapping that lacks it
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else line


def _step_kind(tree, index: int) -> str | None:
    """The ``step:`` of the index-th step in the YAML tree, if it names one."""
    steps = next((value for key, value in getattr(tree, "value", []) if getattr(key, "value", None) == "steps"), None)
    if not isinstance(steps, yaml.SequenceNode) or index >= len(steps.value):
        return None
    node = steps.value[index]
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value.value for key, value in node.value if key.value == "step"), None)


_STEP_MODELS = {model.model_fields["step"].annotation.__args__[0]: model
                for model in (ImportStep, CellStep, OrganellesStep, MeasureStep, DistancesStep, StatisticsStep,
                              PoresStep, DistributionStep, ReportStep)}
