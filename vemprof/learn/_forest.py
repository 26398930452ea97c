"""The pixel classifier: a random forest on the feature bank, trained on annotated voxels.

Training reads only the blocks that hold annotated voxels: for each, the features of the
block (with the halo the largest scale needs) and the labels of its annotated voxels.
At most ``max_samples`` voxels, drawn at random (seeded) over all annotated ones, train
a scikit-learn forest, which is then converted to ONNX (skl2onnx) and run with
onnxruntime: the model file holds no pickle.

The image is normalised before its features are computed, by its own percentiles
(`NORMALISATION`): grey p_low maps to 0, p_high to 1. The percentiles are taken on the
volume being classified (from a coarse pyramid level where one exists), so a model
carries over between volumes whose brightness and contrast differ.
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError
from vemprof.learn._features import FeatureBank, _features_block

#: How images are normalised: percentiles of the grey values mapped to 0 and 1.
NORMALISATION = {"method": "percentiles", "low": 0.5, "high": 99.5}
#: Voxels sampled for the percentiles (evenly spaced over the volume).
_PERCENTILE_SAMPLES = 2_000_000
#: The forest: trees, depth, least samples per leaf (ilastik uses 100 trees).
TREES = 100
MAX_DEPTH = 16
MIN_SAMPLES_LEAF = 2
#: Most annotated voxels used for training (drawn at random, seeded).
MAX_SAMPLES = 200_000
#: Voxels per call of the forest: their features (41 channels) are about 2.7 MB.
_ROWS = 16_384
#: Trees per part of a forest run in parts (`in_groups`).
_TREES_PER_GROUP = 10


def image_range(image: da.Array | np.ndarray, normalisation: dict = NORMALISATION) -> tuple[float, float]:
    """The grey values (low, high) that ``normalisation`` maps to 0 and 1, from an even
    sample of at most `_PERCENTILE_SAMPLES` voxels of ``image`` (Z, Y, X)."""
    step = max(1, math.ceil((math.prod(image.shape) / _PERCENTILE_SAMPLES) ** (1 / 3)))
    sample = np.asarray(image[::step, ::step, ::step], dtype=np.float64).ravel()
    if not np.isfinite(sample).all():
        raise VemprofError("the image holds NaN or infinite values; fix or mask them before classifying it")
    low, high = np.percentile(sample, [normalisation["low"], normalisation["high"]])
    if high <= low:
        raise VemprofError(f"the image is flat (grey {low:g} almost everywhere); there is nothing to classify")
    return float(low), float(high)


def normalised(block: np.ndarray, grey_range: tuple[float, float]) -> np.ndarray:
    """``block`` scaled so that ``grey_range`` maps to (0, 1), float32."""
    low, high = grey_range
    out = np.asarray(block, dtype=np.float32) - np.float32(low)
    out *= np.float32(1 / (high - low))
    return out


def training_samples(
    image: da.Array, annotations: da.Array, *, spacing, bank: FeatureBank, grey_range, max_samples: int = MAX_SAMPLES,
    seed: int = 0, progress=None,
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Features (n, C) float32 and annotation values (n,) of at most ``max_samples``
    annotated voxels, and the count of annotated voxels per value.

    ``image`` and ``annotations`` are (Z, Y, X) dask arrays of the same shape and chunks;
    only the chunks holding annotated voxels are read and, of each, only the box around
    its annotated voxels gets features (with the feature bank's halo): a painted plane
    costs a plane and its halo, not the chunk.
    """
    halo = bank.halo(spacing)
    blocks = []
    counts: dict[int, int] = {}
    indices = list(np.ndindex(*annotations.numblocks))
    for index in indices:
        block = np.asarray(annotations.blocks[index])
        where = np.flatnonzero(block)
        if progress is not None:
            progress(1)
        if len(where) == 0:
            continue
        values = block.ravel()[where]
        for value, count in zip(*np.unique(values, return_counts=True)):
            counts[int(value)] = counts.get(int(value), 0) + int(count)
        position = np.unravel_index(where, block.shape)
        box = _box(position)
        inside = np.ravel_multi_index(tuple(i - b.start for i, b in zip(position, box)),
                                      tuple(b.stop - b.start for b in box))
        offset = [r.start for r in _block_region(annotations.chunks, index)]
        region = tuple(slice(o + b.start, o + b.stop) for o, b in zip(offset, box))
        blocks.append((region, inside, values))
    if not blocks:
        raise VemprofError("the annotations hold no annotated voxel (all 0); paint some or use "
                           "'vemprof annotate-planes'")
    total = sum(len(w) for _, w, _ in blocks)
    keep = min(max_samples, total)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(total, size=keep, replace=False))
    features, targets, start = [], [], 0
    for region, where, values in blocks:
        mine = chosen[(chosen >= start) & (chosen < start + len(where))] - start
        start += len(where)
        if len(mine) == 0:
            continue
        block_features = _features_with_halo(image, region, halo, spacing=spacing, bank=bank, grey_range=grey_range)
        features.append(block_features.reshape(bank.count, -1)[:, where[mine]].T)
        targets.append(values[mine])
    return np.concatenate(features), np.concatenate(targets), counts


