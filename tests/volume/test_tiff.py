"""TIFF: ImageJ and OME-TIFF stacks, pyramids, hyperstacks, folders of slices and patterns (tifffile)."""

import logging
import threading

import dask.array as da
import numpy as np
import pytest
import tifffile
from volume_samples import em_image

from vemprof.errors import VemprofError
from vemprof.volume import open_volume
from vemprof.volume._tiff import _tifffile_errors


@pytest.mark.parametrize(("unit", "per_unit"), [("um", 1), ("micron", 1), ("\\u00B5m", 1), ("nm", 1000)])
def test_imagej_stack(tmp_path, image, unit, per_unit):
    # X/YResolution are pixels per unit: 200 px/µm = 5 nm pixels, 250 px/µm = 4 nm rows
    tifffile.imwrite(tmp_path / "stack.tif", image, imagej=True, resolution=(200 / per_unit, 250 / per_unit),
                     metadata={"spacing": 0.008 * per_unit, "unit": unit, "axes": "ZYX"})
    volume = open_volume(tmp_path / "stack.tif")
    assert isinstance(volume.data, da.Array)
    assert volume.shape == image.shape and volume.dtype == image.dtype and volume.name == "stack"
    assert volume.spacing == pytest.approx((8.0, 4.0, 5.0))
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_imagej_stack_without_depth_or_unit_has_unknown_spacing(tmp_path, image):
    tifffile.imwrite(tmp_path / "a.tif", image, imagej=True, resolution=(200, 200),
                     metadata={"unit": "um", "axes": "ZYX"})
    tifffile.imwrite(tmp_path / "b.tif", image, imagej=True, resolution=(200, 200),
                     metadata={"spacing": 0.008, "axes": "ZYX"})
    depthless, unitless = open_volume(tmp_path / "a.tif"), open_volume(tmp_path / "b.tif")
    assert depthless.spacing is None  # ImageJ's default depth of 1 unit is not trusted…
    assert depthless.partial_spacing == (None, pytest.approx(5.0), pytest.approx(5.0))  # …but X and Y are known
    assert unitless.spacing is None and unitless.partial_spacing is None  # no unit: pixels


@pytest.mark.parametrize(("sizes", "units", "expected"), [
    ((8, 5, 4), ("nm", "nm", "nm"), (8.0, 5.0, 4.0)),
    ((0.008, 0.005, 0.004), (None, None, None), (8.0, 5.0, 4.0)),  # the OME default unit is µm
    ((80, 50, 40), ("Å", "Å", "Å"), (8.0, 5.0, 4.0)),
])
def test_ome_tiff(tmp_path, image, sizes, units, expected):
    metadata = {"axes": "ZYX"}
    for axis, size, unit in zip("ZYX", sizes, units):
        metadata[f"PhysicalSize{axis}"] = size
        if unit:
            metadata[f"PhysicalSize{axis}Unit"] = unit
    tifffile.imwrite(tmp_path / "cell.ome.tif", image, ome=True, metadata=metadata)
    volume = open_volume(tmp_path / "cell.ome.tif")
    assert volume.name == "cell" and volume.spacing == pytest.approx(expected)
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_ome_tiff_pyramid_level(tmp_path, image):
    with tifffile.TiffWriter(tmp_path / "pyramid.ome.tif", ome=True) as tiff:
        tiff.write(image, subifds=1, metadata={"axes": "ZYX", "PhysicalSizeX": 5, "PhysicalSizeXUnit": "nm",
                                               "PhysicalSizeY": 5, "PhysicalSizeYUnit": "nm",
                                               "PhysicalSizeZ": 8, "PhysicalSizeZUnit": "nm"})
        tiff.write(image[:, ::2, ::2], subfiletype=1)
    volume = open_volume(tmp_path / "pyramid.ome.tif", level=1)
    assert volume.shape == (6, 16, 20) and volume.spacing == (8.0, 10.0, 10.0)
    np.testing.assert_array_equal(volume.data.compute(), image[:, ::2, ::2])
    with pytest.raises(VemprofError, match=r"level 2 is out of range: .* levels 0…1"):
        open_volume(tmp_path / "pyramid.ome.tif", level=2)


def test_plain_multipage_tiff_strips(tmp_path, image):
    tifffile.imwrite(tmp_path / "plain.tif", image, compression="zlib", rowsperstrip=8)
    volume = open_volume(tmp_path / "plain.tif")
    assert volume.spacing is None and volume.partial_spacing is None
    assert all(c % s == 0 or c == n for c, s, n in zip(volume.chunks, (1, 8, 40), image.shape))
    np.testing.assert_array_equal(volume.data.compute(), image)


