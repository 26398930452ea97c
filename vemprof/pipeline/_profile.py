"""Running a pipeline on a dataset store, step by step: `profile` (``vemprof profile``).

Each step names the store members it reads and writes (`vemprof.pipeline._steps`). Its
key is a hash of its parameters, the outputs' prefix, and, for each member it reads,
the key of the earlier step that wrote it — or, for a member the pipeline does not make
(the raw image, the annotation images), the member's fingerprint; files given by path
(models, chains) are fingerprinted too. A step whose last ``profile`` record in the
store's provenance has the same key, and whose outputs all exist, is skipped. A changed
parameter or input changes the step's key and so the key of every step that reads what
it writes: exactly those run again.

Every output is written atomically by the step that makes it (a staging folder moved
into place, a table or model file replaced whole), and the step's record is added only
after its last output: a run killed at any moment leaves each output whole, old or new,
and the next run redoes the step it was in, resuming where the step itself can (the
store's writes, a U-Net's checkpoint).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.pipeline import _steps
from vemprof.pipeline._spec import DEFAULT_PIPELINE, Pipeline, load_pipeline
from vemprof.store import Store
from vemprof.store import fingerprint

#: The provenance step of a pipeline's step done.
RECORD = "profile"


@dataclass(frozen=True)
class StepOutcome:
    """What became of one step: ``ran`` or ``skipped`` (done before, unchanged), in seconds."""

    step: str
    outcome: str
    seconds: float
    key: str


def profile(store: Store, *, pipeline: Pipeline | str | Path = DEFAULT_PIPELINE, prefix: str = "",
            folder: Path | None = None, progress: ProgressReporter = no_progress,
            say: Callable[[str], None] = lambda line: None) -> list[StepOutcome]:
    """Run ``pipeline``'s steps on ``store``, skipping those done before with the same
    parameters and inputs (module note); outputs are named with ``prefix``, models,
    figures and the report go into ``folder`` (default ``<store>_profile/`` beside it).
    Returns each step's outcome. The ``import`` step is the caller's: it is skipped here."""
    if not isinstance(pipeline, Pipeline):
        pipeline = load_pipeline(pipeline)
    if not store.has_raw:
        raise VemprofError(f"{store.path} holds no raw image; import a stack into it first (vemprof import STACK "
                           f"{store.path}) or give the stack itself to vemprof profile")
    folder = folder or store.path.with_name(f"{store.path.name.removesuffix('.zarr')}_profile")
    run = _steps.Run(store=store, prefix=prefix, folder=folder, progress=progress, say=say)
    steps = [step for step in pipeline.steps if step.step != "import"]
    plans = [getattr(_steps, f"plan_{step.step}")(run, step) for step in steps]
    _refuse_truth(store, plans, prefix=prefix)
    folder.mkdir(parents=True, exist_ok=True)
    done = _done(store)
    made_by: dict[str, str] = {}  # member → key of the step that writes it
    outcomes = []
    for index, (step, plan) in enumerate(zip(steps, plans), start=1):
        if step.step == "report":  # it reads what every step before it wrote
            plan = _steps.Plan(reads=sorted(made_by), writes=plan.writes, outputs=plan.outputs)
        key = _key(store, step, plan, prefix=prefix, made_by=made_by)
        for member in plan.writes:
            made_by[member] = key
        if (done.get(step.step) == key and all(_exists(store, member) for member in plan.writes)
                and all(path.exists() for path in plan.outputs)):
            say(f"[{index}/{len(steps)}] {step.step}: done before, unchanged; skipped")
            outcomes.append(StepOutcome(step.step, "skipped", 0.0, key))
            continue
        say(f"[{index}/{len(steps)}] {step.step}")
        started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
        extra = {"pipeline": pipeline} if step.step == "report" else {}
        getattr(_steps, f"run_{step.step}")(run, step, **extra)
        missing = [member for member in plan.writes if not _exists(store, member)]
        if missing:
            raise VemprofError(f"the {step.step} step did not write {', '.join(missing)}; report this as a bug")
        store.record(RECORD, outputs=plan.writes + [str(path) for path in plan.outputs], started=started,
                     parameters={"pipeline": pipeline.name, "pipeline_step": step.step, "key": key, "prefix": prefix,
                                 **step.model_dump(mode="json", exclude={"step"})})
        seconds = time.perf_counter() - clock
        say(f"[{index}/{len(steps)}] {step.step}: done in {seconds:.0f} s")
        outcomes.append(StepOutcome(step.step, "ran", seconds, key))
    return outcomes


def _key(store: Store, step, plan: _steps.Plan, *, prefix: str, made_by: dict[str, str]) -> str:
    """The step's key (module note): its parameters, the prefix, what it reads."""
    reads = {member: made_by.get(member) or _member_fingerprint(store, member) for member in plan.reads}
    content = {"step": step.model_dump(mode="json"), "prefix": prefix, "reads": reads,
               "files": {str(path): fingerprint(path) for path in plan.files}}
    return "sha256:" + hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _member_fingerprint(store: Store, member: str) -> str:
    """The fingerprint of a store member the pipeline does not make; one line if it is missing."""
    if not _exists(store, member):
        name = member.partition("/")[2]
        raise VemprofError(f"{store.path} has no {member}, which the pipeline reads; make it first, or change the "
                           f"pipeline's step that names {name!r}")
    return fingerprint(_member_path(store, member))


def _member_path(store: Store, member: str) -> Path:
    if member == "raw":
        return store.path / "0"
    kind, _, name = member.partition("/")
    return store.path / "tables" / f"{name}.parquet" if kind == "tables" else store.path / kind / name


def _exists(store: Store, member: str) -> bool:
    if member == "raw":
        return store.has_raw
    return _member_path(store, member).exists()


def _done(store: Store) -> dict[str, str]:
    """The key of each pipeline step's last record."""
    return {record["parameters"]["pipeline_step"]: record["parameters"]["key"]
            for record in store.provenance if record.get("step") == RECORD}


def _refuse_truth(store: Store, plans: list[_steps.Plan], *, prefix: str) -> None:
    """A phantom's ground truth is never overwritten: one line naming the fix."""
    clash = sorted({member for plan in plans for member in plan.writes} & store.phantom_truth)
    if clash:
        raise VemprofError(f"{clash[0]} holds the phantom's ground truth; write beside it with --prefix, "
                           f"e.g. --prefix found_{' (not ' + repr(prefix) + ')' if prefix else ''}")
