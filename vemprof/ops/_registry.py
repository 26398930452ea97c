"""Every operation by name, its parameters with units and defaults, and chains of steps.

A chain is a list of steps; each step is a mapping with ``op`` (an operation name),
``input`` (the name of one array) or ``inputs`` (names for the operation's array
arguments, in order), optional ``output`` (the name of its result, default: the op
name), and the operation's parameters inline. Parameters that take an array (``mask``,
``image``, ``markers``) name an array too. ``spacing`` is given once for the chain.

YAML example::

    - {op: shell, input: nucleus, output: band, inner_nm: 20, outer_nm: 120}
    - {op: invert, input: raw, output: dark}
    - {op: threshold_local, input: dark, output: spots, window_nm: 400}
    - {op: mask_image, inputs: [spots, band], output: pores}
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import yaml

from vemprof.errors import VemprofError
from vemprof.ops import (
    _cleanup,
    _distance,
    _filters,
    _label,
    _morphology,
    _objects,
    _region_growing,
    _threshold,
    _watershed,
)

#: Keyword parameters whose value is an array (named in a chain) rather than a number.
ARRAY_PARAMETERS = ("image", "mask", "markers")
_STEP_KEYS = ("op", "input", "inputs", "output")
_UNITS = (("_nm3", "nm³"), ("_nm2", "nm²"), ("_nm", "nm"))


@dataclass(frozen=True)
class Parameter:
    """One option of an operation."""

    name: str
    unit: str
    default: Any
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    """An operation as the registry knows it."""

    name: str
    function: Callable[..., Any]
    inputs: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    summary: str
    takes_spacing: bool

    def parameter(self, name: str) -> Parameter:
        return next(p for p in self.parameters if p.name == name)


def _descriptions(docstring: str) -> dict[str, str]:
    """Each parameter's description in a numpydoc Parameters section, as one line."""
    section = re.search(r"^Parameters\n-+\n(.*?)(?:^(?:Returns|Examples|Notes)\n-+|\Z)", docstring, re.S | re.M)
    result: dict[str, str] = {}
    if not section:
        return result
    lines = section.group(1).splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(\w[\w, ]*?) :", line)
        if match:
            description = []
            for following in lines[index + 1:]:
                if not following.startswith(" "):
                    break
                description.append(following.strip())
            for name in match.group(1).split(","):
                result[name.strip()] = " ".join(description)
    return result


def _unit(name: str) -> str:
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), "")


def _describe(function: Callable[..., Any]) -> Operation:
    signature = inspect.signature(function)
    docstring = inspect.getdoc(function) or ""
    descriptions = _descriptions(docstring)
    inputs, parameters = [], []
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            inputs.append(parameter.name)
        elif parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.name != "spacing":
            required = parameter.default is inspect.Parameter.empty
            parameters.append(
                Parameter(
                    name=parameter.name,
                    unit="array" if parameter.name in ARRAY_PARAMETERS else _unit(parameter.name),
                    default=None if required else parameter.default,
                    required=required,
                    description=descriptions.get(parameter.name, ""),
                )
            )
    return Operation(
        name=function.__name__,
        function=function,
        inputs=tuple(inputs),
        parameters=tuple(parameters),
        summary=docstring.splitlines()[0] if docstring else "",
        takes_spacing="spacing" in signature.parameters,
    )


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in map(
        _describe,
        [
            _filters.gaussian,
            _filters.median,
            _filters.enhance_particles,
            _filters.white_tophat,
            _filters.subtract_background,
            _filters.normalize_local_contrast,
            _filters.normalize_in_mask,
            _threshold.threshold,
            _threshold.threshold_local,
            _morphology.dilate,
            _morphology.erode,
            _morphology.opening,
            _morphology.closing,
            _morphology.shell,
            _morphology.mask_image,
            _morphology.invert,
            _distance.distance_transform,
            _cleanup.fill_holes,
            _cleanup.remove_small_objects,
            _cleanup.remove_small_holes,
            _label.connected_components,
            _objects.filter_objects,
            _objects.keep_largest,
            _objects.keep_nearest,
            _objects.relabel_sequential,
            _watershed.find_maxima,
            _watershed.watershed,
            _watershed.split_touching,
            _region_growing.grow_regions,
        ],
    )
}


def describe_operations() -> pd.DataFrame:
    """The table ``vemprof ops --list`` prints: one row per operation parameter.

    Returns
    -------
    pandas.DataFrame
        Columns ``operation``, ``inputs`` (array arguments, in order), ``parameter``,
        ``unit`` (nm, nm³, …; 'array' for a named array), ``default`` ('required' when
        there is none), ``description``; operations without options have one row with
        an empty ``parameter``.
    """
    rows = []
    for op in OPERATIONS.values():
        base = {"operation": op.name, "inputs": ", ".join(op.inputs)}
        if not op.parameters:
            rows.append({**base, "parameter": "", "unit": "", "default": "", "description": op.summary})
        for parameter in op.parameters:
            rows.append(
                {
                    **base,
                    "parameter": parameter.name,
                    "unit": parameter.unit,
                    "default": "required" if parameter.required else repr(parameter.default),
                    "description": parameter.description,
                }
            )
    return pd.DataFrame(rows, columns=["operation", "inputs", "parameter", "unit", "default", "description"])


