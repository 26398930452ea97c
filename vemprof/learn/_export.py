"""Models that travel: a vemprof U-Net exported for other tools, and imported back.

`export_model` writes a U-Net model (see `_model`) in one of three formats:

    onnx         the network alone (``unet.onnx``): input ``image`` (n, 1, h, w) float32,
                 the normalised grey value, output ``probabilities`` (n, classes, h, w);
                 its metadata (key `ONNX_DESCRIPTION_KEY`) holds the model's description
    czann        ZEISS's exchange format (ZEN, arivis), written by ``czmodel``'s core: a
                 zip of ``model.json`` (classes, tile, overlap, pixel size in m) and
                 ``model.model``, the network taking and giving channels last (n, h, w, c)
                 as ZEN does; beside them, in ``vemprof/``, the description, the PyTorch
                 weights and the training log, so that importing it back loses nothing
    bioimageio   a bioimage.io model package (zip) built and validated by
                 ``bioimageio.spec``: ``rdf.yaml`` (axes batch, channel, y, x in nm; the
                 percentile normalisation as ``scale_range``; the description under
                 ``config.vemprof``), the ONNX weights, a test tile of raw grey values from
                 a store and the network's output on it, a README, and the PyTorch weights
                 and training log as attachments

`import_model` reads a .czann or bioimage.io package written by `export_model` back
into a vemprof model. The package's own metadata is taken where it speaks (classes,
pixel size, tile, overlap), the carried description for the rest. A bare .onnx cannot
be imported: a vemprof U-Net also needs its PyTorch weights, which it lacks. Importing
reads JSON, YAML, ONNX and tensors only, never a pickle, and refuses an archive with a
member outside it (zip-slip) or one that is not such a package, each in one line.

The normalisation travels as a description, not inside the network: vemprof maps the
volume's grey percentiles 0.5 and 99.5 to 0 and 1; a bioimage.io consumer does the same
on each image it is given (``scale_range``), while the CZANN specification has no place
for it (its input is grey in [0, 1], as the host scales the pixel type), so an image's
contrast should be stretched to its percentiles before ZEN or arivis runs the model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import uuid
import zipfile
from dataclasses import asdict, replace
from pathlib import Path, PurePosixPath

import numpy as np

from vemprof.errors import VemprofError
from vemprof.learn._model import OPTIONAL_FILES, ModelDescription, _parse_description, load_model, model_file, save_model

#: Export formats and the file name ending each is written to.
FORMATS = {"onnx": ".onnx", "czann": ".czann", "bioimageio": ".zip"}
#: Key of the description (``model.json``) in an exported ONNX file's metadata.
ONNX_DESCRIPTION_KEY = "vemprof.model"
#: Folder of a .czann that carries vemprof's files beside ZEN's.
CZANN_FOLDER = "vemprof"
#: Edge of a bioimage.io package's test tile, pixels (rounded up to the network's stride).
TEST_TILE = 64
#: The names of the network's input and output in a .czann, and the Transpose nodes
#: that turn them from channels last to first and back.
_ZEN_INPUT, _ZEN_OUTPUT = "input", "output"
_TO_CHANNELS_FIRST, _TO_CHANNELS_LAST = [0, 3, 1, 2], [0, 2, 3, 1]
_FIRST_NODE, _LAST_NODE = "vemprof_channels_first", "vemprof_channels_last"
#: Largest text file read from a package (its description), bytes.
_MAX_TEXT_BYTES = 1 << 20
#: What a bioimage.io package cites: the U-Net and the MONAI implementation.
_CITATIONS = [("Ronneberger, Fischer & Brox (2015): U-Net: convolutional networks for biomedical image "
               "segmentation. MICCAI 2015.", "10.1007/978-3-319-24574-4_28"),
              ("Cardoso et al. (2022): MONAI: an open-source framework for deep learning in healthcare.",
               "10.48550/arXiv.2211.02701")]


def export_model(model_path: str | os.PathLike, *, format: str, out: str | os.PathLike,
                 sample: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Write the U-Net model at ``model_path`` (folder or zip) to ``out`` in ``format``:
    ``onnx`` (``out`` ends in .onnx), ``czann`` (.czann) or ``bioimageio`` (.zip).

    ``sample`` is the dataset store whose middle plane, at the model's voxel size, gives a
    bioimage.io package its test tile (default: the store the model was trained on).
    The file is built beside ``out`` and moved into place when complete; an existing
    ``out`` is replaced only with ``overwrite``.
    """
    from vemprof.store import check_output_file

    if format not in FORMATS:
        raise VemprofError(f"--format {format} is not available; vemprof exports: {', '.join(FORMATS)}")
    if sample is not None and format != "bioimageio":
        raise VemprofError("--sample gives a bioimage.io package its test image; it is for --format bioimageio")
    out = check_output_file(out)
    if out.suffix.lower() != FORMATS[format]:
        raise VemprofError(f"a {format} export is a {FORMATS[format]} file; name it e.g. "
                           f"{out.with_suffix(FORMATS[format]).name}")
    if out.exists() and not overwrite:
        raise VemprofError(f"{out} already exists; choose another name or pass --overwrite")
    if out.resolve() == Path(model_path).resolve():
        raise VemprofError(f"{out} is the model itself; write the export to another name")
    description, weights = load_model(model_path)
    if description.kind != "unet":
        raise VemprofError(f"{model_path} is a {description.kind} model; only U-Net models export (a forest runs "
                           "on vemprof's feature bank, which other tools lack)")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as scratch:
        staged = Path(scratch) / out.name
        if format == "onnx":
            staged.write_bytes(_with_description(weights, description))
        else:
            others = {name: model_file(model_path, name) for name in ("unet.pt", *OPTIONAL_FILES)}
            others = {name: content for name, content in others.items() if content is not None}
            if format == "czann":
                _write_czann(description, weights, others, staged)
            else:
                _write_bioimageio(description, weights, others, staged, sample=sample)
        os.replace(staged, out)
    return out


