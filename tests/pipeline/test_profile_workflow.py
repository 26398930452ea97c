"""The whole published workflow as `vemprof profile` runs it, on a small phantom: the cell
forest and the organelle U-Net trained from painted planes, measurements, distances,
correlations, the pores (pockets, masks, the 3D-aware model), their distribution by
section, and the report — opened in a real browser (headless Chromium) where one is
installed."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vemprof.pipeline import DEFAULT_PIPELINE
from vemprof.store import Store

STEPS = ["cell", "organelles", "measure", "distances", "statistics", "pores", "distribution", "report"]
#: The report's sections, each with something in it.
SECTIONS = ["Cell and organelles", "S/V against the distances to the membranes", "Nuclear pores",
            "How this was made"]


def quick(default: str) -> str:
    """The default pipeline with a short training of the organelles (a fixed number of
    steps: the same on a slow machine), and a pore model given by path (`pore_model`)."""
    pore_model = "model: null                  # a trained pore model (.zip) instead of training one"
    assert pore_model in default
    return (default.replace("max_iterations: 5000", "max_iterations: 300").replace(pore_model, "model: pore_model.zip")
            .replace("threshold: 0.5 ", "threshold: 0.1 "))


def pore_model(store: Store, path):
    """A pore model trained as the pores step trains it, for a fixed number of steps (the
    same on a busy machine: 5 minutes there once cut it at 652 of 800), on
    the true pores of half the nucleus (at 50 nm a pore is 2 voxels across: a model learns
    it from masks found by 3D operations in minutes, not in a test's seconds; after 600
    steps its probability near the envelope stayed under 0.1, after 800 it finds 70 % of
    the pores within 100 nm)."""
    from vemprof.workflows import paint_pore_training
    from vemprof.workflows._pore_model import train_pore_model

    paint_pore_training(store, nucleus="nucleus", masks="pores", out="true_pore_training")
    train_pore_model(store, annotations="true_pore_training", path=path, iterations=800, minutes=60,
                     rotations=(30, 60, 90))


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflow")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "vemprof", *map(str, args)], cwd=folder, capture_output=True,
                              text=True)

    assert run(*"synth cell.zarr --set shape=64,128,128 --voxel-size 60,50,50 --no-preview".split()).returncode == 0
    run(*"annotate-planes cell.zarr --from-labels cell --out cell_scribbles --every 16 --fraction 0.3".split())
    run(*"annotate-planes cell.zarr --from-labels nucleus,mitochondria --out organelle_annotations --every 4".split())
    pore_model(Store.open(folder / "cell.zarr"), folder / "pore_model.zip")
    (folder / "quick.yaml").write_text(quick(DEFAULT_PIPELINE.read_text()))
    first = run("profile", "cell.zarr", "--pipeline", "quick.yaml", "--prefix", "found_")
    again = run("profile", "cell.zarr", "--pipeline", "quick.yaml", "--prefix", "found_")
    return folder, first, again


def test_every_step_runs_once_and_a_rerun_skips_them_all(profiled):
    folder, first, again = profiled
    assert first.returncode == 0, first.stderr
    for index, step in enumerate(STEPS, start=1):
        assert f"[{index}/{len(STEPS)}] {step}: done in" in first.stdout
        assert f"[{index}/{len(STEPS)}] {step}: done before, unchanged; skipped" in again.stdout
    store = Store.open(folder / "cell.zarr")
    for name in ("cell", "nucleus", "mitochondria", "pockets", "pore_masks", "pores", "sections"):
        assert f"found_{name}" in store.label_names
    for name in ("mitochondria", "compartments", "mitochondria_correlations", "pores", "pore_density"):
        assert f"found_{name}" in store.table_names
        assert (folder / "cell_profile" / "tables" / f"{name}.csv").exists()
    assert "labels/cell" in {o for r in store.provenance if r["step"] == "synth" for o in r["outputs"]}
    truth = np.asarray(store.labels("cell").data) > 0  # the truth, untouched, beside what was found
    found = np.asarray(store.labels("found_cell").data) > 0
    assert (truth & found).sum() / (truth | found).sum() > 0.8


def test_the_report_holds_every_section_with_its_figures(profiled):
    folder, _, _ = profiled
    page = (folder / "cell_profile" / "report.html").read_text()
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert "Not made" not in page and "http" not in page.replace("http-equiv", "")  # nothing fetched
    assert len(re.findall(r"src='data:image/png;base64,", page)) == 7
    assert "pores_per_um2" in page and "student_p" in page and "sv_ratio_per_um" in page
    assert "<td>mitochondria</td>" in page and "<td>found_mitochondria</td>" not in page  # classes by their kind


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_report_renders_in_headless_chromium(profiled, tmp_path):
    folder, _, _ = profiled
    report = folder / "cell_profile" / "report.html"
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert all(f"<h2>{title}</h2>" in dom.stdout for title in SECTIONS)
    shot = tmp_path / "report.png"
    subprocess.run([*browser, "--window-size=1280,2400", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (2400, 1280) and pixels.std() > 20  # figures drawn, not a blank page