@pytest.mark.parametrize(("resolution", "unit"), [
    ((2_000_000, 2_000_000), "CENTIMETER"),  # pixels per cm: 5 nm pixels
    ((5_080_000, 5_080_000), "INCH"),
    ((200, 200), "MICROMETER"),  # tifffile's own units
])
def test_plain_tiff_resolution_tags_give_y_and_x_but_not_z(tmp_path, image, resolution, unit):
    tifffile.imwrite(tmp_path / "plain.tif", image, resolution=resolution, resolutionunit=unit)
    volume = open_volume(tmp_path / "plain.tif")
    assert volume.spacing is None
    assert volume.partial_spacing == (None, pytest.approx(5.0), pytest.approx(5.0))
    with pytest.raises(VemprofError, match=r"^the voxel size of .*plain.tif is only partly known: the file records "
                                           r"5 × 5 nm in Y, X but no Z spacing; give it as --voxel-size Z,5,5 in nm$"):
        volume.require_spacing()
    calibrated = volume.with_spacing((8, 5, 5))
    assert calibrated.spacing == (8.0, 5.0, 5.0) and calibrated.partial_spacing is None


@pytest.mark.parametrize(("resolution", "unit"), [
    ((1, 1), "INCH"),  # the TIFF default: uncalibrated
    ((72, 72), "INCH"),  # a print setting, not a microscope's pixel
    ((300, 300), "CENTIMETER"),
    ((2_000_000, 2_000_000), "NONE"),  # no unit
])
def test_plain_tiff_default_resolutions_mean_unknown(tmp_path, image, resolution, unit):
    tifffile.imwrite(tmp_path / "plain.tif", image, resolution=resolution, resolutionunit=unit)
    volume = open_volume(tmp_path / "plain.tif")
    assert volume.spacing is None and volume.partial_spacing is None
    with pytest.raises(VemprofError, match=r"voxel size of .*plain.tif is unknown: the file does not record it; "
                                           r"give it as --voxel-size Z,Y,X in nm$"):
        volume.require_spacing()


def test_folder_of_calibrated_slices_gives_y_and_x(tmp_path, image):
    (tmp_path / "slices").mkdir()
    for z, plane in enumerate(image):
        tifffile.imwrite(tmp_path / f"slices/s_{z}.tif", plane, resolution=(250, 200), resolutionunit="MICROMETER")
    assert open_volume(tmp_path / "slices").partial_spacing == (None, pytest.approx(5.0), pytest.approx(4.0))


def test_hyperstack_channels(tmp_path, image):
    tifffile.imwrite(tmp_path / "two.tif", np.stack([image, 255 - image], axis=1), imagej=True,
                     metadata={"axes": "ZCYX"})
    with pytest.raises(VemprofError, match=r"has 2 channels; pick one with --channel 0…1"):
        open_volume(tmp_path / "two.tif")
    np.testing.assert_array_equal(open_volume(tmp_path / "two.tif", channel=1).data.compute(), 255 - image)


