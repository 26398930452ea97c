"""Model files: a JSON description and the model in a portable, safe format; no pickles.

A model is a folder (``MODEL/``) or a zip archive (``MODEL.zip``) holding

    model.json       what the model is: format, kind, classes, feature bank (scales in
                     nm) or network, the voxel size and pyramid level it was trained at,
                     the image normalisation, training details, the vemprof version
    <weights file>   the model itself in ONNX, run with onnxruntime: ``forest.onnx`` for
                     a random forest, ``unet.onnx`` for a U-Net
    <other files>    of its kind: a U-Net's PyTorch weights ``unet.pt`` (a state dict of
                     tensors, read with ``torch.load(weights_only=True)``, for GPUs)
    training.csv, training.png   optional: the training log and its plot

Loading reads JSON, ONNX and tensors only, so a model file cannot run code when it is
opened. It refuses a path that is not a vemprof model, a model written by a newer format,
and an archive with any member outside its own folder (zip-slip) or beside those files —
each with a one-line error.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from vemprof.errors import VemprofError

#: What ``model.json`` says it is, and the newest layout this version reads.
MODEL_FORMAT = "vemprof-model"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "model.json"
#: The files of each kind of model, its ONNX weights first.
FILES = {"forest": ("forest.onnx",), "unet": ("unet.onnx", "unet.pt")}
#: Files any model may hold besides.
OPTIONAL_FILES = ("training.csv", "training.png")
#: Largest description read, bytes (a description is a few kB).
_MAX_DESCRIPTION_BYTES = 1 << 20


@dataclass(frozen=True)
class ModelDescription:
    """What a model is (``model.json``).

    Attributes
    ----------
    kind : str
        "forest" or "unet".
    classes : list of str
        Output classes in order; the first is "background" (annotation value 1), class k
        is annotation value k + 1.
    features : dict
        What the model sees: the feature bank (`FeatureBank.to_dict`, scales in nm) of
        a forest; a U-Net's network, tile and clean-up (see `_unet`).
    spacing_nm : list of 3 floats
        Voxel size (Z, Y, X) of the image it was trained on, nm.
    level : int
        Pyramid level of the store it was trained on.
    normalisation : dict
        How an image is scaled before its features are computed (see `_forest`).
    training : dict
        How it was trained (annotations, voxel counts per class, trees, seed…).
    vemprof_version : str
    format : str
    format_version : int
    """

    kind: str
    classes: list[str]
    features: dict
    spacing_nm: list[float]
    level: int
    normalisation: dict
    training: dict = field(default_factory=dict)
    vemprof_version: str = ""
    format: str = MODEL_FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def weights_file(self) -> str:
        return FILES[self.kind][0]


def save_model(path: str | os.PathLike, description: ModelDescription, weights: bytes, *,
               others: dict[str, bytes] | None = None, overwrite: bool = False) -> Path:
    """Write the model to ``path``: a zip archive if it ends in ``.zip``, else a folder.

    ``weights`` are the ONNX weights; ``others`` the kind's other files and the optional
    ones, by name (see the module's text). Written beside the destination first and
    moved into place, so an interrupted save leaves no half-written model; an existing
    model is replaced only with ``overwrite``.
    """
    files = {description.weights_file: weights, **(others or {})}
    unknown = set(files) - set(FILES[description.kind]) - set(OPTIONAL_FILES)
    missing = set(FILES[description.kind]) - set(files)
    if unknown or missing:
        raise VemprofError(f"a {description.kind} model holds {', '.join(FILES[description.kind])} (and optionally "
                           f"{', '.join(OPTIONAL_FILES)}); got {', '.join(sorted(files))}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise VemprofError(f"{path} already exists; choose another --out or pass --overwrite")
    if not path.parent.exists():
        raise VemprofError(f"no such folder: {path.parent}; create it first or choose another --out")
    text = json.dumps(asdict(description), indent=2)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(DESCRIPTION_FILE, text)
                for name, content in files.items():
                    archive.writestr(name, content)
        else:
            temporary.mkdir()
            (temporary / DESCRIPTION_FILE).write_text(text)
            for name, content in files.items():
                (temporary / name).write_bytes(content)
        _replace(temporary, path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary) if temporary.is_dir() else temporary.unlink()
    return path


def load_model(path: str | os.PathLike) -> tuple[ModelDescription, bytes]:
    """The description and ONNX weights of the model at ``path`` (folder or zip)."""
    description, read = _open(Path(path))
    return description, read(description.weights_file)


def model_file(path: str | os.PathLike, name: str) -> bytes | None:
    """The file ``name`` of the model at ``path`` (checked as `load_model` does), or None
    if the model has no such optional file."""
    _, read = _open(Path(path))
    try:
        return read(name)
    except (KeyError, FileNotFoundError):  # an optional file this model lacks
        return None


def _open(path: Path):
    """The model's description and a function that reads one of its files by name."""
    if not path.exists():
        raise VemprofError(f"no such model: {path}; train one with 'vemprof train STORE --out {path}'")
    if path.is_dir():
        names = {member.name for member in path.iterdir()}

        def read(name: str) -> bytes:
            return (path / name).read_bytes()
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        names = {_safe_member(info.filename, path) for info in archive.infolist()}
        read = archive.read
    else:
        raise VemprofError(f"{path} is not a vemprof model (neither a model folder nor a zip archive)")
    if DESCRIPTION_FILE not in names:
        raise VemprofError(f"{path} is not a vemprof model: it has no {DESCRIPTION_FILE}")
    description = _parse_description(read(DESCRIPTION_FILE), path)
    extra = names - {DESCRIPTION_FILE, *FILES[description.kind], *OPTIONAL_FILES}
    if extra:
        raise VemprofError(f"{path} holds files a vemprof model does not ({', '.join(sorted(extra))}); "
                           "it was not written by vemprof, retrain or remove them")
    missing = [name for name in FILES[description.kind] if name not in names]
    if missing:
        raise VemprofError(f"{path} is incomplete: {', '.join(missing)} is missing; retrain the model")
    return description, read


def _parse_description(raw: bytes, path: Path) -> ModelDescription:
    if len(raw) > _MAX_DESCRIPTION_BYTES:
        raise VemprofError(f"{path}: {DESCRIPTION_FILE} is too large to be a vemprof model description")
    try:
        values = json.loads(raw)
    except ValueError:
        raise VemprofError(f"{path}: {DESCRIPTION_FILE} is not valid JSON; the model is damaged, retrain it") from None
    if not isinstance(values, dict) or values.get("format") != MODEL_FORMAT:
        raise VemprofError(f"{path} is not a vemprof model ({DESCRIPTION_FILE} does not say '{MODEL_FORMAT}')")
    version = values.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise VemprofError(
            f"{path} was written by a newer vemprof (model format {version}; this one reads up to "
            f"{FORMAT_VERSION}); upgrade vemprof with 'pip install -U vemprof'"
        )
    if values.get("kind") not in FILES:
        raise VemprofError(f"{path}: unknown model kind {values.get('kind')!r}; this vemprof knows "
                           f"{', '.join(FILES)}")
    known = set(ModelDescription.__dataclass_fields__)
    try:
        return ModelDescription(**{k: v for k, v in values.items() if k in known})
    except TypeError as error:
        raise VemprofError(f"{path}: {DESCRIPTION_FILE} lacks a field ({error}); the model is damaged, "
                           "retrain it") from None


def _safe_member(name: str, archive: Path) -> str:
    """An archive member's name, refused if it would land outside the model (zip-slip)."""
    member = PurePosixPath(name.replace("\\", "/"))
    if member.is_absolute() or ".." in member.parts or len(member.parts) != 1:
        raise VemprofError(f"{archive} holds '{name}', a path outside the model; refusing the archive "
                           "(it was not written by vemprof)")
    return member.name


def _replace(temporary: Path, path: Path) -> None:
    if path.exists():
        old = path.with_name(f".{path.name}.{uuid.uuid4().hex}.old")
        os.replace(path, old)
        os.replace(temporary, path)
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        os.replace(temporary, path)
