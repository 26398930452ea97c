"""``vemprof export-model`` and ``vemprof import-model``: U-Net models to and from other tools."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

#: What each export format is for, as the summary line says it.
USES = {"onnx": "the network alone, for onnxruntime", "czann": "for ZEISS ZEN and arivis",
        "bioimageio": "a bioimage.io model package"}


def run_export_model(model: Path, *, file_format: str, out: Path, sample: Path | None, overwrite: bool,
                     console: Console) -> None:
    """Export the U-Net at ``model`` to ``out`` in ``file_format``."""
    from vemprof.learn import export_model

    written = export_model(model, format=file_format, out=out, sample=sample, overwrite=overwrite)
    console.print(f"wrote {written} ({USES[file_format]}; {written.stat().st_size / 2**20:.1f} MiB)")


def run_import_model(source: Path, *, out: Path, overwrite: bool, console: Console) -> None:
    """Import the package at ``source`` as a vemprof model at ``out``."""
    from vemprof.learn import load_model
    from vemprof.learn import import_model

    written = import_model(source, out=out, overwrite=overwrite)
    description, _ = load_model(written)
    _, y_nm, x_nm = description.spacing_nm
    console.print(f"wrote {written}: a U-Net for {', '.join(description.classes)} at {y_nm:g} × {x_nm:g} nm pixels")
