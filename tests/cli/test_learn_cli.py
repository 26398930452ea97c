"""The pixel classifier from the command line, as a user runs it: paint a few planes,
train, predict, score."""

import json

import numpy as np

from vemprof.store import Store


def test_paint_train_predict_and_score_a_small_phantom(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps = [
        "synth cell.zarr --set shape=32,96,96 --voxel-size 60,60,60 --set n_mitochondria=4 --no-preview",
        "annotate-planes cell.zarr --from-labels cell --out scribbles --every 13",
        "train cell.zarr --annotations scribbles --out cell-model.zip --trees 20",
        "predict cell.zarr --model cell-model.zip --prefix predicted_",
    ]
    for step in steps:
        result = vemprof_cli(*step.split())
        assert result.code == 0, (step, result)
    store = Store.open(tmp_path / "cell.zarr")
    assert {"predicted_cell", "scribbles", "cell"} <= set(store.label_names)
    assert store.probabilities("predicted_cell").data.dtype == np.uint8

    scored = vemprof_cli("evaluate", "cell.zarr", "--truth", "cell", "--pred", "predicted_cell", "--json")
    assert scored.code == 0, scored
    assert json.loads(scored.stdout)["iou"] > 0.95


def test_paint_train_and_predict_with_a_unet(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps = [
        "synth cell.zarr --set shape=32,128,128 --voxel-size 60,60,60 --set n_mitochondria=4 --no-preview",
        "annotate-planes cell.zarr --from-labels cell --out scribbles --every 4 --fraction 0.5",
        "train cell.zarr --annotations scribbles --kind unet --out unet --max-iterations 60 --device cpu",
        "predict cell.zarr --model unet --prefix unet_ --device cpu",
    ]
    for step in steps:
        result = vemprof_cli(*step.split())
        assert result.code == 0, (step, result)
    assert {"model.json", "unet.onnx", "unet.pt", "training.csv", "training.png"} == {
        p.name for p in (tmp_path / "unet").iterdir()}
    scored = vemprof_cli("evaluate", "cell.zarr", "--truth", "cell", "--pred", "unet_cell", "--json")
    assert scored.code == 0, scored
    assert json.loads(scored.stdout)["iou"] > 0.9