def fit_forest(features: np.ndarray, targets: np.ndarray, *, trees: int = TREES, seed: int = 0):
    """A scikit-learn random forest fitted on ``features`` (n, C) and ``targets`` (n,),
    its trees grown on every core (the same forest for the same seed, whatever the core
    count)."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(
        n_estimators=trees, max_depth=MAX_DEPTH, min_samples_leaf=MIN_SAMPLES_LEAF, n_jobs=-1, random_state=seed,
    )
    return forest.fit(features, targets)


def forest_to_onnx(forest, channels: int) -> bytes:
    """The fitted forest as ONNX bytes: input ``features`` (n, channels) float32, outputs
    the class (n,) and the probabilities (n, classes) as a plain tensor."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = convert_sklearn(
        forest, initial_types=[("features", FloatTensorType([None, channels]))],
        options={id(forest): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return model.SerializeToString()


class OnnxClassifier:
    """Per-voxel class probabilities from an ONNX classifier (onnxruntime, CPU).

    One thread per call: onnxruntime's threads would sum the trees in an order that
    depends on the thread count, changing the last bit of some probabilities; callers
    run blocks in parallel instead, and the same input always gives the same output.
    A forest runs as `_TREES_PER_GROUP`-tree parts whose probabilities are summed (see
    `in_groups`).
    """

    def __init__(self, weights: bytes):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            grouped = in_groups(weights)
            self.session = onnxruntime.InferenceSession(grouped, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise VemprofError(f"the model's weights are not a valid ONNX model ({type(error).__name__}); "
                               "retrain the model") from None
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[-1].name

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, C) float32 features → (n, classes) float32 probabilities."""
        return self.session.run([self.output], {self.input: np.ascontiguousarray(features, dtype=np.float32)})[0]


def in_groups(weights: bytes, trees: int = _TREES_PER_GROUP) -> bytes:
    """The forest in ``weights`` (one ``TreeEnsembleClassifier``, as `forest_to_onnx`
    writes) rewritten as parts of ``trees`` trees each, their probabilities summed: the
    same output up to the order of the sums. onnxruntime walks every tree for one voxel
    before the next; a part's nodes stay in the core's cache while a batch of voxels
    walks them (100 trees of ~900 nodes: 20 % faster in parts of 10). Any other model
    is returned as it is."""
    import onnx
    from onnx import helper

    try:
        model = onnx.load_from_string(weights)
    except Exception:  # onnx raises protobuf's DecodeError; onnxruntime reports it next
        return weights
    graph = model.graph
    if len(graph.node) != 1 or graph.node[0].op_type != "TreeEnsembleClassifier":
        return weights
    ensemble = graph.node[0]
    attributes = {a.name: helper.get_attribute_value(a) for a in ensemble.attribute}
    two_classes = len(set(attributes["class_ids"])) < len(attributes["classlabels_int64s"])
    tree_of = {"nodes_": np.asarray(attributes["nodes_treeids"]), "class_": np.asarray(attributes["class_treeids"])}
    parts = []
    for first in range(0, int(tree_of["nodes_"].max()) + 1, trees):
        chosen = {prefix: np.flatnonzero((ids >= first) & (ids < first + trees)) for prefix, ids in tree_of.items()}
        part = {name: value if name[:6] not in chosen else [value[i] for i in chosen[name[:6]]]
                for name, value in attributes.items()}
        outputs = [f"label_{first}", f"probabilities_{first}"]
        parts.append(helper.make_node("TreeEnsembleClassifier", [ensemble.input[0]], outputs, domain="ai.onnx.ml",
                                      **part))
    probabilities = [o for o in graph.output if o.name == ensemble.output[1]]
    if two_classes:  # the leaves hold the second class's probability; the runtime adds 1 − p
        sums = [helper.make_node("Gather", [node.output[1], "second"], [f"p_{i}"], axis=1)
                for i, node in enumerate(parts)]
        sums += [helper.make_node("Sum", [node.output[0] for node in sums], ["p"]),
                 helper.make_node("Sub", ["one", "p"], ["q"]),
                 helper.make_node("Concat", ["q", "p"], [ensemble.output[1]], axis=1)]
        constants = [helper.make_tensor("second", onnx.TensorProto.INT64, [1], [1]),
                     helper.make_tensor("one", onnx.TensorProto.FLOAT, [1], [1.0])]
    else:
        sums = [helper.make_node("Sum", [node.output[1] for node in parts], [ensemble.output[1]])]
        constants = []
    grouped = helper.make_graph(parts + sums, "forest in groups", list(graph.input), probabilities,
                                initializer=constants)
    return helper.make_model(grouped, opset_imports=list(model.opset_import), ir_version=model.ir_version)\
        .SerializeToString()


def classify_block(block: np.ndarray, *, spacing, bank: FeatureBank, grey_range, classifier: OnnxClassifier,
                   core: tuple[slice, ...] | None = None) -> np.ndarray:
    """Probabilities (classes, Z, Y, X) uint8 (0–255) of ``block[core]`` (default: all
    of it), its features computed from the whole ``block`` (core plus halo; the volume's
    own faces where it has no halo, as for the whole array)."""
    core = core or tuple(slice(0, n) for n in block.shape)
    features = _features_block(normalised(block, grey_range), core=core, spacing=spacing, bank=bank, workers=1)
    shape = features.shape[1:]
    by_channel = features.reshape(bank.count, -1)
    rows = by_channel.shape[1]
    batches = []
    for start in range(0, rows, _ROWS):  # voxels as rows, a cache-sized batch at a time
        probabilities = classifier.probabilities(np.ascontiguousarray(by_channel[:, start : start + _ROWS].T))
        batches.append(np.rint(np.clip(probabilities.T, 0, 1) * 255).astype(np.uint8))
    return np.concatenate(batches, axis=1).reshape(-1, *shape)


def _box(indices) -> tuple[slice, ...]:
    """The smallest box (slices) holding the voxels at ``indices`` (one array per axis)."""
    return tuple(slice(int(i.min()), int(i.max()) + 1) for i in indices)


def _block_region(chunks, index) -> tuple[slice, ...]:
    starts = [sum(c[:i]) for c, i in zip(chunks, index)]
    return tuple(slice(s, s + c[i]) for s, c, i in zip(starts, chunks, index))


def grown_block(image, region: tuple[slice, ...], halo) -> tuple[np.ndarray, tuple[slice, ...]]:
    """``region`` of ``image`` (Z, Y, X; dask, zarr or numpy) read with ``halo`` voxels
    around it (less at the volume's faces), and where the region lies in that block."""
    grown = tuple(slice(max(r.start - h, 0), min(r.stop + h, n)) for r, h, n in zip(region, halo, image.shape))
    core = tuple(slice(r.start - g.start, r.stop - g.start) for r, g in zip(region, grown))
    return np.asarray(image[grown]), core


def _features_with_halo(image: da.Array, region, halo, *, spacing, bank, grey_range) -> np.ndarray:
    """Features (C, Z, Y, X) of ``region`` of ``image``, equal to those of the whole image."""
    block, core = grown_block(image, region, halo)
    return _features_block(normalised(block, grey_range), core=core, spacing=spacing, bank=bank, workers=1)
