"""The report of one profiled dataset: a single HTML file, figures embedded, no network.

`write_report` draws what the earlier steps did not (the slices with the cell and
organelles, the mitochondria coloured by S/V), gathers the figures they drew, the
tables, and the provenance — the pipeline with every parameter, each step run, the
software versions, the fingerprints of the inputs — into ``report.html``, and writes the
tables beside it as Parquet and CSV (``tables/``). Sections whose step was not run say
so. The HTML is written to a temporary file and moved into place: never half a report.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
from pathlib import Path

import pandas as pd
import yaml

import vemprof
from vemprof.store import Store, fingerprint

#: The report's file in the run's folder.
REPORT = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
img { max-width: 100%; border: 1px solid #ddd; margin: .5em 0; }
table { border-collapse: collapse; font-size: .85em; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; } th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .8em; }
.missing { color: #888; font-style: italic; } .numbers { font-size: 1.1em; }
"""


def write_report(store: Store, *, folder: Path, prefix: str, pipeline) -> Path:
    """Write ``folder/report.html`` (module note) for ``store``, whose outputs are named
    with ``prefix``, profiled by ``pipeline`` (a `vemprof.pipeline.Pipeline`); returns its path."""
    from vemprof.render import render_labels, write_preview

    folder.mkdir(parents=True, exist_ok=True)
    name = store.path.name.removesuffix(".zarr")
    tables = {made: store.read_table(prefix + made) for made in
              ("compartments", "mitochondria", "nucleus", "mitochondria_correlations", "pores", "pore_density",
               "pore_sections_test") if prefix + made in store.table_names}
    if "compartments" in tables:  # each class by its kind: nucleus, not found_nucleus
        tables["compartments"]["class"] = tables["compartments"]["class"].str.removeprefix(prefix)
    write_tables(tables, folder / "tables")
    shown = [prefix + made for made in ("cell", "nucleus", "mitochondria", "pores")
             if prefix + made in store.label_names]
    slices = write_preview(store.path, out=folder / "slices.png", label_names=shown, prefix=prefix,
                           overlaid="found") if shown else None
    sv = None
    if "mitochondria" in tables and "sv_ratio_per_um" in tables["mitochondria"]:
        sv = render_labels(store, prefix + "mitochondria", color_by="sv_ratio_per_um",
                           out=folder / "mitochondria_sv.png", mesh=folder / "mitochondria_sv.glb").figure
    shape, spacing = store.pyramid()[0]
    sections = [
        f"<h1>vemprof report: {html.escape(name)}</h1>",
        f"<p>{html.escape(str(store.path.absolute()))} — {' × '.join(map(str, shape))} voxels (Z, Y, X) of "
        f"{' × '.join(f'{s:g}' for s in spacing)} nm; made {dt.datetime.now().isoformat(timespec='minutes')} "
        f"by vemprof {vemprof.__version__}, pipeline “{html.escape(pipeline.name)}”.</p>",
        "<h2>Cell and organelles</h2>",
        _figure(slices, "Slices through the volume, with the cell, nucleus, mitochondria and pores found"),
        "<h3>Volumes and share of the cell</h3>",
        _table(tables.get("compartments"), "the measure step"),
        "<h3>Mitochondria coloured by surface-to-volume ratio</h3>",
        _figure(sv, "Mitochondria coloured by S/V (µm⁻¹): slices and maximum projections (3D mesh: "
                    "mitochondria_sv.glb beside this report)"),
        _summary(tables.get("mitochondria")),
        "<h2>S/V against the distances to the membranes</h2>",
        _figure(_existing(folder / "mitochondria_correlations.png"),
                "Each mitochondrion's S/V against its distance, with the least-squares line"),
        _table(tables.get("mitochondria_correlations"), "the statistics step"),
        "<h2>Nuclear pores</h2>",
        _figure(_existing(folder / "pores_steps.png"), "The pore workflow in one plane: EM, the shell under the "
                                                       "envelope, pockets, pore masks, the model's probability, pores"),
        _figure(_existing(folder / "pores_knn8_mean_um.png"), "Pores coloured by the mean distance to their 8 "
                                                              "nearest (µm)"),
        _figure(_existing(folder / "pores_kde_score.png"), "Pores coloured by their kernel density score"),
        "<h3>Pores per µm² of envelope, by nucleus and section (section 0: the whole nucleus; nucleus 0: all)</h3>",
        _table(tables.get("pore_density"), "the distribution step"),
        "<h3>The sections compared</h3>",
        _figure(_existing(folder / "sections_knn.png"), "Distance to the 8 nearest pores, by section, with the tests"),
        _table(tables.get("pore_sections_test"), "the distribution step",
               empty="Not tested: no nucleus has two sections with at least 2 pores each (a nucleus without an "
                     "invagination is one section; split it by a plane with vemprof sections --plane)."),
        "<h2>How this was made</h2>",
        _provenance(store, pipeline),
    ]
    return write_page(folder / REPORT, title=f"vemprof report: {name}", sections=sections)


