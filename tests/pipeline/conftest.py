"""A store as a person brings it, profiled by the tests of `vemprof profile` and `vemprof batch`."""

import shutil
import signal

import pytest

from vemprof.learn import annotate_planes
from vemprof.store import write_dataset
from vemprof.synth import make_phantom

#: A quick pipeline over segmentations given as inputs: cell vs resin, then measurements.
QUICK = """name: quick
steps:
  - step: cell
    level: 0
    trees: 20
  - step: measure
  - step: distances
  - step: statistics
"""


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """A store as a person brings it: the image, the nucleus and mitochondria segmented
    (as inputs, not a phantom's truth), the cell painted on every 16th plane."""
    folder = tmp_path_factory.mktemp("profile")
    phantom = make_phantom(shape=(48, 96, 96), spacing=(60, 50, 50), seed=1)
    store = write_dataset(folder / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={name: phantom.labels[name] for name in ("cell", "nucleus", "mitochondria")},
                          step="segmented by hand", parameters={})
    annotate_planes(store, "cell_scribbles", from_labels="cell", every=16, fraction=0.5)
    (folder / "quick.yaml").write_text(QUICK)
    return folder


def fresh_copy(segmented, tmp_path):
    shutil.copytree(segmented, tmp_path, dirs_exist_ok=True)
    return tmp_path / "cell.zarr", tmp_path / "quick.yaml"




def as_at_a_terminal() -> None:
    """In a child process before it starts: Ctrl-C interrupts it, even where the tests run
    in the background (a shell's background jobs, and their children, ignore SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