def import_model(path: str | os.PathLike, *, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The .czann or bioimage.io package at ``path`` (written by `export_model`) as a
    vemprof model at ``out`` (a folder, or a zip if it ends in .zip)."""
    path = Path(path)
    if path.is_dir():
        raise VemprofError(f"{path} is a folder; import-model reads a .czann or bioimage.io .zip written by "
                           "'vemprof export-model' (a vemprof model folder is used as it is)")
    if not path.exists():
        raise VemprofError(f"no such file: {path}")
    if Path(out).exists() and not overwrite:
        raise VemprofError(f"{out} already exists; choose another --out or pass --overwrite")
    if not zipfile.is_zipfile(path):
        if _is_onnx(path):
            raise VemprofError(f"{path} holds the network alone, without the PyTorch weights (unet.pt) a vemprof "
                               "U-Net needs; export the model with --format czann or bioimageio to carry it whole")
        raise VemprofError(f"{path} is not a model package (neither a .czann, a bioimage.io zip nor an .onnx)")
    with zipfile.ZipFile(path) as archive:
        names = _safe_names(archive, path)
        if {"model.json", "model.model"} <= names:
            description, weights, others = _read_czann(archive, names, path)
        elif names & {"rdf.yaml", "bioimageio.yaml"}:
            description, weights, others = _read_bioimageio(archive, names, path)
        elif "model.json" in names:
            raise VemprofError(f"{path} is a vemprof model already (or not a package); use it as it is")
        else:
            raise VemprofError(f"{path} is not a model package: it holds neither model.json and model.model "
                               "(.czann) nor rdf.yaml (bioimage.io)")
    return save_model(out, description, weights, others=others, overwrite=overwrite)


# -- onnx --------------------------------------------------------------------------------


def _with_description(weights: bytes, description: ModelDescription) -> bytes:
    """``unet.onnx`` with the model's description in its metadata."""
    import onnx

    model = onnx.load_from_string(weights)
    onnx.helper.set_model_props(model, {ONNX_DESCRIPTION_KEY: json.dumps(asdict(description))})
    return model.SerializeToString()


def _is_onnx(path: Path) -> bool:
    import onnx

    try:
        onnx.load(str(path), load_external_data=False)
    except Exception:  # protobuf raises DecodeError and others on what is not ONNX
        return False
    return True


# -- czann -------------------------------------------------------------------------------


def _write_czann(description: ModelDescription, weights: bytes, others: dict[str, bytes], staged: Path) -> None:
    """``staged`` as a .czann: czmodel's metadata and channels-last network, plus vemprof's files."""
    try:
        from czmodel import ModelMetadata, ModelType
        from czmodel.core.util.onnx_export import DefaultOnnxConverter
    except ImportError:
        raise VemprofError("the czann export needs czmodel: pip install 'vemprof[learn]'") from None

    features, (_, y_nm, x_nm) = description.features, description.spacing_nm
    metadata = ModelMetadata(
        model_type=ModelType.SINGLE_CLASS_SEMANTIC_SEGMENTATION,  # one class per pixel (softmax)
        input_shape=[features["tile"], features["tile"], 1],
        output_shape=[features["tile"], features["tile"], len(description.classes)],
        model_id=str(uuid.uuid5(uuid.NAMESPACE_OID, hashlib.sha256(weights).hexdigest())),
        classes=list(description.classes), model_name=_title(description),
        min_overlap=[features["overlap"], features["overlap"]], scaling=(x_nm / 1e9, y_nm / 1e9),
    )
    network = staged.with_name("model.onnx")
    network.write_bytes(_channels_last(weights))
    DefaultOnnxConverter().convert(str(network), metadata, str(staged))
    with zipfile.ZipFile(staged, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{CZANN_FOLDER}/model.json", json.dumps(asdict(description), indent=2))
        for name, content in others.items():
            archive.writestr(f"{CZANN_FOLDER}/{name}", content)


def _read_czann(archive: zipfile.ZipFile, names: set[str], path: Path):
    from czmodel import ModelMetadata

    carried = f"{CZANN_FOLDER}/model.json"
    if not {carried, f"{CZANN_FOLDER}/unet.pt"} <= names:
        raise VemprofError(f"{path} was not exported by vemprof: it lacks {CZANN_FOLDER}/unet.pt, the PyTorch "
                           "weights a vemprof U-Net needs; import-model reads packages vemprof exported")
    try:
        metadata = ModelMetadata.from_json(json.loads(_read_text(archive, "model.json", path)))
    except (ValueError, KeyError, TypeError):
        raise VemprofError(f"{path}: model.json is not a CZANN model specification; the package is damaged") from None
    description = _parse_description(_read_text(archive, carried, path), path)
    description = _relabelled(description, metadata.classes, path)
    features = {**description.features, "tile": metadata.input_shape[0]}
    if metadata.min_overlap:
        features["overlap"] = metadata.min_overlap[0]
    description = replace(description, features=features)
    if metadata.scaling:
        x_m, y_m = metadata.scaling[:2]
        description = replace(description, spacing_nm=[description.spacing_nm[0], _nm(y_m * 1e9), _nm(x_m * 1e9)])
    others = {name.removeprefix(f"{CZANN_FOLDER}/"): archive.read(name) for name in names
              if name.startswith(f"{CZANN_FOLDER}/") and name != carried}
    return description, _channels_first(archive.read("model.model"), path), others


def _channels_last(weights: bytes) -> bytes:
    """The network taking (n, h, w, 1) and giving (n, h, w, classes): a Transpose before
    it and one after, named so that `_channels_first` finds and removes them."""
    import onnx

    model = onnx.load_from_string(weights)
    graph = model.graph
    image, probabilities = graph.input[0], graph.output[0]
    graph.node.insert(0, onnx.helper.make_node("Transpose", [_ZEN_INPUT], [image.name], name=_FIRST_NODE,
                                               perm=_TO_CHANNELS_FIRST))
    graph.node.append(onnx.helper.make_node("Transpose", [probabilities.name], [_ZEN_OUTPUT], name=_LAST_NODE,
                                            perm=_TO_CHANNELS_LAST))
    _replace_only(graph.input, _permuted(image, _ZEN_INPUT, _TO_CHANNELS_LAST))
    _replace_only(graph.output, _permuted(probabilities, _ZEN_OUTPUT, _TO_CHANNELS_LAST))
    return model.SerializeToString()


def _channels_first(weights: bytes, path: Path) -> bytes:
    """`_channels_last` undone: the network as vemprof wrote it."""
    import onnx

    try:
        model = onnx.load_from_string(weights)
    except Exception:  # protobuf raises DecodeError and others on what is not ONNX
        model = onnx.ModelProto()
    graph = model.graph
    if not graph.node or graph.node[0].name != _FIRST_NODE or graph.node[-1].name != _LAST_NODE:
        raise VemprofError(f"{path}: model.model is not the network vemprof exported; the package is damaged")
    image, probabilities = graph.node[0].output[0], graph.node[-1].input[0]
    del graph.node[-1]
    del graph.node[0]
    _replace_only(graph.input, _permuted(graph.input[0], image, _TO_CHANNELS_FIRST))
    _replace_only(graph.output, _permuted(graph.output[0], probabilities, _TO_CHANNELS_FIRST))
    return model.SerializeToString()


def _permuted(value, name: str, order: list[int]):
    """A copy of the ONNX value ``value`` named ``name``, its dimensions in ``order``."""
    import onnx

    copy = onnx.ValueInfoProto()
    copy.CopyFrom(value)
    copy.name = name
    dims = copy.type.tensor_type.shape.dim
    kept = [onnx.TensorShapeProto.Dimension() for _ in dims]
    for dim, original in zip(kept, dims):
        dim.CopyFrom(original)
    del dims[:]
    dims.extend(kept[i] for i in order)
    return copy


def _replace_only(values, value) -> None:
    """Make ``value`` the one entry of the graph's inputs or outputs ``values``."""
    del values[:]
    values.append(value)


# -- bioimage.io -------------------------------------------------------------------------


def _write_bioimageio(description: ModelDescription, weights: bytes, others: dict[str, bytes], staged: Path, *,
                      sample: str | os.PathLike | None) -> None:
    """``staged`` as a bioimage.io model package, its description validated by bioimageio.spec."""
    try:
        from bioimageio.spec import save_bioimageio_package
    except ImportError:
        raise VemprofError("the bioimage.io export needs bioimageio.spec: pip install 'vemprof[learn]'") from None
    import pydantic
    import tifffile

    from vemprof.learn._unet import OnnxNetwork

    folder = staged.parent / "package"
    folder.mkdir()
    tile = _test_tile(description, sample)
    probabilities = OnnxNetwork(weights)(_scaled_range(tile, description.normalisation))
    np.save(folder / "test_image.npy", tile)
    np.save(folder / "test_probabilities.npy", probabilities)
    tifffile.imwrite(folder / "sample_image.tif", tile[0, 0])
    tifffile.imwrite(folder / "sample_probabilities.tif", probabilities[0])
    (folder / "unet.onnx").write_bytes(weights)
    (folder / "README.md").write_text(_readme(description, tile.shape[-1]))
    for name, content in others.items():
        (folder / name).write_bytes(content)
    try:
        package = _bioimageio_description(description, folder, attachments=sorted(others))
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        raise VemprofError(f"bioimage.io refuses the model's description at {'.'.join(map(str, first['loc']))}: "
                           f"{first['msg']}") from None
    save_bioimageio_package(package, output_path=staged)


def _bioimageio_description(description: ModelDescription, folder: Path, *, attachments: list[str]):
    """The bioimage.io model description (format 0.5) of the package files in ``folder``."""
    import onnx
    from bioimageio.spec.model.v0_5 import (
        AxisId,
        BatchAxis,
        ChannelAxis,
        CiteEntry,
        Config,
        Doi,
        FileDescr,
        InputTensorDescr,
        IntervalOrRatioDataDescr,
        ModelDescr,
        OnnxWeightsDescr,
        OutputTensorDescr,
        ParameterizedSize,
        ScaleRangeDescr,
        ScaleRangeKwargs,
        SizeReference,
        SpaceInputAxis,
        SpaceOutputAxis,
        TensorId,
        WeightsDescr,
    )

    from vemprof.learn._unet import multiple_of

    step = multiple_of(description.features["network"])
    _, y_nm, x_nm = description.spacing_nm
    image = TensorId("image")
    spatial = {"y": y_nm, "x": x_nm}
    low, high = description.normalisation["low"], description.normalisation["high"]
    inputs = InputTensorDescr(
        id=image, description="grey values of a plane (any range: scaled by its own percentiles)",
        axes=[BatchAxis(), ChannelAxis(channel_names=["grey"]),
              *(SpaceInputAxis(id=AxisId(a), size=ParameterizedSize(min=step, step=step), scale=nm, unit="nanometer")
                for a, nm in spatial.items())],
        data=IntervalOrRatioDataDescr(type="float32"), test_tensor=FileDescr(source=folder / "test_image.npy"),
        sample_tensor=FileDescr(source=folder / "sample_image.tif"),
        preprocessing=[ScaleRangeDescr(kwargs=ScaleRangeKwargs(
            axes=[AxisId("channel"), AxisId("y"), AxisId("x")], min_percentile=low, max_percentile=high))],
    )
    outputs = OutputTensorDescr(
        id=TensorId("probabilities"), description="softmax probability of each class",
        axes=[BatchAxis(), ChannelAxis(channel_names=list(description.classes)),
              *(SpaceOutputAxis(id=AxisId(a), size=SizeReference(tensor_id=image, axis_id=AxisId(a)), scale=nm,
                                unit="nanometer") for a, nm in spatial.items())],
        data=IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)),
        test_tensor=FileDescr(source=folder / "test_probabilities.npy"),
        sample_tensor=FileDescr(source=folder / "sample_probabilities.tif"),
    )
    opset = max(entry.version for entry in onnx.load(str(folder / "unet.onnx")).opset_import if entry.domain == "")
    return ModelDescr(
        name=_title(description),
        description=f"A 2D U-Net trained with vemprof on sparsely painted planes of volume electron microscopy; "
                    f"it gives each pixel the probability of {', '.join(description.classes)}.",
        cite=[CiteEntry(text=text, doi=Doi(doi)) for text, doi in _CITATIONS],
        documentation=FileDescr(source=folder / "README.md"),
        tags=["2d", "unet", "semantic-segmentation", "electron-microscopy", "fib-sem", "vemprof"],
        inputs=[inputs], outputs=[outputs],
        weights=WeightsDescr(onnx=OnnxWeightsDescr(source=folder / "unet.onnx", opset_version=opset)),
        attachments=[FileDescr(source=folder / name) for name in attachments],
        config=Config(vemprof=asdict(description)),
    )


