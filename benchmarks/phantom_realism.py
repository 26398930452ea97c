"""Benchmark: how far the phantom is from real FIB-SEM (issue 13, item 4).

The reference method — scikit-image ``multiscale_basic_features`` (intensity, edges,
texture; σ 1–8 px; per 2D plane) and a scikit-learn random forest (100 trees, depth 16)
trained on 2 % of the pixels of the training planes — segments mitochondria on

* the **phantom** (default: ``make_phantom(PhantomParameters())``, 256 × 512 × 512 at
  25 × 20 × 20 nm): trained on planes z = 0, 10, 20, …, scored on z = 5, 15, 25, … (every
  plane between two training planes, whole planes, resin included); and on
* the **real crop** (``../shared/data/epfl_hippocampus_fibsem``, EPFL hippocampus
  FIB-SEM at 5 nm): trained on the 27 training planes, scored on the 5 test planes.

Each runs at its own pixel size (20 nm and 5 nm). Target: the phantom's mitochondria IoU
within 0.10 of the real one. Beside the IoUs, image statistics at a matched pixel size
(the real planes block-averaged 4 × 4 to 20 nm; phantom windows of the same size inside
the cell): radially averaged power-spectrum slope, edge density, local-contrast quartiles.
A figure puts a phantom slice beside a real slice at the same pixel size, with the ground
truth and the forest's prediction outlined.

Run: ``python benchmarks/phantom_realism.py [--phantom STORE] [--real DIR]
[--set NAME=VALUE ...] [--figure PATH] [--seed N]``. About 2 minutes on 2 cores (the
phantom half alone, ``--real /nonexistent``, 40 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "epfl_hippocampus_fibsem"
DEFAULT_FIGURE = ROOT / "docs" / "images" / "phantom_vs_real.png"
REAL_PIXEL_NM = 5.0
TRAIN_FRACTION = 0.02
TRAIN_EVERY = 10
TARGET_GAP = 0.10
# image statistics: the band of the power-spectrum fit (wavelengths, nm), the scale of the
# edge detector and the window of the local contrast (in pixels at the matched pixel size)
SLOPE_BAND_NM = (60.0, 640.0)
EDGE_SIGMA_PX = 1.0
EDGE_THRESHOLDS = (0.15, 0.3)  # Canny low/high, in standard deviations of the image per pixel
CONTRAST_WINDOW_PX = 5


# ---------------------------------------------------------------------------- forest ---


def plane_features(plane: np.ndarray) -> np.ndarray:
    """The reference feature bank of one 2D plane: (Y, X, 16) float32."""
    from skimage.feature import multiscale_basic_features

    return multiscale_basic_features(plane, intensity=True, edges=True, texture=True,
                                     sigma_min=1, sigma_max=8).astype(np.float32, copy=False)


def train_forest(planes, masks, *, seed: int):
    """A forest trained on TRAIN_FRACTION of the pixels (random, seeded) of each plane."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(seed)
    samples, targets = [], []
    for plane, mask in zip(planes, masks):
        features = plane_features(plane).reshape(-1, 16)
        pick = rng.choice(features.shape[0], size=round(TRAIN_FRACTION * features.shape[0]), replace=False)
        samples.append(features[pick])
        targets.append(mask.reshape(-1)[pick])
    forest = RandomForestClassifier(n_estimators=100, max_depth=16, n_jobs=2, random_state=seed)
    forest.fit(np.concatenate(samples), np.concatenate(targets))
    return forest, sum(len(t) for t in targets)


def predict(forest, plane: np.ndarray) -> np.ndarray:
    """The forest's mitochondria mask of one plane."""
    features = plane_features(plane)
    return forest.predict(features.reshape(-1, features.shape[-1])).reshape(plane.shape).astype(bool)


@dataclass
class Overlap:
    """Pixel counts summed over the scored planes; IoU = intersection / union."""

    intersection: int = 0
    union: int = 0
    predicted: int = 0
    truth: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray, where: np.ndarray | None = None) -> None:
        if where is not None:
            predicted, truth = predicted & where, truth & where
        self.intersection += int(np.count_nonzero(predicted & truth))
        self.union += int(np.count_nonzero(predicted | truth))
        self.predicted += int(np.count_nonzero(predicted))
        self.truth += int(np.count_nonzero(truth))

    @property
    def iou(self) -> float:
        return self.intersection / self.union if self.union else float("nan")

    @property
    def precision(self) -> float:
        return self.intersection / self.predicted if self.predicted else float("nan")

    @property
    def recall(self) -> float:
        return self.intersection / self.truth if self.truth else float("nan")


