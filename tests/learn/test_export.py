"""Models that travel: a small U-Net exported to ONNX, CZANN and bioimage.io, each read
back by its own tools (onnxruntime, czmodel, bioimageio.spec and .core), imported back
without loss, and bad files refused in one line."""

import json
import socket
import zipfile
from dataclasses import replace

import numpy as np
import onnx
import pytest

from vemprof.errors import VemprofError
from vemprof.learn import load_model, save_model, train_unet
from vemprof.learn._export import CZANN_FOLDER, ONNX_DESCRIPTION_KEY, export_model, import_model
from vemprof.learn._model import model_file
from vemprof.learn._unet import OnnxNetwork
from vemprof.store import write_dataset
from vemprof.synth import make_phantom

#: A small network for tests: 3 levels (tiles a multiple of 4), one residual unit each.
SMALL = {"channels": [8, 16, 32], "residual_units": 1}


@pytest.fixture(scope="module")
def unet(tmp_path_factory):
    """A U-Net trained for 2 steps on a phantom cell painted on every 4th plane, as a folder."""
    folder = tmp_path_factory.mktemp("unet")
    phantom = make_phantom(shape=(32, 96, 96), spacing=(60.0, 60.0, 60.0), n_mitochondria=4, seed=3)
    store = write_dataset(folder / "cell.zarr", raw=phantom.image, spacing=phantom.spacing,
                          labels={"cell": phantom.labels["cell"]}, tables={}, step="test", parameters={},
                          chunks=(16, 48, 48))
    painted = np.zeros(phantom.image.shape, dtype=np.uint8)
    painted[::4] = np.where(phantom.labels["cell"][::4] > 0, 2, 1)
    store.write_annotations("painted", painted, classes=["cell"], chunks=(16, 48, 48))
    description, weights, others = train_unet(store, "painted", max_iterations=2, device="cpu", network=SMALL,
                                              patch=64)
    return save_model(folder / "unet", description, weights, others=others)


