"""Every way a user can get a command wrong, as a table.

Each row is a command line, the files it finds, the exit status and a fragment of the
one-line message it must print. Every row also checks that the failed command left the
disk exactly as it was: no half-written store, no ``.partial`` folder, no stray file,
an existing store untouched. A new command joins by adding rows.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import tifffile

from vemprof.store import Store, import_volume


def em_stack(shape=(16, 48, 40)) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(20, 230, shape, dtype=np.uint8)


def write_em_tiff(path: Path, *, calibrated: bool = True) -> Path:
    options = dict(imagej=True, resolution=(200.0, 200.0), metadata={"spacing": 0.008, "unit": "um", "axes": "ZYX"})
    tifffile.imwrite(path, em_stack(), **(options if calibrated else {}))
    return path


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    """A small store with a raw image and one label image, copied for each row."""
    folder = tmp_path_factory.mktemp("template")
    store = import_volume(write_em_tiff(folder / "em.tif"), folder / "cell.zarr", chunks=(8, 16, 16)).store
    store.write_labels("nucleus", (em_stack() > 128).astype(np.uint8), chunks=(8, 16, 16))
    return store.path


# -- set-ups: each makes the files a row's command finds, in the row's folder ------------


def nothing(folder: Path, store: Path) -> None:
    pass


def a_store(folder: Path, store: Path) -> None:
    shutil.copytree(store, folder / "cell.zarr")


def a_store_with_scribbles(folder: Path, store: Path) -> None:
    from vemprof.learn import annotate_planes

    shutil.copytree(store, folder / "cell.zarr")
    annotate_planes(Store.open(folder / "cell.zarr"), "cell_scribbles", from_labels="nucleus", every=4)


def an_empty_store(folder: Path, store: Path) -> None:
    Store.create(folder / "empty.zarr")


def a_store_with_a_round_nucleus(folder: Path, store: Path) -> None:
    from vemprof.store import Store

    shutil.copytree(store, folder / "cell.zarr")
    z, y, x = np.ogrid[:16, :48, :40]
    ball = ((z - 8) * 2) ** 2 + (y - 24) ** 2 + (x - 20) ** 2 <= 12 ** 2
    Store.open(folder / "cell.zarr").write_labels("round", ball.astype(np.uint8), chunks=(8, 16, 16))


def a_store_with_odd_nuclei(folder: Path, store: Path) -> None:
    """labels/round (one small ball), labels/empty (all 0) and labels/two (two boxes)."""
    from vemprof.store import Store

    a_store_with_a_round_nucleus(folder, store)
    two = np.zeros((16, 48, 40), np.uint8)
    two[4:12, 5:20, 5:15] = two[4:12, 28:44, 25:38] = 1
    cell = Store.open(folder / "cell.zarr")
    cell.write_labels("empty", np.zeros_like(two), chunks=(8, 16, 16))
    cell.write_labels("two", two, chunks=(8, 16, 16))


def a_store_with_points_and_a_round_nucleus(folder: Path, store: Path) -> None:
    import pandas as pd

    from vemprof.store import Store

    a_store_with_a_round_nucleus(folder, store)
    centroids = np.random.default_rng(2).uniform(0.05, 0.1, (12, 3))
    Store.open(folder / "cell.zarr").write_table("spots", pd.DataFrame(
        {"label": np.arange(1, 13), **{f"centroid_{a}_um": centroids[:, i] for i, a in enumerate("zyx")}}))


def a_calibrated_tiff(folder: Path, store: Path) -> None:
    write_em_tiff(folder / "em.tif")


def an_uncalibrated_tiff(folder: Path, store: Path) -> None:
    write_em_tiff(folder / "em.tif", calibrated=False)


def a_word_file(folder: Path, store: Path) -> None:
    (folder / "notes.docx").write_text("not an image")


def a_label_tiff(folder: Path, store: Path) -> None:
    labels = np.zeros((16, 48, 40), np.uint16)
    labels[2:10, 5:30, 5:20] = 1
    labels[10:14, 30:45, 20:38] = 2
    tifffile.imwrite(folder / "labels.tif", labels)


def an_rgb_tiff(folder: Path, store: Path) -> None:
    tifffile.imwrite(folder / "rgb.tif", np.zeros((4, 32, 32, 3), np.uint8), photometric="rgb")


def a_file_where_a_folder_should_be(folder: Path, store: Path) -> None:
    write_em_tiff(folder / "em.tif")
    (folder / "notes.txt").write_text("a file")


def a_store_and_a_file(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "notes.txt").write_text("a file")


def a_store_with_a_corrupt_chunk(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "cell.zarr" / "0" / "c" / "1" / "1" / "0").write_bytes(b"not a compressed chunk")


def a_store_with_a_missing_chunk(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "cell.zarr" / "0" / "c" / "1" / "1" / "0").unlink()


def a_store_with_corrupt_provenance(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "cell.zarr" / "provenance.json").write_text('{"steps": [')


def a_store_with_corrupt_array_metadata(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "cell.zarr" / "0" / "zarr.json").write_text("{ not json")


def a_store_and_a_calibrated_tiff(folder: Path, store: Path) -> None:
    a_store(folder, store)
    write_em_tiff(folder / "em.tif")


def a_store_and_a_smaller_label_tiff(folder: Path, store: Path) -> None:
    a_store(folder, store)
    tifffile.imwrite(folder / "labels.tif", np.ones((8, 48, 40), np.uint8))


def a_chain_and_a_store(folder: Path, store: Path) -> None:
    a_store(folder, store)
    (folder / "chain.yaml").write_text("- {op: no_such_operation, input: raw, output: x}\n")


def a_store_and_a_painted_tiff(folder: Path, store: Path) -> None:
    """painted.tif: sparse annotations as napari saves them (int32), values 0…3."""
    a_store(folder, store)
    painted = np.zeros((16, 48, 40), np.int32)
    painted[4] = 1
    painted[4, 10:20, 10:20] = 2
    painted[12, 30:40, 5:15] = 3
    tifffile.imwrite(folder / "painted.tif", painted)


def a_store_and_a_float_tiff(folder: Path, store: Path) -> None:
    a_store(folder, store)
    tifffile.imwrite(folder / "painted.tif", np.ones((16, 48, 40), np.float32))


def a_store_and_an_unpainted_tiff(folder: Path, store: Path) -> None:
    a_store(folder, store)
    tifffile.imwrite(folder / "painted.tif", np.zeros((16, 48, 40), np.uint8))


def a_store_with_labels_in_one_plane(folder: Path, store: Path) -> None:
    from vemprof.store import Store

    a_store(folder, store)
    speck = np.zeros((16, 48, 40), np.uint8)
    speck[5, 20:24, 20:24] = 1
    Store.open(folder / "cell.zarr").write_labels("speck", speck, chunks=(8, 16, 16))


def a_store_with_probabilities(folder: Path, store: Path) -> None:
    a_store(folder, store)
    from vemprof.store import Store

    Store.open(folder / "cell.zarr").write_probabilities("nucleus_p", em_stack() / 255.0, chunks=(8, 16, 16))


def a_store_with_annotations(folder: Path, store: Path) -> None:
    """Planes 0 and 8 painted: 2 where the nucleus label is, 1 elsewhere."""
    from vemprof.store import Store

    a_store(folder, store)
    paint = np.zeros((16, 48, 40), np.uint8)
    paint[::8] = np.where(em_stack()[::8] > 128, 2, 1)
    Store.open(folder / "cell.zarr").write_annotations("paint", paint, classes=["nucleus"], chunks=(8, 16, 16))


def a_store_with_resin_only_annotations(folder: Path, store: Path) -> None:
    from vemprof.store import Store

    a_store(folder, store)
    paint = np.zeros((16, 48, 40), np.uint8)
    paint[0] = 1
    Store.open(folder / "cell.zarr").write_annotations("paint", paint, classes=["nucleus"], chunks=(8, 16, 16))


def a_store_and_a_model(folder: Path, store: Path) -> None:
    """A store and a small forest trained on it (trained once, copied for each row)."""
    a_store(folder, store)
    shutil.copytree(_trained_model(store), folder / "model")


def a_store_and_a_unet(folder: Path, store: Path) -> None:
    """A store and a U-Net trained for one step on it (a 128-pixel patch: larger than its planes)."""
    from vemprof.learn import save_model, train_unet
    from vemprof.store import Store

    a_store_with_annotations(folder, store)
    description, weights, others = train_unet(Store.open(folder / "cell.zarr"), "paint", max_iterations=1,
                                              device="cpu")
    save_model(folder / "unet", description, weights, others=others)


def a_store_and_a_model_of_other_voxels(folder: Path, store: Path) -> None:
    from dataclasses import replace

    from vemprof.learn import load_model, save_model

    a_store(folder, store)
    description, weights = load_model(_trained_model(store))
    save_model(folder / "model", replace(description, spacing_nm=[30.0, 30.0, 30.0]), weights)


def a_store_and_a_foreign_zip(folder: Path, store: Path) -> None:
    import zipfile

    a_store(folder, store)
    with zipfile.ZipFile(folder / "model.zip", "w") as archive:
        archive.writestr("model.json", '{"format": "vemprof-model", "format_version": 1, "kind": "forest"}')
        archive.writestr("../escape.sh", "echo owned")


def a_small_unet(folder: Path, store: Path) -> None:
    """A small U-Net trained for one step (trained once, copied for each row)."""
    shutil.copytree(_trained_unet(store), folder / "unet")


def a_small_unet_and_its_onnx(folder: Path, store: Path) -> None:
    from vemprof.learn._export import export_model

    a_small_unet(folder, store)
    export_model(folder / "unet", format="onnx", out=folder / "unet.onnx")


def a_small_unet_and_its_czann(folder: Path, store: Path) -> None:
    from vemprof.learn._export import export_model

    a_small_unet(folder, store)
    export_model(folder / "unet", format="czann", out=folder / "unet.czann")


_MODELS: dict[Path, Path] = {}


def _trained_model(store: Path) -> Path:
    if store not in _MODELS:
        from vemprof.learn import save_model, train_classifier
        from vemprof.store import Store

        folder = store.parent / "trained"
        folder.mkdir(exist_ok=True)
        a_store_with_annotations(folder, store)
        description, weights = train_classifier(Store.open(folder / "cell.zarr"), "paint", trees=2)
        _MODELS[store] = save_model(folder / "model", description, weights)
    return _MODELS[store]


_UNETS: dict[Path, Path] = {}


def _trained_unet(store: Path) -> Path:
    if store not in _UNETS:
        from vemprof.learn import save_model, train_unet
        from vemprof.store import Store

        folder = store.parent / "trained-unet"
        folder.mkdir(exist_ok=True)
        a_store_with_annotations(folder, store)
        trained = train_unet(Store.open(folder / "cell.zarr"), "paint", max_iterations=1, device="cpu",
                             network={"channels": [8, 16, 32], "residual_units": 1}, patch=32)
        _UNETS[store] = save_model(folder / "unet", trained[0], trained[1], others=trained[2])
    return _UNETS[store]


@dataclass(frozen=True)
class Failure:
    args: str
    setup: Callable[[Path, Path], None]
    fragment: str
    status: int = 2

    def __str__(self) -> str:
        return self.args


FAILURES = [
    # import
    Failure("import nope.tif cell.zarr", nothing, "no such file or folder: nope.tif"),
    Failure("import notes.docx cell.zarr", a_word_file, "unknown format"),
    Failure("import em.tif cell.zarr", an_uncalibrated_tiff, "--voxel-size Z,Y,X"),
    Failure("import em.tif cell.zarr --voxel-size 0,5,5", an_uncalibrated_tiff, "must be positive"),
    Failure("import em.tif cell.zarr --voxel-size 5,5", an_uncalibrated_tiff, "three numbers"),
    Failure("import em.tif cell.zarr --chunks 0,64,64", a_calibrated_tiff, "--chunks must be positive"),
    Failure("import em.tif cell.zarr --memory 0", a_calibrated_tiff, "(--memory) must be positive"),
    Failure("import labels.tif cell.zarr --voxel-size 8,5,5", a_label_tiff, "--as-image"),
    Failure("import rgb.tif cell.zarr --voxel-size 8,5,5", an_rgb_tiff, "--channel"),
    Failure("import rgb.tif cell.zarr --voxel-size 8,5,5 --channel 3", an_rgb_tiff, "--channel 0"),
    Failure("import em.tif cell.zarr --level 2", a_calibrated_tiff, "give --level one of those"),
    Failure("import em.tif notes.txt/cell.zarr", a_file_where_a_folder_should_be, "notes.txt is a file"),
    Failure("import em.tif cell.zarr", a_store_and_a_calibrated_tiff, "--overwrite"),
    Failure("import cell.zarr copy.zarr", a_store_with_a_corrupt_chunk, "corrupt or unreadable data"),
    Failure("import cell.zarr copy.zarr", a_store_with_a_missing_chunk, "chunk missing"),
    Failure("import cell.zarr copy.zarr", a_store_with_corrupt_array_metadata, "zarr.json"),
    Failure("import em.tif other.zarr --as-labels mito", a_calibrated_tiff, "no such dataset store"),
    Failure("import labels.tif cell.zarr --as-labels mito", a_store_and_a_smaller_label_tiff, "same voxels"),
    Failure("import labels.tif cell.zarr --as-labels 'bad name'", a_store_and_a_smaller_label_tiff,
            "not a valid name"),
    Failure("import em.tif cell.zarr --as-labels x --as-image", a_store_and_a_calibrated_tiff,
            "--as-image is for images"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes nucleus", a_store_and_a_painted_tiff,
            "holds the value 3 (near z 0:16, y 0:48, x 0:40), outside 0…2"),
    Failure("import painted.tif cell.zarr --as-annotations paint", a_store_and_a_painted_tiff,
            "give them with --classes"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a,a", a_store_and_a_painted_tiff,
            "--classes names 'a' more than once"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a,,b", a_store_and_a_painted_tiff,
            "--classes has an empty name"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a,b --as-labels x",
            a_store_and_a_painted_tiff, "give one of them"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a,b --as-image",
            a_store_and_a_painted_tiff, "give one of them"),
    Failure("import painted.tif cell.zarr --classes a,b", a_store_and_a_painted_tiff, "--as-annotations NAME"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a", a_store_and_a_float_tiff,
            "float32 values, not painted classes"),
    Failure("import painted.tif cell.zarr --as-annotations paint --classes a", a_store_and_an_unpainted_tiff,
            "no annotated voxel"),
    # info
    Failure("info nope.zarr", nothing, "no such file or folder"),
    Failure("info cell.zarr", a_store_with_corrupt_provenance, "provenance.json"),
    Failure("info cell.zarr", a_store_with_corrupt_array_metadata, "zarr.json"),
    # export
    Failure("export cell.zarr out/em.tif", a_store, "out does not exist"),
    Failure("export cell.zarr em.png", a_store, "must end in .tif"),
    Failure("export cell.zarr em.tif --labels mito", a_store, "no labels 'mito'"),
    Failure("export cell.zarr em.tif --level 9", a_store, "level 9 is out of range"),
    Failure("export nope.zarr em.tif", nothing, "no such dataset store"),
    # preview
    Failure("preview cell.zarr --out out/cell.png", a_store, "out does not exist"),
    Failure("preview cell.zarr --labels mito", a_store, "no labels 'mito'"),
    Failure("preview cell.zarr --out notes.txt/cell.png", a_store_and_a_file, "notes.txt is a file"),
    # synth
    Failure("synth cell.zarr", a_store, "--overwrite"),
    Failure("synth p.zarr --set x=1", nothing, "vemprof synth --parameters"),
    Failure("synth p.zarr --set seed=abc", nothing, "seed"),
    Failure("synth p.zarr --seed 1 --set seed=2", nothing, "give the seed once"),
    Failure("synth p.zarr --set n_mitochondria=many", nothing, "integer"),
    Failure("synth p.zarr --voxel-size 0,20,20", nothing, "spacing"),
    Failure("synth notes.txt/p.zarr", a_file_where_a_folder_should_be, "notes.txt is a file"),
    Failure("synth", nothing, "give the store to create"),
    Failure("synth p.zarr --tiles 0x2x2", nothing, "--tiles counts must be at least 1 on every axis"),
    Failure("synth p.zarr --tiles 1x-2x2", nothing, "--tiles counts must be at least 1 on every axis"),
    Failure("synth p.zarr --tiles 2x2", nothing, "--tiles takes three integers Z,Y,X (e.g. --tiles 1x2x2)"),
    Failure("synth p.zarr --tiles many", nothing, "--tiles takes three integers Z,Y,X"),
    Failure("synth p.zarr --tiles 1x2x2 --shape 32,64,64 --voxel-size 40,40,40", nothing, "too small for a cell"),
    # ops
    Failure("ops chain.yaml cell.zarr", a_store, "no such chain file"),
    Failure("ops chain.yaml cell.zarr", a_chain_and_a_store, "no_such_operation"),
    Failure("ops chain.yaml nope.zarr", a_chain_and_a_store, "no such dataset store"),
    Failure("ops chain.yaml", nothing, "give a chain and a store"),
    # evaluate
    Failure("evaluate cell.zarr --truth mito --pred nucleus", a_store, "no labels 'mito' in cell.zarr and no file mito; "
            "it has labels: nucleus"),
    Failure("evaluate cell.zarr --truth nucleus --pred mito", a_store, "no labels or probabilities 'mito'"),
    Failure("evaluate cell.zarr --truth labels.tif --pred nucleus", a_store_and_a_smaller_label_tiff,
            "has shape (8, 48, 40) but the prediction labels/nucleus has shape (16, 48, 40)"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --points", a_store, "--points needs --tolerance-nm"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --points --tolerance-nm 0", a_store,
            "--tolerance-nm must be a positive distance"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --points --tolerance-nm -5", a_store,
            "--tolerance-nm must be a positive distance"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --tolerance-nm 60", a_store,
            "--tolerance-nm is for --points"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --instances --points --tolerance-nm 60", a_store,
            "give one of them"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --regions nucleus", a_store,
            "--regions scores points per region"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus --points --tolerance-nm 60 --regions cells", a_store,
            "no labels 'cells'"),
    Failure("evaluate cell.zarr --truth nucleus --pred nucleus_p --instances", a_store_with_probabilities,
            "objects need a label image"),
    Failure("evaluate nope.zarr --truth nucleus --pred nucleus", nothing, "no such dataset store"),
    # annotate-planes
    Failure("annotate-planes cell.zarr --from-labels mito --out paint", a_store, "no labels 'mito' in cell.zarr; "
            "it has: nucleus"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out paint --contacts mito", a_store,
            "--contacts names mito, which --from-labels does not"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out paint --every 0", a_store,
            "--every must be a whole number of planes, at least 1"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out paint --fraction 0", a_store,
            "--fraction is the part of each annotated plane painted, more than 0 and at most 1"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out paint --fraction 1.5", a_store,
            "more than 0 and at most 1, got 1.5"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out paint --axis t", a_store,
            "--axis must be z, y or x"),
    Failure("annotate-planes cell.zarr --from-labels nucleus --out nucleus", a_store,
            "labels/nucleus already exists in cell.zarr; choose another --out or pass --overwrite"),
    Failure("annotate-planes cell.zarr --from-labels nucleus,speck --out paint", a_store_with_labels_in_one_plane,
            "'speck' has no voxel in the annotated planes 0, 10 along z"),
    Failure("annotate-planes nope.zarr --from-labels nucleus --out paint", nothing, "no such dataset store"),
    # train
    Failure("train cell.zarr --annotations paint --out model", a_store, "no annotation image 'paint'"),
    Failure("train cell.zarr --annotations nucleus --out model", a_store, "without class names"),
    Failure("train cell.zarr --annotations paint --out model", a_store_with_resin_only_annotations,
            "nucleus have no annotated voxel"),
    Failure("train cell.zarr --annotations paint --out model --level 7", a_store_with_annotations,
            "--level 7 does not exist"),
    Failure("train cell.zarr --annotations paint --out model --kind magic", a_store_with_annotations,
            "--kind magic is not available; this vemprof trains: forest, unet"),
    Failure("train cell.zarr --annotations paint --out model --kind unet --device cuda", a_store_with_annotations,
            "--device cuda asked for, but PyTorch sees no CUDA GPU here; use --device cpu"),
    Failure("train cell.zarr --annotations paint --out model --kind unet --max-minutes 0", a_store_with_annotations,
            "--max-minutes must be positive"),
    Failure("train cell.zarr --annotations paint --out model --trees 0", a_store_with_annotations,
            "--trees must be at least 1"),
    Failure("train cell.zarr --annotations paint --out cell.zarr", a_store_with_annotations,
            "cell.zarr already exists; choose another --out"),
    Failure("train nope.zarr --annotations paint --out model", nothing, "no such dataset store"),
    # predict
    Failure("predict cell.zarr --model nope", a_store, "no such model: nope"),
    Failure("predict cell.zarr --model model.zip", a_store_and_a_foreign_zip, "a path outside the model"),
    Failure("predict cell.zarr --model model", a_store_and_a_model_of_other_voxels,
            "trained at 30 × 30 × 30 nm voxels; no level of cell.zarr has that voxel size"),
    Failure("predict cell.zarr --model model --level 1", a_store_and_a_model,
            "trained at 8 × 5 × 5 nm voxels but level 1 of cell.zarr has 8 × 10 × 10 nm; pass --level 0"),
    Failure("predict cell.zarr --model model --level 5", a_store_and_a_model, "--level 5 does not exist"),
    Failure("predict cell.zarr --model model", a_store_and_a_model,
            "already holds labels/nucleus; pass --prefix (e.g. --prefix predicted_)"),
    Failure("predict nope.zarr --model model", nothing, "no such dataset store"),
    Failure("predict cell.zarr --model unet --prefix p_", a_store_and_a_unet,
            "the Z planes at level 0 are 48 × 40 pixels, smaller than the model's 128-pixel training patch"),
    Failure("predict cell.zarr --model unet --prefix p_ --cleanup nucleus.closing_nm", a_store_and_a_unet,
            "--cleanup takes CLASS.PARAMETER=VALUE, e.g. mitochondria.neck_ratio=0.5; got 'nucleus.closing_nm'"),
    Failure("predict cell.zarr --model unet --prefix p_ --cleanup golgi.closing_nm=5", a_store_and_a_unet,
            "--cleanup names class(es) golgi the model does not have"),
    Failure("predict cell.zarr --model unet --prefix p_ --cleanup nucleus.radius_nm=5", a_store_and_a_unet,
            "unknown clean-up parameter radius_nm for 'nucleus' (kind 'largest'); valid: kind, closing_nm"),
    Failure("predict cell.zarr --model model --prefix p_ --cleanup cell.closing_nm=5", a_store_and_a_model,
            "--cleanup is for U-Net models"),
    # measure
    Failure("measure cell.zarr --labels nope", a_store, "no labels 'nope' in"),
    Failure("measure cell.zarr --labels nucleus --image bogus", a_store,
            "--image bogus is neither raw nor a probability map"),
    Failure("measure cell.zarr --labels nucleus --sections nope --cell nucleus --nucleus nucleus", a_store,
            "no labels 'nope' in"),
    # sections
    Failure("sections cell.zarr --nucleus nope", a_store, "no labels 'nope' in"),
    Failure("sections cell.zarr --plane 1,2,3", a_store, "--plane takes a point and a normal, Z,Y,X:NZ,NY,NX"),
    Failure("sections cell.zarr --plane 1,2,3:0,0,0", a_store, "the plane's normal must be 3 finite numbers"),
    # distances
    Failure("distances cell.zarr --labels nucleus", a_store, "say what to measure the distances to: --cell and "
            "--nucleus (the membranes), --to OTHER (another label image), or both"),
    Failure("distances cell.zarr --labels nucleus --cell nucleus", a_store, "give --cell and --nucleus together"),
    Failure("distances cell.zarr --labels nucleus --to nucleus", a_store, "no table 'nucleus' in"),
    Failure("distances cell.zarr --labels spots --to nucleus", a_store_with_points_and_a_round_nucleus,
            "no labels 'spots' in"),
    Failure("distances cell.zarr --labels nope --to nucleus", a_store, "no labels 'nope' in"),
    # points
    Failure("points cell.zarr --labels nope", a_store, "no table 'nope' in"),
    Failure("points cell.zarr --labels spots --surface nope", a_store_with_points_and_a_round_nucleus,
            "no labels 'nope' in"),
    Failure("points cell.zarr --labels spots --regions nope", a_store_with_points_and_a_round_nucleus,
            "no labels 'nope' in"),
    Failure("points cell.zarr --labels spots --surface round --simulations 0", a_store_with_points_and_a_round_nucleus,
            "simulations must be a whole number >= 1"),
    Failure("points cell.zarr --labels spots --k 20", a_store_with_points_and_a_round_nucleus,
            "12 points are too few for the mean distance to 20 nearest neighbours"),
    # pores
    Failure("pores cell.zarr --steps detectt", a_store,
            "unknown step(s) detectt; the steps are pockets, masks, train, detect, distribute, score"),
    Failure("pores cell.zarr --rotations 30,x", a_store, "--rotations takes degrees like 30,60,90 or none, got '30,x'"),
    Failure("pores cell.zarr --rotations 120", a_store, "--rotations must lie in (0, 90] degrees, got '120'"),
    Failure("pores cell.zarr --steps train --nucleus round", a_store_with_odd_nuclei, "no labels 'pore_masks' in"),
    Failure("pores cell.zarr --steps train --nucleus round --training-fraction 0", a_store_with_odd_nuclei,
            "--training-fraction must be in (0, 1], got 0.0"),
    Failure("pores cell.zarr --steps detect --nucleus round --model nope.zip", a_store_with_odd_nuclei,
            "no pore model at nope.zip; train one first (--steps train) or give it with --model"),
    Failure("pores cell.zarr --steps train --nucleus round --rounds 0", a_store_with_odd_nuclei,
            "--rounds must be at least 1, got 0"),
    Failure("pores cell.zarr --steps detect --nucleus round --threshold 1", a_store_with_odd_nuclei,
            "--threshold must be between 0 and 1, got 1.0"),
    Failure("pores cell.zarr --steps distribute --pores nope --nucleus round", a_store_with_odd_nuclei,
            "no labels 'nope' in"),
    Failure("pores cell.zarr --steps score --truth nope --nucleus round", a_store_with_odd_nuclei,
            "no labels 'nope' in"),
    Failure("pores cell.zarr --steps masks --nucleus round", a_store_with_odd_nuclei, "no labels 'pockets' in"),
    Failure("pores cell.zarr --nucleus nope", a_store, "no labels 'nope' in"),
    Failure("pores cell.zarr --contrast foo", a_store, "--contrast must be auto, em or backscatter, not 'foo'"),
    Failure("pores cell.zarr --nucleus empty", a_store_with_odd_nuclei, "labels/empty is empty; segment the nucleus"),
    Failure("pores cell.zarr --nucleus two", a_store_with_odd_nuclei,
            "labels/two has 2 separate pieces; keep one nucleus"),
    Failure("pores cell.zarr", a_store, "labels/nucleus reaches every face of the volume"),
    Failure("pores cell.zarr --nucleus round", a_store_with_odd_nuclei,
            "surface); give --contrast em or --contrast backscatter"),
    Failure("pores cell.zarr --nucleus round --contrast em", a_store_with_odd_nuclei,
            "no pocket found under the envelope of labels/round; check --contrast"),
    # pipeline
    Failure("pipeline check nope.yaml", a_store,
            "no pipeline file nope.yaml; write one (vemprof pipeline show > nope.yaml) or fix the path"),
    Failure("profile cell.zarr --pipeline nope.yaml", a_store,
            "no pipeline file nope.yaml; write one (vemprof pipeline show > nope.yaml) or fix the path"),
    Failure("profile nope.tif", nothing, "no such dataset store or stack: nope.tif; give a store"),
    Failure("profile cell.zarr", a_store, "has no annotation image labels/cell_scribbles; paint one"),
    Failure("profile empty.zarr", an_empty_store, "holds no raw image; import a stack into it first"),
    Failure("profile cell.zarr --scheduler tcp://127.0.0.1:9", a_store_with_scribbles,
            "no Dask scheduler answers at tcp://127.0.0.1:9"),
    Failure("batch nope.zarr", nothing, "not a dataset store: nope.zarr; import each stack first"),
    Failure("batch cell.zarr cell.zarr", a_store, "a store is given twice; give each once"),
    Failure("batch cell.zarr --workers 0", a_store, "--workers must be at least 1, got 0"),
    Failure("batch cell.zarr --workers 2 --scheduler tcp://127.0.0.1:9", a_store,
            "give --workers (a local cluster) or --scheduler (an existing one), not both"),
    # render
    Failure("render cell.zarr --labels nucleus --color-by volume_um3 --out f.png", a_store,
            "no table tables/nucleus in cell.zarr; measure the objects first: vemprof measure cell.zarr --labels"),
    Failure("render cell.zarr --labels nope --color-by volume_um3 --out f.png", a_store, "no labels 'nope' in"),
    Failure("render cell.zarr --labels nucleus --color-by volume_um3 --out f.jpg", a_store, ".png"),
    # correlate, compare
    Failure("correlate cell.zarr --table nope --x a --y b", a_store, "no table 'nope' in"),
    Failure("correlate nope.zarr --table t --x a --y b", nothing, "no such dataset store"),
    Failure("compare cell.zarr --table nope --column a --by b", a_store, "no table 'nope' in"),
    # export-model
    Failure("export-model nope --format onnx nope.onnx", nothing, "no such model: nope"),
    Failure("export-model unet --format keras unet.h5", a_small_unet,
            "--format keras is not available; vemprof exports: onnx, czann, bioimageio"),
    Failure("export-model unet --format czann unet.zip", a_small_unet,
            "a czann export is a .czann file; name it e.g. unet.czann"),
    Failure("export-model model --format onnx model.onnx", a_store_and_a_model,
            "is a forest model; only U-Net models export"),
    Failure("export-model unet --format onnx unet.onnx", a_small_unet_and_its_onnx,
            "unet.onnx already exists; choose another name or pass --overwrite"),
    Failure("export-model unet --format bioimageio unet.zip --sample gone.zarr", a_small_unet,
            "gone.zarr is not there; give one with --sample STORE"),
    Failure("export-model unet --format onnx unet.onnx --sample cell.zarr", a_small_unet,
            "--sample gives a bioimage.io package its test image; it is for --format bioimageio"),
    Failure("export-model unet --format onnx out/unet.onnx", a_small_unet, "out does not exist"),
    # import-model
    Failure("import-model nope.czann --out model", nothing, "no such file: nope.czann"),
    Failure("import-model unet.onnx --out model", a_small_unet_and_its_onnx,
            "holds the network alone, without the PyTorch weights (unet.pt) a vemprof U-Net needs"),
    Failure("import-model model.zip --out copy", a_store_and_a_foreign_zip, "a path outside the archive"),
    Failure("import-model notes.txt --out model", a_store_and_a_file, "is not a model package"),
    Failure("import-model unet.czann --out unet", a_small_unet_and_its_czann,
            "unet already exists; choose another --out or pass --overwrite"),
    Failure("import-model unet --out copy", a_small_unet, "unet is a folder; import-model reads a .czann"),
    # usage mistakes: click's own message, also status 2
    Failure("import", nothing, "Missing argument", status=2),
    Failure("import em.tif cell.zarr --no-such-option", a_calibrated_tiff, "No such option", status=2),
]


def disk_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            info = path.stat()
            state[path.relative_to(folder).as_posix()] = (info.st_size if path.is_file() else 0, info.st_mtime_ns)
    return state


@pytest.mark.parametrize("failure", FAILURES, ids=str)
def test_a_failed_command_says_why_in_one_line_and_leaves_the_disk_as_it_was(
        failure, vemprof_cli, template_store, tmp_path, monkeypatch):
    failure.setup(tmp_path, template_store)
    monkeypatch.chdir(tmp_path)
    before = disk_state(tmp_path)

    result = vemprof_cli(*_split(failure.args))

    assert result.code == failure.status, result
    assert "Traceback" not in result.stderr
    if failure.fragment in ("Missing argument", "No such option"):  # click prints usage around it
        assert failure.fragment in result.stderr
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert failure.fragment in lines[0], lines[0]
    assert disk_state(tmp_path) == before


def _split(args: str) -> list[str]:
    import shlex

    return shlex.split(args)


def test_every_command_has_rows():
    from vemprof.cli._app import app

    commands = {command.name or command.callback.__name__ for command in app.registered_commands}
    covered = {failure.args.split()[0] for failure in FAILURES}
    assert commands <= covered, f"add failure rows for: {sorted(commands - covered)}"



def test_the_fix_each_message_names_works(vemprof_cli, template_store, tmp_path, monkeypatch):
    """The options the messages point to exist and do what they say."""
    monkeypatch.chdir(tmp_path)
    a_store_with_a_missing_chunk(tmp_path, template_store)
    assert vemprof_cli("import", "cell.zarr", "copy.zarr", "--allow-missing-chunks").code == 0
    a_label_tiff(tmp_path, template_store)
    assert vemprof_cli("import", "labels.tif", "labels.zarr", "--voxel-size", "8,5,5", "--as-image").code == 0
    an_rgb_tiff(tmp_path, template_store)
    assert vemprof_cli("import", "rgb.tif", "green.zarr", "--voxel-size", "8,5,5", "--channel", "1").code == 0
    assert vemprof_cli("synth", "p.zarr", "--set", "seed=5", "--shape", "64,128,128", "--voxel-size", "40,40,40",
                       "--no-preview").code == 0
