"""Model files hold JSON and ONNX only, round-trip as a folder or a zip, and refuse what
is not a vemprof model: zip-slip paths, foreign files, newer formats, damaged JSON."""

import json
import zipfile
from dataclasses import asdict

import pytest

from vemprof.errors import VemprofError
from vemprof.learn._model import FORMAT_VERSION, ModelDescription, load_model, save_model

DESCRIPTION = ModelDescription(
    kind="forest", classes=["background", "cell"], features={"scales_nm": [40.0, 80.0]}, spacing_nm=[25.0, 20.0, 20.0],
    level=1, normalisation={"method": "percentiles", "low": 0.5, "high": 99.5}, training={"trees": 3},
    vemprof_version="0.1.0",
)
WEIGHTS = b"\x08\x07onnx bytes stand-in"


@pytest.mark.parametrize("name", ["model", "model.zip"])
def test_a_model_round_trips_as_a_folder_or_a_zip(tmp_path, name):
    path = save_model(tmp_path / name, DESCRIPTION, WEIGHTS)
    description, weights = load_model(path)
    assert description == DESCRIPTION and weights == WEIGHTS
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing left beside it


def test_an_existing_model_is_replaced_only_when_asked(tmp_path):
    save_model(tmp_path / "model", DESCRIPTION, WEIGHTS)
    with pytest.raises(VemprofError, match="--overwrite"):
        save_model(tmp_path / "model", DESCRIPTION, b"other")
    save_model(tmp_path / "model", DESCRIPTION, b"other", overwrite=True)
    assert load_model(tmp_path / "model")[1] == b"other"


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _json(**changes) -> bytes:
    return json.dumps({**asdict(DESCRIPTION), **changes}).encode()


@pytest.mark.parametrize("members, words", [
    ({"model.json": _json(), "forest.onnx": WEIGHTS, "../../evil.sh": b"rm -rf"}, "path outside the model"),
    ({"model.json": _json(), "/etc/cron.d/x": b""}, "path outside the model"),
    ({"model.json": _json(), "forest.onnx": WEIGHTS, "extra.pkl": b"pickle"}, "files a vemprof model does not"),
    ({"forest.onnx": WEIGHTS}, "no model.json"),
    ({"model.json": b"{not json", "forest.onnx": WEIGHTS}, "not valid JSON"),
    ({"model.json": json.dumps({"format": "keras"}).encode()}, "is not a vemprof model"),
    ({"model.json": _json(format_version=FORMAT_VERSION + 1), "forest.onnx": WEIGHTS}, "newer vemprof"),
    ({"model.json": _json(kind="svm"), "forest.onnx": WEIGHTS}, "unknown model kind"),
    ({"model.json": _json()}, "forest.onnx is missing"),
])
def test_what_is_not_a_vemprof_model_is_refused_in_one_line(tmp_path, members, words):
    archive = _zip(tmp_path / "model.zip", members)
    with pytest.raises(VemprofError, match=words) as caught:
        load_model(archive)
    assert "\n" not in str(caught.value)


def test_a_missing_path_or_a_plain_file_is_not_a_model(tmp_path):
    with pytest.raises(VemprofError, match="no such model"):
        load_model(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(VemprofError, match="not a vemprof model"):
        load_model(tmp_path / "notes.txt")