@pytest.fixture
def offline(monkeypatch):
    """Every attempt to open a network connection, recorded and refused."""
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _tiles(edge: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((2, 1, edge, edge), dtype=np.float32)


def test_the_onnx_export_is_the_network_with_its_description(unet, tmp_path):
    out = export_model(unet, format="onnx", out=tmp_path / "cell.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.onnx"]  # nothing beside it
    description, weights = load_model(unet)
    tiles = _tiles()
    np.testing.assert_array_equal(OnnxNetwork(out.read_bytes())(tiles), OnnxNetwork(weights)(tiles))
    carried = {p.key: p.value for p in onnx.load(str(out)).metadata_props}[ONNX_DESCRIPTION_KEY]
    assert json.loads(carried)["classes"] == ["background", "cell"]
    with pytest.raises(VemprofError, match=r"without the PyTorch weights \(unet.pt\).*--format czann or bioimageio"):
        import_model(out, out=tmp_path / "back")


def test_the_czann_reads_back_with_czmodel_and_runs_channels_last(unet, tmp_path):
    from czmodel import ModelType
    from czmodel.core.util._extract_model import extract_czann_model

    out = export_model(unet, format="czann", out=tmp_path / "cell.czann")
    metadata, network = extract_czann_model(str(out), tmp_path / "unpacked")
    assert metadata.model_type == ModelType.SINGLE_CLASS_SEMANTIC_SEGMENTATION
    assert metadata.classes == ["background", "cell"]
    assert metadata.input_shape == [256, 256, 1] and metadata.output_shape == [256, 256, 2]
    assert metadata.min_overlap == [64, 64]
    assert metadata.scaling == pytest.approx((60e-9, 60e-9))  # x, y in metres
    import onnxruntime

    tiles = _tiles()
    zen = onnxruntime.InferenceSession(str(network)).run(["output"], {"input": tiles.transpose(0, 2, 3, 1)})[0]
    np.testing.assert_allclose(zen.transpose(0, 3, 1, 2), OnnxNetwork(load_model(unet)[1])(tiles), atol=1e-6)


@pytest.mark.parametrize("format, name", [("czann", "cell.czann"), ("bioimageio", "cell.zip")])
def test_an_exported_package_imports_back_without_loss(unet, tmp_path, format, name):
    back = import_model(export_model(unet, format=format, out=tmp_path / name), out=tmp_path / "back.zip")
    assert load_model(back) == load_model(unet)  # description and ONNX weights, byte for byte
    for file in ("unet.pt", "training.csv", "training.png"):
        assert model_file(back, file) == model_file(unet, file)


def test_the_bioimageio_package_validates_and_reproduces_its_test_output(unet, tmp_path, offline):
    from bioimageio.core import test_model
    from bioimageio.spec import load_description
    from bioimageio.spec.model.v0_5 import ModelDescr

    out = export_model(unet, format="bioimageio", out=tmp_path / "cell.zip")
    described = load_description(out)
    assert isinstance(described, ModelDescr), described.validation_summary.format()
    assert described.validation_summary.status == "valid-format"
    assert [a.scale for a in described.inputs[0].axes[2:]] == [60.0, 60.0]  # y, x in nm
    assert described.inputs[0].preprocessing[1].kwargs.min_percentile == 0.5
    assert described.outputs[0].axes[1].channel_names == ["background", "cell"]
    assert np.load(zipfile.ZipFile(out).open("test_image.npy")).shape == (1, 1, 64, 64)
    summary = test_model(out)
    assert summary.status == "passed", summary.format()
    assert offline == []


def test_a_package_renamed_by_its_users_keeps_their_class_names(unet, tmp_path):
    out = export_model(unet, format="czann", out=tmp_path / "cell.czann")
    renamed = tmp_path / "renamed.czann"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(renamed, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "model.json":
                content = json.dumps({**json.loads(content), "Classes": ["resin", "hela"]}).encode()
            target.writestr(name, content)
    assert load_model(import_model(renamed, out=tmp_path / "back"))[0].classes == ["resin", "hela"]


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("members, words", [
    ({"model.json": b"{}", "model.model": b"", "../../evil.sh": b"rm -rf"}, "a path outside the archive"),
    ({"rdf.yaml": b"type: model", "/etc/cron.d/x": b""}, "a path outside the archive"),
    ({"model.json": b'{"Type": "Regression"}', "model.model": b"onnx"}, f"it lacks {CZANN_FOLDER}/unet.pt"),
    ({"rdf.yaml": b"type: model\nweights: {}\n"}, "lacks the vemprof description"),
    ({"notes.txt": b"hello"}, "is not a model package"),
])
def test_what_is_not_a_vemprof_package_is_refused_in_one_line(tmp_path, members, words):
    with pytest.raises(VemprofError, match=words) as error:
        import_model(_zip(tmp_path / "package.zip", members), out=tmp_path / "model")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "model").exists()


def test_bad_requests_fail_in_one_line_and_write_nothing(unet, tmp_path):
    with pytest.raises(VemprofError, match="--format keras is not available; vemprof exports: onnx, czann"):
        export_model(unet, format="keras", out=tmp_path / "cell.h5")
    with pytest.raises(VemprofError, match="a czann export is a .czann file; name it e.g. cell.czann"):
        export_model(unet, format="czann", out=tmp_path / "cell.zip")
    with pytest.raises(VemprofError, match="--sample .* is for --format bioimageio"):
        export_model(unet, format="onnx", out=tmp_path / "cell.onnx", sample=tmp_path)
    with pytest.raises(VemprofError, match="gone.zarr is not there; give one with --sample STORE"):
        export_model(unet, format="bioimageio", out=tmp_path / "cell.zip", sample=tmp_path / "gone.zarr")
    forest = save_model(tmp_path / "forest.zip", replace(load_model(unet)[0], kind="forest"), b"onnx")
    with pytest.raises(VemprofError, match="is a forest model; only U-Net models export"):
        export_model(forest, format="onnx", out=tmp_path / "cell.onnx")
    (tmp_path / "cell.onnx").write_bytes(b"mine")
    with pytest.raises(VemprofError, match="already exists; choose another name or pass --overwrite"):
        export_model(unet, format="onnx", out=tmp_path / "cell.onnx")
    with pytest.raises(VemprofError, match="is a vemprof model already"):
        import_model(save_model(tmp_path / "model.zip", *load_model(unet), others={
            "unet.pt": model_file(unet, "unet.pt")}), out=tmp_path / "copy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.onnx", "forest.zip", "model.zip"]
    assert (tmp_path / "cell.onnx").read_bytes() == b"mine"