def test_rgb_stack_samples_are_channels(tmp_path, image):
    tifffile.imwrite(tmp_path / "rgb.tif", np.stack([image, image // 2, image // 3], axis=-1), photometric="rgb")
    np.testing.assert_array_equal(open_volume(tmp_path / "rgb.tif", channel=1).data.compute(), image // 2)


def test_2d_tiff_is_refused(tmp_path, image):
    tifffile.imwrite(tmp_path / "plane.tif", image[0])
    with pytest.raises(VemprofError, match=r"plane.tif is not a 3D stack: it has no Z axis"):
        open_volume(tmp_path / "plane.tif")
    tifffile.imwrite(tmp_path / "channels.tif", image, imagej=True, metadata={"axes": "CYX"})
    with pytest.raises(VemprofError, match=r"no Z axis \(axes cyx, .*; if its c axis is really Z, re-save"):
        open_volume(tmp_path / "channels.tif")


def write_slices(folder, volume, name="slice_{}.tif", start=1):
    folder.mkdir(exist_ok=True)
    for i, plane in enumerate(volume, start=start):
        tifffile.imwrite(folder / name.format(i), plane)


def test_folder_of_slices_in_natural_order(tmp_path):
    volume = np.stack([np.full((8, 10), i, np.uint16) for i in range(12)])  # plane i holds the value i
    write_slices(tmp_path / "slices", volume)  # slice_1 … slice_12: slice_10 sorts after slice_9
    (tmp_path / "slices/notes.txt").write_text("not a slice")
    opened = open_volume(tmp_path / "slices")
    assert opened.shape == (12, 8, 10) and opened.dtype == np.uint16 and opened.spacing is None
    assert opened.name == "slices" and opened.chunks[1:] == (8, 10)
    np.testing.assert_array_equal(opened.data.compute(), volume)
    np.testing.assert_array_equal(opened.data[3:5, 2:4, 1:3].compute(), volume[3:5, 2:4, 1:3])


def test_pattern_of_slices(tmp_path, image):
    write_slices(tmp_path, image, name="run_a_{}.tif")
    write_slices(tmp_path, image[::-1], name="run_b_{}.tif")
    opened = open_volume(str(tmp_path / "run_a_*.tif"))
    np.testing.assert_array_equal(opened.data.compute(), image)
    with pytest.raises(VemprofError, match=r"no files match .*run_c_\*.tif; check the pattern"):
        open_volume(str(tmp_path / "run_c_*.tif"))


def test_slices_must_agree(tmp_path, image):
    write_slices(tmp_path / "shape", image)
    tifffile.imwrite(tmp_path / "shape/slice_4.tif", image[0, :30])
    with pytest.raises(VemprofError, match=r"slices differ: slice_4.tif is 30×40 uint8 but slice_1.tif is "
                                           r"32×40 uint8; all slices must have the same shape and dtype"):
        open_volume(tmp_path / "shape")
    write_slices(tmp_path / "dtype", image)
    tifffile.imwrite(tmp_path / "dtype/slice_2.tif", image[0].astype(np.uint16))
    with pytest.raises(VemprofError, match=r"slices differ: slice_2.tif is 32×40 uint16"):
        open_volume(tmp_path / "dtype")


def test_slice_changed_after_opening(tmp_path, image):
    write_slices(tmp_path / "s", image)
    volume = open_volume(tmp_path / "s")
    tifffile.imwrite(tmp_path / "s/slice_3.tif", image[0, :16])
    with pytest.raises(VemprofError, match=r"corrupt or unreadable data in .*s at z 0:6, y 0:32, x 0:40 "
                                           r"\(ValueError: slice_3.tif is 16×40 uint8, expected 32×40 uint8\)"):
        volume.data.compute()


def test_text_file_named_tif(tmp_path):
    (tmp_path / "notes.tif").write_text("hello, this is not an image\n")
    with pytest.raises(VemprofError, match=r"notes.tif is not a readable TIFF file .*check that it is a TIFF"):
        open_volume(tmp_path / "notes.tif")


@pytest.mark.parametrize("imagej", [True, False])
def test_truncated_tiff(tmp_path, imagej):
    tifffile.imwrite(tmp_path / "full.tif", em_image((12, 32, 40)), imagej=imagej)
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(VemprofError, match=r"cut.tif is truncated or damaged \(tifffile: .*\); restore the file"):
        open_volume(tmp_path / "cut.tif")


def test_damaged_strip_fails_when_read(tmp_path, image, one_block_per_chunk):
    tifffile.imwrite(tmp_path / "z.tif", image, compression="zlib")
    with tifffile.TiffFile(tmp_path / "z.tif") as tiff:
        offset = tiff.pages[4].dataoffsets[0]
    with open(tmp_path / "z.tif", "r+b") as handle:
        handle.seek(offset)
        handle.write(b"\xff" * 16)
    volume = open_volume(tmp_path / "z.tif")
    np.testing.assert_array_equal(volume.data[:4].compute(), image[:4])  # the other pages still read
    with pytest.raises(VemprofError, match=r"corrupt or unreadable data in .*z.tif at z 4:5, y 0:32, x 0:40 "
                                           r"\(.*\); restore the file or re-export it"):
        volume.data.compute()


def test_tifffile_errors_of_another_thread_are_not_blamed_on_this_file(tmp_path, image):
    """tifffile logs parse errors to one global logger; each read collects only its own thread's."""
    tifffile.imwrite(tmp_path / "good.tif", image)
    inside, logged = threading.Event(), threading.Event()
    outcome = []

    def read_good_file():
        try:
            with _tifffile_errors(tmp_path / "good.tif"):
                inside.set()
                logged.wait(5)
        except VemprofError as error:
            outcome.append(error)

    reader = threading.Thread(target=read_good_file)
    reader.start()
    inside.wait(5)
    logging.getLogger("tifffile").error("another file, read in another thread, is damaged")
    logged.set()
    reader.join()
    assert outcome == []
    with pytest.raises(VemprofError, match=r"good.tif is truncated or damaged \(tifffile: this one\)"):
        with _tifffile_errors(tmp_path / "good.tif"):
            logging.getLogger("tifffile").error("this one")