# ------------------------------------------------------------------ image statistics ---


def normalised(image: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation (float64)."""
    image = image.astype(np.float64)
    return (image - image.mean()) / (image.std() or 1.0)


def spectrum_slope(image: np.ndarray, *, pixel_nm: float) -> float:
    """Slope of log radially averaged power vs log spatial frequency over SLOPE_BAND_NM."""
    image = normalised(image)
    window = np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(image * window))) ** 2
    fy = np.fft.fftshift(np.fft.fftfreq(image.shape[0], d=pixel_nm))
    fx = np.fft.fftshift(np.fft.fftfreq(image.shape[1], d=pixel_nm))
    radius = np.hypot(*np.meshgrid(fy, fx, indexing="ij"))
    step = 1.0 / (pixel_nm * max(image.shape))
    ring = np.round(radius / step).astype(int)
    totals = np.bincount(ring.ravel(), weights=power.ravel())
    counts = np.bincount(ring.ravel())
    frequency = np.arange(len(totals)) * step
    keep = (counts > 0) & (frequency >= 1 / SLOPE_BAND_NM[1]) & (frequency <= 1 / SLOPE_BAND_NM[0])
    slope, _ = np.polyfit(np.log(frequency[keep]), np.log(totals[keep] / counts[keep]), 1)
    return float(slope)


def edge_density(image: np.ndarray) -> float:
    """Fraction of pixels on Canny edges (σ = EDGE_SIGMA_PX) of the normalised image, the
    hysteresis thresholds EDGE_THRESHOLDS in standard deviations per pixel (Canny's
    unnormalised Sobel reads 8× the gradient per pixel, hence the factor)."""
    from skimage.feature import canny

    low, high = EDGE_THRESHOLDS
    return float(canny(normalised(image), sigma=EDGE_SIGMA_PX, low_threshold=8 * low, high_threshold=8 * high).mean())


def fine_residual(image: np.ndarray) -> float:
    """Standard deviation of the normalised image minus its 3 × 3 median: the share of
    pixel-scale (mostly noise) variation, in units of the image's standard deviation."""
    from scipy.ndimage import median_filter

    image = normalised(image)
    return float(np.std(image - median_filter(image, 3)))


def local_contrast(image: np.ndarray) -> np.ndarray:
    """Local standard deviation in a CONTRAST_WINDOW_PX window over the global one (all pixels)."""
    from scipy.ndimage import uniform_filter

    image = normalised(image)
    mean = uniform_filter(image, CONTRAST_WINDOW_PX)
    square = uniform_filter(image * image, CONTRAST_WINDOW_PX)
    return np.sqrt(np.clip(square - mean * mean, 0, None))


def image_statistics(images, *, pixel_nm: float) -> dict:
    """Median over the images of each statistic; local contrast pooled over all pixels."""
    contrast = np.concatenate([local_contrast(image).ravel() for image in images])
    q1, q2, q3 = np.percentile(contrast, [25, 50, 75])
    return {
        "power-spectrum slope": float(np.median([spectrum_slope(i, pixel_nm=pixel_nm) for i in images])),
        "edge density": float(np.median([edge_density(i) for i in images])),
        "fine residual (image − 3×3 median)": float(np.median([fine_residual(i) for i in images])),
        "local contrast q25": float(q1),
        "local contrast median": float(q2),
        "local contrast q75": float(q3),
    }


# ------------------------------------------------------------------------ the two sides ---


@dataclass
class Side:
    """What one data set gives: its IoU(s), statistics, and the planes for the figure."""

    name: str
    pixel_nm: float
    iou: float = float("nan")
    extra: dict = field(default_factory=dict)
    train_pixels: int = 0
    scored: str = ""
    seconds: dict = field(default_factory=dict)
    statistics: dict = field(default_factory=dict)
    figure: tuple | None = None  # (image, truth, predicted) at 20 nm


def load_phantom(store: Path | None, overrides: dict, seed: int):
    """(image, mitochondria mask, cell mask, spacing) of the store, or of a fresh phantom."""
    if store is not None:
        from vemprof.store import Store

        dataset = Store.open(store)
        image = np.asarray(dataset.raw().data)
        mitochondria = np.asarray(dataset.labels("mitochondria").data) > 0
        cell = np.asarray(dataset.labels("cell").data) > 0 if "cell" in dataset.label_names else None
        return image, mitochondria, cell, tuple(dataset.spacing)
    from vemprof.synth import PhantomParameters, make_phantom

    phantom = make_phantom(PhantomParameters(**{"seed": seed, **overrides}))
    return phantom.image, phantom.labels["mitochondria"] > 0, phantom.labels["cell"] > 0, tuple(phantom.spacing)


def run_phantom(image, truth, cell, spacing, *, seed: int, window_shape) -> Side:
    side = Side("phantom", pixel_nm=float(spacing[1]))
    train_z = list(range(0, image.shape[0], TRAIN_EVERY))
    score_z = [z for z in range(TRAIN_EVERY // 2, image.shape[0], TRAIN_EVERY)]
    side.scored = (f"trained on z = 0, {TRAIN_EVERY}, … ({len(train_z)} planes); scored on whole planes "
                   f"z = {score_z[0]}, {score_z[0] + TRAIN_EVERY}, … ({len(score_z)} planes)")
    started = time.perf_counter()
    forest, side.train_pixels = train_forest([image[z] for z in train_z], [truth[z] for z in train_z], seed=seed)
    side.seconds["train"] = time.perf_counter() - started
    started = time.perf_counter()
    everywhere, in_cell = Overlap(), Overlap()
    predictions = {}
    for z in score_z:
        predicted = predict(forest, image[z])
        predictions[z] = predicted
        everywhere.add(predicted, truth[z])
        if cell is not None:
            in_cell.add(predicted, truth[z], cell[z])
    side.seconds["score"] = time.perf_counter() - started
    side.iou = everywhere.iou
    side.extra["precision / recall"] = (everywhere.precision, everywhere.recall)
    if cell is not None:
        side.extra["IoU inside the cell"] = in_cell.iou
    started = time.perf_counter()
    windows = _cell_windows(image, cell, score_z, window_shape)
    side.statistics = image_statistics([image[z][w] for z, w in windows], pixel_nm=side.pixel_nm)
    side.extra["statistics windows"] = len(windows)
    z, w = _figure_window(truth, cell, score_z, window_shape)
    side.figure = (image[z][w], truth[z][w], predictions[z][w], z)
    side.seconds["statistics"] = time.perf_counter() - started
    return side


def _cell_windows(image, cell, planes, shape):
    """For each plane, the window of ``shape`` with the most cell in it; those ≥ 99 % cell
    (all planes' best windows if none is)."""
    from scipy.ndimage import uniform_filter

    found = []
    for z in planes:
        if cell is None:
            found.append((z, _centred(image.shape[1:], shape), 1.0))
            continue
        fraction = uniform_filter(cell[z].astype(np.float32), shape, mode="constant")
        cy, cx = np.unravel_index(np.argmax(fraction), fraction.shape)
        found.append((z, _window_at(cy, cx, shape, image.shape[1:]), float(fraction[cy, cx])))
    inside = [(z, w) for z, w, f in found if f >= 0.99]
    return inside or [(z, w) for z, w, _ in found]


def _figure_window(truth, cell, planes, shape):
    """The window of ``shape`` with the most mitochondria among those ≥ 98 % inside the
    cell, on the scored planes (the most mitochondria anywhere where no window is inside)."""
    from scipy.ndimage import uniform_filter

    best, fallback = (-1.0, None, None), (-1.0, None, None)
    for z in planes:
        mito = uniform_filter(truth[z].astype(np.float32), shape, mode="constant")
        inside = uniform_filter(cell[z].astype(np.float32), shape, mode="constant") if cell is not None else None
        half = (shape[0] // 2, shape[1] // 2)
        # only windows that lie wholly in the plane
        valid = np.zeros_like(mito, dtype=bool)
        rows = slice(half[0], truth.shape[1] - (shape[0] - half[0]) + 1)
        columns = slice(half[1], truth.shape[2] - (shape[1] - half[1]) + 1)
        valid[rows, columns] = True
        score = np.where(valid, mito, -1.0)
        cy, cx = np.unravel_index(np.argmax(score), score.shape)
        if score[cy, cx] > fallback[0]:
            fallback = (float(score[cy, cx]), z, (cy, cx))
        if inside is not None:
            score = np.where(valid & (inside >= 0.98), mito, -1.0)
            cy, cx = np.unravel_index(np.argmax(score), score.shape)
            if score[cy, cx] > best[0]:
                best = (float(score[cy, cx]), z, (cy, cx))
    _, z, centre = best if best[1] is not None and best[0] > 0 else fallback
    return z, _window_at(*centre, shape, truth.shape[1:])


def _window_at(cy, cx, shape, bounds):
    y0 = int(np.clip(cy - shape[0] // 2, 0, bounds[0] - shape[0]))
    x0 = int(np.clip(cx - shape[1] // 2, 0, bounds[1] - shape[1]))
    return np.s_[y0:y0 + shape[0], x0:x0 + shape[1]]


def _centred(bounds, shape):
    return _window_at(bounds[0] // 2, bounds[1] // 2, shape, bounds)


def run_real(folder: Path, *, seed: int, matched_pixel_nm: float) -> Side:
    import tifffile
    from skimage.transform import downscale_local_mean

    side = Side("real (EPFL)", pixel_nm=REAL_PIXEL_NM)
    train_raw = tifffile.imread(folder / "train_raw.tif")
    train_mito = tifffile.imread(folder / "train_mito.tif") > 0
    test_raw = tifffile.imread(folder / "test_raw.tif")
    test_mito = tifffile.imread(folder / "test_mito.tif") > 0
    side.scored = (f"trained on all {len(train_raw)} training planes; scored on all {len(test_raw)} test "
                   f"planes, whole planes")
    started = time.perf_counter()
    forest, side.train_pixels = train_forest(train_raw, train_mito, seed=seed)
    side.seconds["train"] = time.perf_counter() - started
    started = time.perf_counter()
    overlap = Overlap()
    predictions = []
    for plane, truth in zip(test_raw, test_mito):
        predicted = predict(forest, plane)
        predictions.append(predicted)
        overlap.add(predicted, truth)
    side.iou = overlap.iou
    side.extra["precision / recall"] = (overlap.precision, overlap.recall)
    side.seconds["score"] = time.perf_counter() - started

    # the same method with both halves block-averaged to the phantom's pixel size
    started = time.perf_counter()
    factor = max(1, int(round(matched_pixel_nm / REAL_PIXEL_NM)))
    matched_pixel_nm = factor * REAL_PIXEL_NM

    def coarse(stack, mask=False):
        out = np.stack([downscale_local_mean(p.astype(np.float32), (factor, factor)) for p in stack])
        return out > 0.5 if mask else np.round(out).astype(np.uint8)

    small_train, small_test = coarse(train_raw), coarse(test_raw)
    small_train_mito, small_test_mito = coarse(train_mito, True), coarse(test_mito, True)
    small_forest, _ = train_forest(small_train, small_train_mito, seed=seed)
    small = Overlap()
    for plane, truth in zip(small_test, small_test_mito):
        small.add(predict(small_forest, plane), truth)
    side.extra["IoU at matched pixel size"] = small.iou
    side.extra["block"] = factor
    side.seconds["at matched pixel size"] = time.perf_counter() - started

    started = time.perf_counter()
    images = list(small_train) + list(small_test)
    side.statistics = image_statistics(images, pixel_nm=matched_pixel_nm)
    index = int(np.argmax([t.sum() for t in small_test_mito]))
    side.figure = (small_test[index], small_test_mito[index], coarse(predictions[index][None], True)[0], index)
    side.seconds["statistics"] = time.perf_counter() - started
    return side


# ------------------------------------------------------------------------------ figure ---


def draw_figure(path: Path, phantom: Side, real: Side | None, *, pixel_nm: float) -> Path:
    """Phantom and real slice side by side at one pixel size: ground truth (top), forest (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage import measure

    sides = [s for s in (phantom, real) if s is not None and s.figure is not None]
    fig, axes = plt.subplots(2, len(sides), figsize=(5.2 * len(sides), 8.4), squeeze=False)
    for column, side in enumerate(sides):
        image, truth, predicted, plane = side.figure
        where = f"z = {plane}" if side is phantom else f"test plane {plane}"
        for row, (mask, colour, what) in enumerate(((truth, "#33dd33", "ground truth"),
                                                     (predicted, "#ff33cc", "forest prediction"))):
            axis = axes[row, column]
            axis.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            for contour in measure.find_contours(mask.astype(np.float32), 0.5):
                axis.plot(contour[:, 1], contour[:, 0], color=colour, linewidth=1.0)
            if row == 1:
                for contour in measure.find_contours(truth.astype(np.float32), 0.5):
                    axis.plot(contour[:, 1], contour[:, 0], color="#33dd33", linewidth=0.6, alpha=0.6)
            label = "phantom" if side is phantom else "real FIB-SEM (EPFL, 5 nm → 20 nm)"
            axis.set_title(f"{label}, {where}\n{what}" + (f" — IoU {side.iou:.2f}" if row == 1 else ""),
                           fontsize=9)
            _scale_bar(axis, image.shape, pixel_nm)
            axis.set_axis_off()
    fig.suptitle(f"Mitochondria, reference forest; both at {pixel_nm:g} nm/px "
                 "(green: ground truth, magenta: prediction)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scale_bar(axis, shape, pixel_nm: float, length_nm: float = 1000.0) -> None:
    pixels = length_nm / pixel_nm
    y, x = shape[0] - 12, 10
    axis.plot([x, x + pixels], [y, y], color="white", linewidth=3)
    axis.text(x + pixels / 2, y - 6, f"{length_nm / 1000:g} µm", color="white", ha="center", va="bottom",
              fontsize=8)


# ----------------------------------------------------------------------------- report ---


def report(phantom: Side, real: Side | None, *, phantom_source: str, generation_s: float, total_s: float) -> None:
    print()
    print(f"phantom: {phantom_source}; {phantom.pixel_nm:g} nm/px in Y/X; {phantom.scored}; "
          f"{phantom.train_pixels} training pixels")
    if real is not None:
        print(f"real: {real.pixel_nm:g} nm/px; {real.scored}; {real.train_pixels} training pixels")
    print("method: multiscale_basic_features(intensity, edges, texture, σ 1–8 px, 2D) + "
          "RandomForest(100 trees, depth 16), 2 % of the pixels of each training plane; each data set "
          "at its own pixel size")
    print()
    print("| mitochondria IoU | phantom | real | gap (phantom − real) | target (gap ≤ 0.10) |")
    print("|---|---:|---:|---:|---|")
    if real is not None:
        gap = phantom.iou - real.iou
        verdict = "met" if abs(gap) <= TARGET_GAP else "not met"
        print(f"| whole scored planes | {phantom.iou:.3f} | {real.iou:.3f} | {gap:+.3f} | {verdict} |")
    else:
        print(f"| whole scored planes | {phantom.iou:.3f} | – | – | – |")
    pp, pr = phantom.extra["precision / recall"]
    if real is not None:
        rp, rr = real.extra["precision / recall"]
        print(f"| precision / recall | {pp:.3f} / {pr:.3f} | {rp:.3f} / {rr:.3f} | | |")
    else:
        print(f"| precision / recall | {pp:.3f} / {pr:.3f} | – | | |")
    if "IoU inside the cell" in phantom.extra:
        print(f"| phantom, IoU inside the cell only | {phantom.extra['IoU inside the cell']:.3f} | | | |")
    if real is not None:
        value, block = real.extra["IoU at matched pixel size"], real.extra["block"]
        gap = phantom.iou - value
        print(f"| both at {phantom.pixel_nm:g} nm/px (real trained and scored block-averaged {block}×{block}) | "
              f"{phantom.iou:.3f} | {value:.3f} | {gap:+.3f} | {'met' if abs(gap) <= TARGET_GAP else 'not met'} |")
    print()
    pixel = phantom.pixel_nm
    windows = phantom.extra.get("statistics windows", 0)
    real_text = "; real: all 32 planes block-averaged 4 × 4" if real is not None else ""
    print(f"image statistics at {pixel:g} nm/px (each image normalised to zero mean, unit std; phantom: "
          f"{windows} windows of the real planes' size inside the cell on the scored planes{real_text}); "
          "display convention: EM/TEM-like, membranes dark")
    print()
    if real is None:
        print("| statistic | phantom |")
        print("|---|---:|")
        for name, value in phantom.statistics.items():
            print(f"| {name} | {value:.3f} |")
    else:
        print("| statistic | phantom | real | ratio (phantom / real) |")
        print("|---|---:|---:|---:|")
        for name, value in phantom.statistics.items():
            other = real.statistics[name]
            ratio = value / other if other else float("nan")
            print(f"| {name} | {value:.3f} | {other:.3f} | {ratio:.2f} |")
    print()
    print(f"power-spectrum slope: fit over wavelengths {SLOPE_BAND_NM[0]:g}–{SLOPE_BAND_NM[1]:g} nm (Hann window); "
          f"edge density: Canny σ = {EDGE_SIGMA_PX:g} px; local contrast: std in a "
          f"{CONTRAST_WINDOW_PX} × {CONTRAST_WINDOW_PX} px window over the global std")
    print(f"(edge thresholds {EDGE_THRESHOLDS[0]:g}/{EDGE_THRESHOLDS[1]:g} std per pixel; fine residual: std of the "
          "normalised image minus its 3 × 3 median)")
    print()
    times = [f"phantom generation/loading {generation_s:.1f} s"]
    times += [f"phantom {k} {v:.1f} s" for k, v in phantom.seconds.items()]
    if real is not None:
        times += [f"real {k} {v:.1f} s" for k, v in real.seconds.items()]
    print("timings: " + ", ".join(times) + f"; total {total_s:.1f} s")


def parse_settings(items: list[str]) -> dict:
    """``["name=value", …]`` → typed overrides for `PhantomParameters` (pydantic converts the
    text; a value with commas is a list, ``none`` is None)."""
    from vemprof.synth import PhantomParameters

    result = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            sys.exit(f"--set takes NAME=VALUE, got '{item}'")
        if name not in PhantomParameters.model_fields:
            sys.exit(f"unknown phantom parameter '{name}'; see 'vemprof synth --parameters'")
        value = value.strip()
        result[name] = None if value.lower() == "none" else (value.split(",") if "," in value else value)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phantom", type=Path, help="an existing phantom store (default: make the default phantom)")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="the EPFL FIB-SEM folder")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a phantom parameter (repeatable), as for 'vemprof synth --set'")
    parser.add_argument("--figure", type=Path, default=DEFAULT_FIGURE, help="the side-by-side figure (PNG)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the phantom (unless --set seed=…), "
                        "the pixel sampling and the forest")
    args = parser.parse_args(argv)
    if args.phantom is not None and args.settings:
        sys.exit("--set makes a new phantom; it cannot change an existing store given with --phantom")
    overrides = parse_settings(args.settings)

    begun = time.perf_counter()
    names = ("train_raw", "train_mito", "test_raw", "test_mito")
    real_present = all((args.real / f"{name}.tif").is_file() for name in names)
    if not real_present:
        print(f"{args.real}: no EPFL FIB-SEM crop there (train/test raw and mito TIFFs); running the phantom half only")

    started = time.perf_counter()
    image, truth, cell, spacing = load_phantom(args.phantom, overrides, args.seed)
    generation_s = time.perf_counter() - started
    settings = ", ".join([f"seed={args.seed}"] + [f"{k}={v}" for k, v in overrides.items()])
    source = str(args.phantom) if args.phantom else f"make_phantom(PhantomParameters({settings}))"
    source += f", {'×'.join(map(str, image.shape))} at {'×'.join(f'{s:g}' for s in spacing)} nm"
    print(f"phantom ready in {generation_s:.1f} s", flush=True)
    pixel_nm = float(spacing[1])
    factor = max(1, int(round(pixel_nm / REAL_PIXEL_NM)))
    window_shape = (768 // factor, 1024 // factor) if real_present else (192, 256)
    window_shape = (min(window_shape[0], image.shape[1]), min(window_shape[1], image.shape[2]))

    real = None
    if real_present:
        real = run_real(args.real, seed=args.seed, matched_pixel_nm=pixel_nm)
        print(f"real half done: IoU {real.iou:.3f}", flush=True)
    phantom = run_phantom(image, truth, cell, spacing, seed=args.seed, window_shape=window_shape)
    print(f"phantom half done: IoU {phantom.iou:.3f}", flush=True)
    figure = draw_figure(args.figure, phantom, real, pixel_nm=pixel_nm)
    report(phantom, real, phantom_source=source, generation_s=generation_s, total_s=time.perf_counter() - begun)
    print(f"figure: {figure}")


if __name__ == "__main__":
    main()