def load_chain(source: str | Path) -> list[dict[str, Any]]:
    """Read a chain from a YAML file path or a YAML string (a list of steps)."""
    text = Path(source).read_text() if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and Path(source).is_file()
    ) else str(source)
    try:
        steps = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise VemprofError(f"the chain is not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(steps, list):
        raise VemprofError("a chain is a YAML list of steps, each with 'op' and its parameters")
    return steps


def _step_plan(index: int, step: Any, available: set[str]) -> tuple[Operation, list[str], dict[str, Any], str]:
    """Check one step against the registry and the names available so far."""
    where = f"step {index + 1}"
    if not isinstance(step, Mapping) or "op" not in step:
        raise VemprofError(f"{where} must be a mapping with 'op'; allowed operations: {', '.join(OPERATIONS)}")
    name = step["op"]
    if name not in OPERATIONS:
        raise VemprofError(f"{where}: unknown operation {name!r}; allowed: {', '.join(OPERATIONS)}")
    op = OPERATIONS[name]
    where = f"{where} ({name})"
    if "input" in step and "inputs" in step:
        raise VemprofError(f"{where}: give either 'input' or 'inputs', not both")
    inputs = [step["input"]] if "input" in step else list(step.get("inputs", []))
    if len(inputs) != len(op.inputs):
        raise VemprofError(f"{where}: needs {len(op.inputs)} input array(s) ({', '.join(op.inputs)}), got {inputs}")
    parameters = {k: v for k, v in step.items() if k not in _STEP_KEYS}
    allowed = [p.name for p in op.parameters]
    for key in parameters:
        if key not in allowed:
            raise VemprofError(
                f"{where}: unknown parameter {key!r}; allowed: {', '.join(allowed) or 'none'}"
            )
    missing = [p.name for p in op.parameters if p.required and p.name not in parameters]
    if missing:
        raise VemprofError(f"{where}: missing required parameter(s): {', '.join(missing)}")
    named = inputs + [parameters[k] for k in ARRAY_PARAMETERS if k in parameters and parameters[k] is not None]
    for array_name in named:
        if not isinstance(array_name, str) or array_name not in available:
            raise VemprofError(
                f"{where}: reads {array_name!r}, which is neither an input nor an earlier output; "
                f"available: {', '.join(sorted(available))}"
            )
    return op, inputs, parameters, str(step.get("output", name))


def check_chain(steps: Sequence[Mapping[str, Any]], input_names: Sequence[str]) -> list[str]:
    """Check every step of a chain (operations, parameters, array names) without running it.

    Returns
    -------
    list of str
        The name of each step's output, in step order.
    """
    return [plan[3] for plan in _plan_chain(steps, input_names)]


def _plan_chain(steps, input_names) -> list[tuple[Operation, list[str], dict[str, Any], str]]:
    available = set(input_names)
    plans = []
    for index, step in enumerate(steps):
        plan = _step_plan(index, step, available)
        available.add(plan[3])
        plans.append(plan)
    return plans


def run_chain(
    steps: Sequence[Mapping[str, Any]] | str | Path,
    inputs: Mapping[str, Any],
    *,
    spacing: Sequence[float],
    keep: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run a chain of operations on named arrays.

    Every step is checked (operation, parameter and array names) before any runs. With
    ``keep``, only those outputs are returned, and every other array is let go after the
    last step that reads it (numpy chains then hold a few arrays at once, not all).

    Parameters
    ----------
    steps : list of mappings, or YAML text, or a YAML file path
        The chain (see the module docstring).
    inputs : mapping of str to (Z, Y, X) arrays
        The named arrays the chain starts from (numpy or dask).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X), given to every operation that takes it.

    Returns
    -------
    dict of str to arrays
        Every step's output by name (those of ``keep`` only, when given), in step order
        (lazy where the inputs are dask).

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.zeros((4, 8, 8), np.uint8); raw[1:3, 2:6, 2:6] = 200
    >>> out = run_chain([{"op": "gaussian", "input": "raw", "output": "smooth", "sigma_nm": 5},
    ...                  {"op": "threshold", "input": "smooth", "output": "mask"}],
    ...                 {"raw": raw}, spacing=(8, 5, 5))
    >>> sorted(out)
    ['mask', 'smooth']
    """
    if isinstance(steps, (str, Path)):
        steps = load_chain(steps)
    plans = _plan_chain(steps, inputs)
    arrays: dict[str, Any] = dict(inputs)
    outputs: dict[str, Any] = {}
    last_read = {name: index for index, plan in enumerate(plans) for name in _read_by(plan)}
    for index, (op, input_names, parameters, output) in enumerate(plans):
        options = {k: arrays[v] if k in ARRAY_PARAMETERS and isinstance(v, str) else v for k, v in parameters.items()}
        if op.takes_spacing:
            options["spacing"] = spacing
        try:
            result = op.function(*(arrays[name] for name in input_names), **options)
        except VemprofError as error:
            raise VemprofError(f"step {index + 1} ({op.name}): {error}") from None
        except TypeError as error:
            raise VemprofError(f"step {index + 1} ({op.name}): {error}") from None
        arrays[output] = result
        if keep is None or output in keep:
            outputs[output] = result
        if keep is not None:
            for name in [name for name in arrays if last_read.get(name, -1) <= index and name != output]:
                del arrays[name]
        del options, result
    return outputs


def _read_by(plan) -> list[str]:
    """The array names a planned step reads."""
    _, input_names, parameters, _ = plan
    return [*input_names, *(v for k, v in parameters.items() if k in ARRAY_PARAMETERS and isinstance(v, str))]
