"""Model files: a JSON description and the model in a portable, safe format; no pickles.

A model is a folder (``MODEL/``) or a zip archive (``MODEL.zip``) holding exactly

    model.json       what the model is: format, kind, classes, feature bank (scales in
                     nm), the voxel size and pyramid level it was trained at, the image
                     normalisation, training details, the vemprof version
    <weights file>   the model itself: ``forest.onnx`` (ONNX, run with onnxruntime) for
                     a random forest

Loading reads JSON and ONNX only, so a model file cannot run code when it is opened. It
refuses a path that is not a vemprof model, a model written by a newer format, and an
archive with any member outside its own folder (zip-slip) or beside the two files — each
with a one-line error.
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
#: The weights file of each kind of model.
WEIGHTS_FILE = {"forest": "forest.onnx"}
#: Largest description read, bytes (a description is a few kB).
_MAX_DESCRIPTION_BYTES = 1 << 20


@dataclass(frozen=True)
class ModelDescription:
    """What a model is (``model.json``).

    Attributes
    ----------
    kind : str
        "forest" (more kinds, e.g. "unet", share the layout).
    classes : list of str
        Output classes in order; the first is "background" (annotation value 1), class k
        is annotation value k + 1.
    features : dict
        The feature bank (`FeatureBank.to_dict`): scales in nm.
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
        return WEIGHTS_FILE[self.kind]


def save_model(path: str | os.PathLike, description: ModelDescription, weights: bytes, *,
               overwrite: bool = False) -> Path:
    """Write the model to ``path``: a zip archive if it ends in ``.zip``, else a folder.

    Written beside the destination first and moved into place, so an interrupted save
    leaves no half-written model; an existing model is replaced only with ``overwrite``.
    """
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
                archive.writestr(description.weights_file, weights)
        else:
            temporary.mkdir()
            (temporary / DESCRIPTION_FILE).write_text(text)
            (temporary / description.weights_file).write_bytes(weights)
        _replace(temporary, path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary) if temporary.is_dir() else temporary.unlink()
    return path


def load_model(path: str | os.PathLike) -> tuple[ModelDescription, bytes]:
    """The description and weights of the model at ``path`` (folder or zip)."""
    path = Path(path)
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
    extra = names - {DESCRIPTION_FILE, description.weights_file}
    if extra:
        raise VemprofError(f"{path} holds files a vemprof model does not ({', '.join(sorted(extra))}); "
                           "it was not written by vemprof, retrain or remove them")
    if description.weights_file not in names:
        raise VemprofError(f"{path} is incomplete: {description.weights_file} is missing; retrain the model")
    return description, read(description.weights_file)


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
    if values.get("kind") not in WEIGHTS_FILE:
        raise VemprofError(f"{path}: unknown model kind {values.get('kind')!r}; this vemprof knows "
                           f"{', '.join(WEIGHTS_FILE)}")
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