def _read_bioimageio(archive: zipfile.ZipFile, names: set[str], path: Path):
    import yaml

    rdf_name = "rdf.yaml" if "rdf.yaml" in names else "bioimageio.yaml"
    try:
        rdf = yaml.safe_load(_read_text(archive, rdf_name, path))
        carried = rdf["config"]["vemprof"]
        weights_name = rdf["weights"]["onnx"]["source"]
        attached = {PurePosixPath(entry["source"]).name: entry["source"] for entry in rdf.get("attachments", [])}
        classes = next(a for a in rdf["outputs"][0]["axes"] if a["type"] == "channel")["channel_names"]
        scales = {a["id"]: a["scale"] for a in rdf["inputs"][0]["axes"] if a["type"] == "space"}
        y_nm, x_nm = _nm(scales["y"]), _nm(scales["x"])
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, IndexError, StopIteration):
        raise VemprofError(f"{path} was not exported by vemprof: its {rdf_name} lacks the vemprof description "
                           "(config.vemprof) or the ONNX weights; import-model reads packages vemprof exported") from None
    if "unet.pt" not in attached:
        raise VemprofError(f"{path} was not exported by vemprof: it lacks the attachment unet.pt, the PyTorch "
                           "weights a vemprof U-Net needs")
    description = _relabelled(_parse_description(json.dumps(carried).encode(), path), classes, path)
    description = replace(description, spacing_nm=[description.spacing_nm[0], y_nm, x_nm])
    others = {name: _member(archive, names, attached[name], path) for name in ("unet.pt", *OPTIONAL_FILES)
              if name in attached}
    return description, _member(archive, names, weights_name, path), others


