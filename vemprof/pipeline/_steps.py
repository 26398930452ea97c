"""What each step of a pipeline reads, writes and does, on one dataset store.

A step's `Plan` names the store members it reads (``raw``, ``labels/…``,
``tables/…``) and those it writes, and the files it reads by path (models, chains);
`vemprof.pipeline._profile` keys and skips steps by them. Outputs are named with the
run's prefix (``labels/<prefix>nucleus``, ``tables/<prefix>mitochondria``…), inputs a
person made (the annotation images) are not. Models a step trains and the figures it
draws go into the run's folder (``<store>_profile/`` beside the store).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from vemprof._progress import ProgressReporter
from vemprof.errors import VemprofError
from vemprof.pipeline._spec import (
    CellStep,
    DistancesStep,
    DistributionStep,
    MeasureStep,
    OrganellesStep,
    PoresStep,
    ReportStep,
    StatisticsStep,
)
from vemprof.store import Store


@dataclass(frozen=True)
class Run:
    """Where a pipeline runs: the store, the prefix of every output's name, the folder of
    the models, figures and report, and the progress display."""

    store: Store
    prefix: str
    folder: Path
    progress: ProgressReporter
    say: Callable[[str], None]

    def name(self, made: str) -> str:
        """The store name of an output the pipeline makes."""
        return self.prefix + made


@dataclass(frozen=True)
class Plan:
    """The store members a step reads and writes (``labels/x``, ``tables/x``, …), the
    files it reads by path and those it writes outside the store."""

    reads: list[str]
    writes: list[str]
    files: list[Path] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def plan_cell(run: Run, step: CellStep) -> Plan:
    return _classifier_plan(run, step.annotations, step.model)


def run_cell(run: Run, step: CellStep) -> None:
    from vemprof.learn import classify_store, save_model, train_classifier

    model = step.model
    if model is None:
        level = min(step.level, len(run.store.pyramid()) - 1)  # a small store has fewer levels
        description, weights = train_classifier(run.store, step.annotations, level=level, trees=step.trees,
                                                progress=run.progress)
        model = save_model(run.folder / "cell_model.zip", description, weights, overwrite=True)
        run.say(f"trained the cell-vs-resin forest on labels/{step.annotations}: {model}")
    classify_store(run.store, model, prefix=run.prefix, overwrite=True, each_cell=step.each_cell,
                   progress=run.progress)


def plan_organelles(run: Run, step: OrganellesStep) -> Plan:
    plan = _classifier_plan(run, step.annotations, step.model)
    if step.within is not None:
        plan.reads.append(f"labels/{run.name(step.within)}")
    return plan


def run_organelles(run: Run, step: OrganellesStep) -> None:
    from vemprof.learn import classify_store, save_model, train_unet

    model = step.model
    if model is None:
        path = run.folder / "organelle_model.zip"
        description, weights, others = train_unet(
            run.store, step.annotations, max_minutes=step.max_minutes, max_iterations=step.max_iterations,
            rotations=step.rotations, checkpoint=path.with_name(path.name + ".checkpoint"), progress=run.progress)
        model = save_model(path, description, weights, others=others, overwrite=True)
        run.say(f"trained the organelle U-Net on labels/{step.annotations} "
                f"({description.training['iterations']} iterations): {model}")
    classify_store(run.store, model, prefix=run.prefix, overwrite=True, cleanup=step.cleanup,
                   within=None if step.within is None else run.name(step.within), progress=run.progress)


def plan_measure(run: Run, step: MeasureStep) -> Plan:
    reads = [f"labels/{run.name(name)}" for name in dict.fromkeys([*step.labels, step.cell, step.nucleus])]
    return Plan(reads=reads, writes=[f"tables/{run.name(name)}" for name in (*step.labels, "compartments")])


def run_measure(run: Run, step: MeasureStep) -> None:
    from vemprof.measure import measure_labels

    for name in step.labels:
        try:
            table = measure_labels(run.store, run.name(name), cell=run.name(step.cell),
                                   nucleus=run.name(step.nucleus), compartments=run.name("compartments"),
                                   progress=run.progress)
        except VemprofError as error:  # e.g. no object: say which image, and what made it
            raise VemprofError(f"measuring labels/{run.name(name)}: {error} (the organelles step made it: paint "
                               f"more {name}, or train longer)") from None
        run.say(f"measured {len(table)} objects of labels/{run.name(name)}")


def plan_distances(run: Run, step: DistancesStep) -> Plan:
    names = dict.fromkeys([step.labels, step.cell, step.nucleus, *([step.to] if step.to else [])])
    return Plan(reads=[f"tables/{run.name(step.labels)}", *(f"labels/{run.name(n)}" for n in names)],
                writes=[f"tables/{run.name(step.labels)}"])


def run_distances(run: Run, step: DistancesStep) -> None:
    from vemprof.measure import measure_distances

    labels, cell, nucleus = run.name(step.labels), run.name(step.cell), run.name(step.nucleus)
    if _membranes_measured(run.store, labels, cell=cell, nucleus=nucleus):  # by the measure step: not twice
        cell = nucleus = None
        if step.to is None:
            run.say(f"tables/{labels} has its membrane distances already (the measure step)")
            return
    measure_distances(run.store, labels, cell=cell, nucleus=nucleus, to=run.name(step.to) if step.to else None,
                      radius_um=step.radius_um, progress=run.progress)


def _membranes_measured(store: Store, labels: str, *, cell: str, nucleus: str) -> bool:
    """Whether ``tables/<labels>`` holds the membrane distances to ``labels/<cell>`` and
    ``labels/<nucleus>`` as they are: the last measure (or distances) step that wrote them
    used those images, none of which has been written since."""
    for record in reversed(store.provenance):
        outputs, parameters = record.get("outputs", []), record.get("parameters", {})
        if f"labels/{cell}" in outputs or f"labels/{nucleus}" in outputs or f"labels/{labels}" in outputs:
            return False
        if f"tables/{labels}" in outputs and record.get("step") in ("measure", "distances"):
            if parameters.get("cell") is None and record["step"] == "distances":
                continue  # neighbours only: the membrane columns are older
            return (parameters.get("cell"), parameters.get("nucleus"), parameters.get("max_distance_um")) == (
                cell, nucleus, None)
    return False


def plan_statistics(run: Run, step: StatisticsStep) -> Plan:
    return Plan(reads=[f"tables/{run.name(step.table)}"], writes=[f"tables/{run.name(step.table)}_correlations"])


def run_statistics(run: Run, step: StatisticsStep) -> None:
    from vemprof.render import correlation_figure
    from vemprof.spatial import correlate

    table = run.store.read_table(run.name(step.table))
    results = pd.concat([correlate(table, x, y) for x, y in step.correlate], ignore_index=True)
    run.store.write_table(f"{run.name(step.table)}_correlations", results)
    correlation_figure(table, results, out=run.folder / f"{step.table}_correlations.png", title=step.table)
    for row in results.itertuples():
        run.say(f"{row.y} against {row.x}: Pearson r {row.pearson_r:.2f} (p {row.pearson_p:.2g}, n {row.n})")


def plan_pores(run: Run, step: PoresStep) -> Plan:
    from vemprof.workflows import POCKETS_CHAIN  # the shipped chain too: a new one redoes the pores

    made = ("pockets", "pore_masks", "pores") + (("pore_training",) if step.model is None else ())
    return Plan(reads=["raw", f"labels/{run.name(step.nucleus)}"],
                writes=[*(f"labels/{run.name(n)}" for n in made), f"probabilities/{run.name('pores')}"],
                files=[path for path in (step.model, step.pockets_chain or POCKETS_CHAIN) if path is not None])


def run_pores(run: Run, step: PoresStep) -> None:
    from vemprof.workflows import (
        POCKETS_CHAIN,
        detect_pores,
        find_pockets,
        find_pore_masks,
        pore_steps_figure,
        train_in_rounds,
    )

    store, nucleus, chain = run.store, run.name(step.nucleus), step.pockets_chain or POCKETS_CHAIN
    count = find_pockets(store, nucleus=nucleus, out=run.name("pockets"), contrast=step.contrast, chain=chain,
                         each_nucleus=step.each_nucleus, progress=run.progress)
    run.say(f"found {count} pockets under the nuclear envelope")
    count = find_pore_masks(store, nucleus=nucleus, pockets=run.name("pockets"), out=run.name("pore_masks"),
                            radius_nm=step.pore_radius_nm, progress=run.progress)
    run.say(f"marked {count} pores above them")
    model = step.model or run.folder / "pore_model.zip"
    if step.model is None:
        trained = train_in_rounds(store, nucleus=nucleus, masks=run.name("pore_masks"),
                                  annotations=run.name("pore_training"), path=model, minutes=step.train_minutes,
                                  rotations=step.rotations, radius_nm=step.pore_radius_nm, threshold=step.threshold,
                                  confirmed=step.confirmed, axes=step.axes, each_nucleus=step.each_nucleus,
                                  progress=run.progress)[-1]
        if trained["best_mean_iou"] <= 0:  # caught here, not after the prediction over the whole envelope
            raise VemprofError(f"the pore model learned nothing in {trained['minutes']:.1f} min "
                               f"({trained['iterations']} iterations): it finds no pore on its held-out planes; "
                               "give it more time (train_minutes in the pores step), or look at "
                               f"labels/{run.name('pore_masks')} (masks made on a wrong nucleus teach nothing)")
        run.say(f"trained the pore model ({trained['iterations']} iterations, validation IoU "
                f"{trained['best_mean_iou']:.2f}): {model}")
    count = detect_pores(store, model=model, nucleus=nucleus, out=run.name("pores"), radius_nm=step.pore_radius_nm,
                         threshold=step.threshold, masks=run.name("pore_masks"), confirmed=step.confirmed,
                         axes=step.axes, each_nucleus=step.each_nucleus, progress=run.progress)
    run.say(f"the pore model found {count} pores")
    pore_steps_figure(store, nucleus=nucleus, prefix=run.prefix, out=run.folder / "pores_steps.png", chain=chain)


def plan_distribution(run: Run, step: DistributionStep) -> Plan:
    tables = ("sections", "pores", "pore_density", "pore_sections_test")
    return Plan(reads=[f"labels/{run.name(step.pores)}", f"labels/{run.name(step.nucleus)}"],
                writes=[f"labels/{run.name('sections')}", *(f"tables/{run.name(t)}" for t in tables)])


def run_distribution(run: Run, step: DistributionStep) -> None:
    from vemprof.spatial import split_nucleus
    from vemprof.workflows import distribute_pores

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split_nucleus(run.store, nucleus=run.name(step.nucleus), out=run.name("sections"),
                      each_nucleus=step.each_nucleus, progress=run.progress)
        tables = distribute_pores(run.store, pores=run.name(step.pores), nucleus=run.name(step.nucleus),
                                  sections=run.name("sections"), prefix=run.prefix, figures=run.folder, k=step.k,
                                  bandwidth_um=step.bandwidth_um, each_nucleus=step.each_nucleus,
                                  progress=run.progress)
    for warning in caught:
        run.say(f"warning: {warning.message}")
    density = tables[run.name("pore_density")]
    several = density["nucleus"].max() > 1
    for row in density.itertuples():
        where = ("all nuclei" if several else "whole nucleus") if row.nucleus == 0 else (
            f"nucleus {row.nucleus}" if row.section == 0 else f"section {row.section}")
        run.say(f"{where}: {row.pores} pores, {row.pores_per_um2:.2f} per µm²")


def plan_report(run: Run, step: ReportStep) -> Plan:
    from vemprof.report import REPORT

    return Plan(reads=[], writes=[], outputs=[run.folder / REPORT])


def run_report(run: Run, step: ReportStep, *, pipeline) -> None:
    from vemprof.report import write_report

    run.say(f"wrote the report: {write_report(run.store, folder=run.folder, prefix=run.prefix, pipeline=pipeline)}")


def _classifier_plan(run: Run, annotations: str, model: Path | None) -> Plan:
    """A classifier's step: trained on ``annotations`` (or the given ``model``), it writes a
    label image and a probability map per class."""
    if model is not None:
        from vemprof.learn import load_model

        classes = list(load_model(model)[0].classes[1:])
    elif annotations in run.store.annotation_names:
        classes = run.store.annotation_classes(annotations)
    else:
        raise VemprofError(f"{run.store.path} has no annotation image labels/{annotations}; paint one (vemprof "
                           f"import FILE {run.store.path} --as-annotations {annotations} --classes …) or give a "
                           "model by path in the pipeline")
    return Plan(reads=["raw"] + ([] if model else [f"labels/{annotations}"]), files=[model] if model else [],
                writes=[f"{kind}/{run.name(name)}" for name in classes for kind in ("labels", "probabilities")])
