"""Ctrl-C as a user presses it: a real SIGINT to a real ``vemprof`` process.

An interrupted command must exit 130 (so ``vemprof import … && next`` stops), say in one
line how to resume, and leave what it finished for the same command to pick up.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from vemprof.cli import INTERRUPTED
from vemprof.store import Store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGINT is sent as on Linux and macOS")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A calibrated 8-bit stack (96 × 512 × 512, 24 MiB) that takes seconds to import."""
    path = tmp_path_factory.mktemp("interrupt") / "stack.tif"
    rng = np.random.default_rng(0)
    data = rng.integers(0, 255, (96, 512, 512), dtype=np.uint8)
    tifffile.imwrite(path, data, imagej=True, resolution=(200.0, 200.0),
                     metadata={"spacing": 0.008, "unit": "um", "axes": "ZYX"})
    return path, data


def as_at_a_terminal() -> None:
    """In the child before it starts: Ctrl-C interrupts, even where this test runs in the
    background (a shell's background jobs, and their children, ignore SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def vemprof(*args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vemprof", *map(str, args)], cwd=cwd, preexec_fn=as_at_a_terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt(process: subprocess.Popen, *, when) -> tuple[int, str]:
    """Wait until ``when()`` holds, send SIGINT, return the exit status and standard error."""
    deadline = time.monotonic() + 60
    while not when() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def test_ctrl_c_during_an_import_exits_130_and_the_same_command_resumes(stack, tmp_path):
    source, data = stack
    destination = tmp_path / "cell.zarr"
    partial = tmp_path / "cell.zarr.partial"
    command = ("import", source, destination, "--chunks", "32,128,128")

    status, stderr = interrupt(vemprof(*command, cwd=tmp_path),
                               when=lambda: any(partial.glob(".staging/raw/0/c/*")))

    assert status == 130, stderr
    assert stderr.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in stderr
    assert not destination.exists() and partial.exists()

    finished = vemprof(*command, cwd=tmp_path)
    stdout, stderr = finished.communicate(timeout=120)
    assert finished.returncode == 0, stderr
    assert stdout.startswith("resumed")
    np.testing.assert_array_equal(Store.open(destination).raw().data.compute(), data)


def test_ctrl_c_while_the_libraries_load_exits_130(tmp_path):
    """Python reports each finished import (``-X importtime``); the interrupt is sent as
    soon as the command's own modules are loading, long before the heavy ones are done."""
    process = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "vemprof", "info", str(tmp_path)],
                               preexec_fn=as_at_a_terminal,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.split("|")[-1].strip() == "typer":
            break
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    process.wait(timeout=60)
    messages = [line for line in rest.splitlines() if not line.startswith("import time:")]
    assert process.returncode == 130, rest
    assert messages == [INTERRUPTED]


def test_an_interrupt_raised_by_any_import_is_caught(tmp_path):
    """Deterministic twin of the test above: the interrupt arrives while dask is imported."""
    program = (
        "import builtins, sys\n"
        "real_import = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name.startswith('dask'):\n"
        "        raise KeyboardInterrupt\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        f"sys.argv = ['vemprof', 'info', {str(tmp_path)!r}]\n"
        "from vemprof.cli import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == INTERRUPTED