def _test_tile(description: ModelDescription, sample: str | os.PathLike | None) -> np.ndarray:
    """A (1, 1, e, e) float32 tile of raw grey values from the middle plane of ``sample``
    (default: the store the model was trained on), at the model's voxel size; e is
    `TEST_TILE` rounded up to the network's stride, or less on a smaller plane."""
    from vemprof.learn._classify import _matching_level
    from vemprof.learn._unet import multiple_of
    from vemprof.store import Store

    source = sample if sample is not None else description.training.get("store")
    if source is None or not Path(source).exists():
        raise VemprofError(f"a bioimage.io package carries a test image from a store at the model's voxel size, and "
                           f"{source or 'the store the model was trained on'} is not there; give one with --sample STORE")
    store = Store.open(source)
    image = store.raw(level=_matching_level(store, description, None)).data
    step = multiple_of(description.features["network"])
    edge = min(math.ceil(TEST_TILE / step) * step, min(image.shape[1:]) // step * step)
    if edge == 0:
        raise VemprofError(f"the planes of {source} are smaller than the network's {step}-pixel stride; "
                           "give a larger --sample store")
    z, y, x = image.shape[0] // 2, (image.shape[1] - edge) // 2, (image.shape[2] - edge) // 2
    return np.asarray(image[z, y:y + edge, x:x + edge], dtype=np.float32)[None, None]


def _scaled_range(tile: np.ndarray, normalisation: dict) -> np.ndarray:
    """``tile`` scaled by its own percentiles as bioimage.io's ``scale_range`` does."""
    low, high = np.percentile(tile, [normalisation["low"], normalisation["high"]])
    return ((tile - low) / (high - low + 1e-6)).astype(np.float32)


def _readme(description: ModelDescription, edge: int) -> str:
    training = description.training
    _, y_nm, x_nm = description.spacing_nm
    return (
        f"# {_title(description)}\n\n"
        f"A 2D U-Net (MONAI, residual units, network {json.dumps(description.features['network'])}) that gives each "
        f"pixel of a plane the softmax probability of: {', '.join(description.classes)}. Trained with vemprof "
        f"{description.vemprof_version} on planes of {y_nm:g} × {x_nm:g} nm pixels; give it images of that pixel "
        "size.\n\n"
        "## Input\n\n"
        f"Grey values, scaled by their own {description.normalisation['low']:g} and "
        f"{description.normalisation['high']:g} percentiles to 0 and 1 (`scale_range`). Tiles of "
        f"{description.features['tile']} pixels with {description.features['overlap']} pixels of overlap avoid "
        "seams.\n\n"
        "## Validation\n\n"
        f"Best mean IoU of the classes on the painted pixels of {training.get('validated_on', 'held-out planes')}: "
        f"{training.get('best_mean_iou', float('nan')):.3f} after {training.get('iterations', '?')} iterations. "
        f"The test tile ({edge} × {edge} pixels) is the middle of a plane of the training volume (or of the store "
        "given at export); its output is the ONNX network's.\n"
    )


# -- shared ------------------------------------------------------------------------------


def _title(description: ModelDescription) -> str:
    """A name for the model in other tools: its classes, in the characters bioimage.io allows."""
    title = f"vemprof U-Net ({' + '.join(description.classes[1:])})"
    return re.sub(r"[^A-Za-z0-9_+\- ()]", "_", title)[:128]


def _relabelled(description: ModelDescription, classes, path: Path) -> ModelDescription:
    """``description`` with the class names a package's metadata gives, as many as the network's."""
    if not isinstance(classes, list) or len(classes) != len(description.classes):
        raise VemprofError(f"{path} names {classes!r} as its classes, but its network has "
                           f"{len(description.classes)}; the package is damaged")
    return replace(description, classes=[str(name) for name in classes])


def _nm(value: float) -> float:
    """A length in nm, rounded where a conversion from metres left a trace."""
    return round(float(value), 6)


def _safe_names(archive: zipfile.ZipFile, path: Path) -> set[str]:
    """The archive's member names, refused if any would land outside it (zip-slip)."""
    names = set()
    for info in archive.infolist():
        member = PurePosixPath(info.filename.replace("\\", "/"))
        if member.is_absolute() or ".." in member.parts or re.match(r"^[A-Za-z]:", info.filename):
            raise VemprofError(f"{path} holds '{info.filename}', a path outside the archive; refusing it "
                               "(it was not written by vemprof)")
        if not info.is_dir():
            names.add(member.as_posix())
    return names


def _member(archive: zipfile.ZipFile, names: set[str], name: str, path: Path) -> bytes:
    if name not in names:
        raise VemprofError(f"{path} names '{name}' but does not hold it; the package is damaged")
    return archive.read(name)


def _read_text(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    if archive.getinfo(name).file_size > _MAX_TEXT_BYTES:
        raise VemprofError(f"{path}: {name} is too large to be a model description; refusing the package")
    return archive.read(name)


__all__ = ["FORMATS", "export_model", "import_model"]
