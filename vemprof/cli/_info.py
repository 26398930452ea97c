"""``vemprof info``: what a store or a volume file holds, as a dict and as a rich table."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from vemprof.store import Store, is_store
from vemprof.volume import Volume, open_volume


def describe(path: Path, *, key: str | None = None) -> dict:
    """A JSON-serialisable summary of the store or volume at ``path``."""
    if path.is_dir() and is_store(path):
        return _describe_store(Store.open(path))
    return {"kind": "volume", **_describe_volume(open_volume(path, key=key))}


def _describe_volume(volume: Volume) -> dict:
    return {
        "name": volume.name,
        "source": volume.source,
        "shape": list(volume.shape),
        "dtype": str(volume.dtype),
        "voxel_size_nm": list(volume.spacing) if volume.spacing else None,
        "extent_um": [round(e, 3) for e in volume.extent_um] if volume.spacing else None,
        "chunks": list(volume.chunks),
        "size_mb": round(volume.nbytes / 1e6, 1),
    }


def _describe_store(store: Store) -> dict:
    summary: dict = {"kind": "store", "path": str(store.path)}
    if store.has_raw:
        summary["raw"] = _describe_volume(store.raw())
        summary["pyramid"] = [{"shape": list(shape), "voxel_size_nm": list(spacing)}
                              for shape, spacing in store.pyramid()]
    summary["labels"] = {name: {"dtype": str(store.labels(name).dtype), "levels": len(store.pyramid(f"labels/{name}"))}
                         for name in store.label_names}
    summary["annotations"] = {name: {"classes": store.annotation_classes(name), "voxels": store.annotation_voxels(name)}
                              for name in store.annotation_names}
    summary["probabilities"] = store.probability_names
    summary["tables"] = {name: _table_shape(store, name) for name in store.table_names}
    summary["provenance"] = [{"step": s["step"], "finished": s["finished"], "outputs": s["outputs"]}
                             for s in store.provenance]
    return summary


def _table_shape(store: Store, name: str) -> dict:
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(store.path / "tables" / f"{name}.parquet")
    return {"rows": metadata.num_rows, "columns": metadata.num_columns}


def render(summary: dict) -> Table:
    """The summary as a two-column table."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    volume = summary.get("raw", summary)
    table.add_row("path" if summary["kind"] == "store" else "source", summary.get("path") or volume.get("source", ""))
    if "shape" in volume:
        spacing = volume["voxel_size_nm"]
        table.add_row("shape (Z,Y,X)", " × ".join(map(str, volume["shape"])) + f"  {volume['dtype']}")
        table.add_row("voxel size", " × ".join(f"{s:g}" for s in spacing) + " nm" if spacing else "unknown")
        if volume["extent_um"]:
            table.add_row("extent", " × ".join(f"{e:g}" for e in volume["extent_um"]) + " µm")
        table.add_row("chunks", " × ".join(map(str, volume["chunks"])))
        table.add_row("size", f"{volume['size_mb']:,} MB")
    for level, entry in enumerate(summary.get("pyramid", [])):
        table.add_row(f"level {level}", " × ".join(map(str, entry["shape"])) + "  at "
                      + " × ".join(f"{s:g}" for s in entry["voxel_size_nm"]) + " nm")
    if summary["kind"] == "store":
        table.add_row("labels", ", ".join(summary["labels"]) or "none")
        for name, annotation in summary["annotations"].items():
            table.add_row("annotations", f"{name}: " + ", ".join(
                f"{n} {v:,}" for n, v in annotation["voxels"].items()) + " voxels painted")
        table.add_row("probabilities", ", ".join(summary["probabilities"]) or "none")
        table.add_row("tables", ", ".join(f"{n} ({t['rows']} rows)" for n, t in summary["tables"].items()) or "none")
        for step in summary["provenance"]:
            table.add_row("step", f"{step['step']}  {step['finished']}  → {', '.join(step['outputs'])}")
    return table
