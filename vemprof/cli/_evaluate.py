"""``vemprof evaluate``: a label image or probability map in a store scored against ground truth."""

from __future__ import annotations

import math
from pathlib import Path

import dask.array as da
import numpy as np
from rich.console import Group
from rich.table import Column, Table
from rich.text import Text

from vemprof._progress import ProgressReporter
from vemprof.errors import VemprofError
from vemprof.evaluate import centroids_nm, instance_scores, point_scores, semantic_scores
from vemprof.store import Store
from vemprof.volume import open_volume

#: Where a probability map becomes foreground: p >= 0.5 (uint8 maps, 0–255: >= 128).
PROBABILITY_THRESHOLD = 0.5


def evaluate_store(
    path: Path, *, truth: str, pred: str, instances: bool, points: bool, tolerance_nm: float | None,
    regions: str | None, progress: ProgressReporter,
) -> dict:
    """The scores of ``pred`` against ``truth`` in the store at ``path``, with what was compared.

    ``truth`` is a label image of the store or a label file; ``pred`` a label image
    or a probability map (thresholded at 0.5) of the store. Semantic scores by
    default; ``instances``: object matching and AP; ``points``: object centroids
    matched within ``tolerance_nm``, also per region of the label image ``regions``.
    """
    metric = _check_options(instances=instances, points=points, tolerance_nm=tolerance_nm, regions=regions)
    store = Store.open(path)
    truth_data, truth_name = _truth(store, truth)
    prediction, prediction_name = _prediction(store, pred, labels_only=metric != "semantic")
    if truth_data.shape != prediction.shape:
        raise VemprofError(f"the truth {truth_name} has shape {truth_data.shape} but the prediction {prediction_name} "
                           f"has shape {prediction.shape}; compare images of the same grid")
    described = {"metric": metric, "truth": truth_name, "prediction": prediction_name}
    if metric == "semantic":
        return {**described, **semantic_scores(truth_data, prediction, progress=progress)}
    if metric == "instances":
        return {**described, **instance_scores(truth_data, prediction, progress=progress)}
    spacing = store.spacing
    region_image = store.labels(regions).data if regions else None
    found = [centroids_nm(labels, spacing=spacing, progress=progress) for labels in (truth_data, prediction)]
    return {**described, **point_scores(*found, tolerance_nm=tolerance_nm, regions=region_image, spacing=spacing)}


def _check_options(*, instances: bool, points: bool, tolerance_nm: float | None, regions: str | None) -> str:
    if instances and points:
        raise VemprofError("--instances and --points are different scores; give one of them")
    if points and tolerance_nm is None:
        raise VemprofError("--points needs --tolerance-nm, the largest distance of a match in nm (e.g. "
                           "--tolerance-nm 60)")
    if tolerance_nm is not None and not points:
        raise VemprofError("--tolerance-nm is for --points; add --points or leave it out")
    if tolerance_nm is not None and not (math.isfinite(tolerance_nm) and tolerance_nm > 0):
        raise VemprofError(f"--tolerance-nm must be a positive distance in nm (e.g. --tolerance-nm 60), got "
                           f"{tolerance_nm:g}")
    if regions is not None and not points:
        raise VemprofError("--regions scores points per region; add --points --tolerance-nm N")
    return "instances" if instances else "points" if points else "semantic"


def _truth(store: Store, name: str) -> tuple[da.Array, str]:
    """A label image of the store by name, else a label file by path."""
    if name in store.label_names:
        return store.labels(name).data, f"labels/{name}"
    if Path(name).exists():
        return open_volume(name).data, name
    raise VemprofError(f"no labels '{name}' in {store.path} and no file {name}; it has labels: "
                       f"{', '.join(store.label_names) or 'none'} (or give the path of a label file)")


def _prediction(store: Store, name: str, *, labels_only: bool) -> tuple[da.Array, str]:
    """A label image of the store by name, else its probability map thresholded at 0.5."""
    if name in store.label_names:
        return store.labels(name).data, f"labels/{name}"
    if name not in store.probability_names:
        raise VemprofError(f"no labels or probabilities '{name}' in {store.path}; it has labels: "
                           f"{', '.join(store.label_names) or 'none'}; probabilities: "
                           f"{', '.join(store.probability_names) or 'none'}")
    if labels_only:
        raise VemprofError(f"probabilities/{name} is a probability map, and objects need a label image; label it "
                           "first with 'vemprof ops' (threshold, connected_components)")
    return _foreground(store.probabilities(name).data, name), f"probabilities/{name} >= {PROBABILITY_THRESHOLD}"


def _foreground(probabilities: da.Array, name: str) -> da.Array:
    """``probabilities >= 0.5`` (a uint8 map holds 255 × p), block by block; NaN is an error."""
    if probabilities.dtype == np.uint8:
        return probabilities >= round(255 * PROBABILITY_THRESHOLD)
    if not np.issubdtype(probabilities.dtype, np.floating):
        raise VemprofError(f"probabilities/{name} has dtype {probabilities.dtype}; a probability map is float in "
                           "[0, 1] or uint8 (255 × p); write it again with Store.write_probabilities")
    return probabilities.map_blocks(_threshold_block, dtype=bool, what=name)


def _threshold_block(block: np.ndarray, *, what: str) -> np.ndarray:
    if np.isnan(block).any():
        raise VemprofError(f"probabilities/{what} contains NaN; write the map again without NaN")
    return block >= PROBABILITY_THRESHOLD


# -- output ----------------------------------------------------------------------------------

_DESCRIBED = ("metric", "truth", "prediction", "regions")


def as_json(result: dict) -> dict:
    """``result`` with NaN as None (JSON null) and region ids as strings."""
    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        return None if isinstance(value, float) and math.isnan(value) else value

    return clean(result)


def render(result: dict) -> Group:
    """A heading, the scores as a table, and one row per region for points with regions."""
    heading = Text(f"{result['metric']} scores of {result['prediction']} against {result['truth']}", style="bold")
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, value in result.items():
        if key not in _DESCRIBED:
            table.add_row(key, _format(value))
    if "regions" not in result:
        return Group(heading, table)
    per_region = Table("region", *(Column(header, justify="right") for header in _REGION_COLUMNS.values()))
    for region, scores in result["regions"].items():
        per_region.add_row(str(region), *(_format(scores[key]) for key in _REGION_COLUMNS))
    return Group(heading, table, Text("per region", style="bold"), per_region)


_REGION_COLUMNS = {"truth_points": "truth", "predicted_points": "predicted", "true_positives": "TP",
                   "false_positives": "FP", "false_negatives": "FN", "precision": "precision", "recall": "recall",
                   "f1": "F1"}


def _format(value) -> str:
    if isinstance(value, float):
        return "undefined" if math.isnan(value) else f"{value:.4f}"
    return str(value)
