"""`import_volume` keeps to its memory budget, whatever the stack's size, and stays exact."""

import os
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from vemprof.store import _writer
from vemprof.store._import import import_volume
from vemprof.store._pyramid import downsample, plan_pyramid
from vemprof.store._writer import write_pyramid

IMPORT = textwrap.dedent("""
    import sys
    from vemprof.store._import import import_volume
    import_volume(sys.argv[1], sys.argv[2], voxel_size_nm=(8, 5, 5), memory_mib=float(sys.argv[3]))
    print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
""")


def _peak_mib(code: str, *arguments) -> float:
    """Peak resident memory (MiB) of ``code`` run in a fresh interpreter, which prints it.

    The kernel's own high-water mark of the process (``VmHWM``), not ``getrusage``: a
    child's ``ru_maxrss`` starts from its parent's peak, here the test runner's.
    """
    done = subprocess.run([sys.executable, "-c", code, *map(str, arguments)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) / 1024


def _stack(depth: int, height: int, width: int) -> np.ndarray:
    """EM-like 8-bit texture and noise."""
    texture = 100 + 40 * np.sin(np.arange(width) / 9.0) * np.cos(np.arange(height)[:, None] / 13.0)
    noise = np.random.default_rng(5).integers(0, 60, (depth, height, width), dtype=np.uint8)
    return noise + texture.astype(np.uint8)


def _halved_in_y_and_x(stack: np.ndarray) -> np.ndarray:
    """2 × 2 means rounded half up, summed exactly."""
    sums = stack[:, 0::2, 0::2].astype(np.uint16) + stack[:, 0::2, 1::2] + stack[:, 1::2, 0::2] + stack[:, 1::2, 1::2]
    return ((sums + 2) // 4).astype(np.uint8)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak from Linux's /proc")
def test_a_stack_four_times_the_budget_imports_within_it_and_exactly(tmp_path):
    # 96 pages of 1024 × 1024 (96 MiB, one page per block as read): a whole chunk-row of
    # pages does not fit the 32 MiB budget, so the pages are read in bands of rows
    budget_mib = 32
    stack = _stack(96, 1024, 1024)
    source = tmp_path / "stack.tif"
    tifffile.imwrite(source, stack)
    tiny = tmp_path / "tiny.tif"
    tifffile.imwrite(tiny, stack[:8, :32, :32], photometric="minisblack")
    # the same interpreter, libraries and code paths, importing next to nothing
    idle = _peak_mib(IMPORT, tiny, tmp_path / "tiny.zarr", budget_mib)
    peak = _peak_mib(IMPORT, source, tmp_path / "cell.zarr", budget_mib)
    # the margin covers what the budget does not count (the dask graph of a tile, zarr's
    # metadata, the fingerprint's samples) and page-granular allocations
    assert peak - idle <= budget_mib + 16, f"{peak - idle:.0f} MiB above the idle {idle:.0f} MiB"

    store = zarr.open_group(str(tmp_path / "cell.zarr"), mode="r")
    np.testing.assert_array_equal(store["0"][:], stack)
    np.testing.assert_array_equal(store["1"][:], _halved_in_y_and_x(stack))


@pytest.mark.parametrize("memory_mib", [0.05, 0.3, 64])
@pytest.mark.parametrize("spacing", [(8, 5, 5), (5, 5, 5)])
def test_every_budget_writes_the_same_pyramid(tmp_path, memory_mib, spacing):
    """Bands, narrow tiles and levels read back from disk give what the lazy pyramid gives."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 65535, size=(37, 101, 90), dtype=np.uint16)
    chunks = (16, 32, 32)
    levels = plan_pyramid(image.shape, spacing, chunk_shape=chunks, averaged=True)
    paths = [tmp_path / str(index) for index in range(len(levels))]
    finished = []
    write_pyramid(da.from_array(image, chunks=(7, 50, 33)), paths, [level.factors for level in levels],
                  chunks=chunks, averaged=True, progress=finished.append, memory_mib=memory_mib)
    expected = image
    for index, level in enumerate(levels):
        if index:
            expected = downsample(da.from_array(expected), level.factors, averaged=True).compute()
        np.testing.assert_array_equal(zarr.open_array(str(paths[index]), mode="r")[:], expected)
    assert sum(finished) == sum(_writer.chunk_count(level.shape, [min(c, n) for c, n in zip(chunks, level.shape)])
                                for level in levels)


def test_chunks_are_the_bytes_zarr_writes(tmp_path):
    image = np.random.default_rng(2).integers(0, 4000, size=(20, 40, 36), dtype=np.uint16)
    ours = _writer.create_zarr_array(tmp_path / "ours", shape=image.shape, dtype=image.dtype, chunks=(8, 16, 16))
    target = _writer._ChunkTarget(ours)
    for index in np.ndindex(3, 3, 3):
        region = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, (8, 16, 16), image.shape))
        target[region] = image[region]
    theirs = _writer.create_zarr_array(tmp_path / "theirs", shape=image.shape, dtype=image.dtype, chunks=(8, 16, 16))
    theirs[:] = image
    files = sorted(p.relative_to(tmp_path / "theirs") for p in (tmp_path / "theirs" / "c").rglob("*") if p.is_file())
    assert len(files) == 27
    for file in files:
        assert (tmp_path / "ours" / file).read_bytes() == (tmp_path / "theirs" / file).read_bytes()


def test_an_import_interrupted_in_the_pyramid_resumes(tmp_path, monkeypatch):
    stack = _stack(40, 96, 80)
    source = tmp_path / "stack.tif"
    tifffile.imwrite(source, stack)
    calls = {"n": 0}
    store_block = _writer._store_block

    def interrupt_late(block, target, region):
        calls["n"] += 1
        if calls["n"] == 30:  # level 0 has 3 × 3 × 3 chunks: this is in level 1
            raise KeyboardInterrupt
        store_block(block, target, region)

    monkeypatch.setattr(_writer, "_store_block", interrupt_late)
    with pytest.raises(KeyboardInterrupt):
        import_volume(source, tmp_path / "cell.zarr", voxel_size_nm=(8, 5, 5), chunks=(16, 32, 32), memory_mib=0.1)
    monkeypatch.setattr(_writer, "_store_block", store_block)
    result = import_volume(source, tmp_path / "cell.zarr", voxel_size_nm=(8, 5, 5), chunks=(16, 32, 32))
    assert result.status == "resumed"
    np.testing.assert_array_equal(result.store.raw().data.compute(), stack)
    np.testing.assert_array_equal(result.store.raw(level=1).data.compute(), _halved_in_y_and_x(stack))