def write_page(out: Path, *, title: str, sections: list[str]) -> Path:
    """Write the HTML ``sections`` as one self-contained page at ``out`` (the report's
    style), through a temporary file: never half a page. Returns ``out``."""
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, out)
    return out


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


def _figure(path: Path | None, caption: str) -> str:
    if path is None:
        return f"<p class='missing'>Not made: {html.escape(caption[0].lower() + caption[1:])}.</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return (f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(table: pd.DataFrame | None, made_by: str, *, empty: str = "No rows.") -> str:
    if table is None:
        return f"<p class='missing'>Not made: the pipeline did not run {made_by}.</p>"
    if table.empty:
        return f"<p class='missing'>{html.escape(empty)}</p>"
    return table.to_html(index=False, float_format=lambda value: f"{value:.4g}", border=0)


def _summary(mitochondria: pd.DataFrame | None) -> str:
    if mitochondria is None or mitochondria.empty:
        return ""
    sv = mitochondria["sv_ratio_per_um"]
    return (f"<p class='numbers'>{len(mitochondria)} mitochondria, {mitochondria['volume_um3'].sum():.3g} µm³ in "
            f"all; S/V median {sv.median():.3g} µm⁻¹ (quartiles {sv.quantile(.25):.3g}–"
            f"{sv.quantile(.75):.3g}).</p>")


def _provenance(store: Store, pipeline) -> str:
    records = [record for record in store.provenance if record.get("step") == "profile"]
    rows = pd.DataFrame([{"step": record["parameters"]["pipeline_step"], "started": record["started"],
                          "finished": record["finished"], "outputs": ", ".join(record["outputs"])}
                         for record in records])
    versions = records[-1]["versions"] if records else {}
    inputs = {"raw": fingerprint(store.path / "0"),
              **{f"labels/{name}": fingerprint(store.path / "labels" / name) for name in store.annotation_names}}
    return "\n".join([
        "<h3>The pipeline, with every parameter</h3>",
        f"<pre>{html.escape(yaml.safe_dump(pipeline.model_dump(mode='json'), sort_keys=False))}</pre>",
        "<h3>Steps run</h3>", rows.to_html(index=False, border=0) if len(rows) else "<p class='missing'>none</p>",
        "<h3>Software</h3>",
        pd.DataFrame({"package": list(versions), "version": list(versions.values())}).to_html(index=False, border=0),
        "<h3>Inputs (fingerprints of size, times and sampled content)</h3>",
        pd.DataFrame({"input": list(inputs), "fingerprint": list(inputs.values())}).to_html(index=False, border=0),
    ])


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    """Each table as Parquet and CSV in ``folder`` (made if missing), each file replaced whole."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        for suffix, write in ((".parquet", lambda t, p: t.to_parquet(p, index=False)),
                              (".csv", lambda t, p: t.to_csv(p, index=False))):
            temporary = folder / f".{name}{suffix}.partial"
            write(table, temporary)
            os.replace(temporary, folder / f"{name}{suffix}")
