import dask.array as da
import numpy as np
import pytest

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import CHUNKS, as_dask


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize(
    "options", [{"method": "otsu"}, {"method": "percentile", "percentile": 37.5}, {"method": "value", "value": 120}]
)
def test_global_threshold_blockwise_is_exact(options, chunks, image):
    assert ops.threshold_value(as_dask(image, chunks), **options) == ops.threshold_value(image, **options)
    lazy = ops.threshold(as_dask(image, chunks), **options)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), ops.threshold(image, **options))


@pytest.mark.parametrize("percentile", [0, 0.1, 50, 93.7, 100])
def test_percentile_matches_numpy_on_float_images(percentile, monkeypatch):
    from vemprof.ops import _threshold

    monkeypatch.setattr(_threshold, "PERCENTILE_CANDIDATES", 50)  # force several narrowing passes
    values = np.random.default_rng(0).lognormal(size=(9, 10, 11)).astype(np.float32)
    expected = np.percentile(values.astype(np.float64), percentile)
    assert ops.threshold_value(values, method="percentile", percentile=percentile) == pytest.approx(expected, rel=1e-12)
    lazy_value = ops.threshold_value(as_dask(values, 4), method="percentile", percentile=percentile)
    assert lazy_value == ops.threshold_value(values, method="percentile", percentile=percentile)


def test_otsu_splits_two_populations():
    values = np.full((4, 10, 10), 50.0)
    values[:, 5:] = 150.0
    values = (values + np.random.default_rng(0).normal(0, 5, values.shape)).astype(np.uint8)
    mask = ops.threshold(values, method="otsu")
    assert mask[:, 5:].all() and not mask[:, :5].any()


def test_otsu_of_a_constant_image_is_that_value_and_gives_an_empty_mask():
    assert ops.threshold_value(np.full((3, 3, 3), 4.0)) == 4.0
    assert not ops.threshold(np.full((3, 3, 3), 4.0)).any()


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("method", ["gaussian", "mean"])
def test_local_threshold_blockwise_is_exact(method, chunks, image, spacing):
    whole = ops.threshold_local(image, window_nm=60, spacing=spacing, method=method, offset=-5)
    lazy = ops.threshold_local(as_dask(image, chunks), window_nm=60, spacing=spacing, method=method, offset=-5)
    np.testing.assert_array_equal(lazy.compute(), whole)


def test_local_threshold_follows_a_gradient_a_global_one_cannot(spacing):
    rng = np.random.default_rng(0)
    shape = (10, 20, 80)
    spots = rng.random(shape) < 0.05
    ramp = np.linspace(0, 200, shape[2])[None, None, :]
    values = ramp + 30 * spots
    local = ops.threshold_local(values, window_nm=100, spacing=spacing, offset=-10)
    interior = (slice(None), slice(None), slice(10, 70))
    assert (local[interior] == spots[interior]).mean() > 0.99
    assert (ops.threshold(values)[interior] == spots[interior]).mean() < 0.8


@pytest.mark.parametrize(
    "options, message",
    [
        ({"method": "value"}, "method='value' needs value=<threshold>"),
        ({"method": "percentile", "percentile": 101}, "needs percentile between 0 and 100, got 101"),
        ({"method": "triangle"}, "method must be one of 'otsu', 'value', 'percentile', got 'triangle'"),
    ],
)
def test_bad_threshold_options(options, message, image):
    with pytest.raises(VemprofError, match=message):
        ops.threshold(image, **options)
