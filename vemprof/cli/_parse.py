"""Parsing of command-line values into physical quantities, with one-line errors."""

from __future__ import annotations

from vemprof.errors import VemprofError


def triple(text: str | None, *, option: str, integer: bool = False, example: str = "8,5,5") -> tuple | None:
    """``"8,5,5"`` (or ``"8x5x5"``) → ``(8.0, 5.0, 5.0)`` (Z, Y, X); None stays None."""
    if text is None:
        return None
    parts = [p.strip() for p in text.replace("x", ",").split(",")]
    try:
        values = tuple(int(p) if integer else float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        kind = "integers" if integer else "numbers"
        raise VemprofError(f"{option} takes three {kind} Z,Y,X (e.g. {option} {example}), got '{text}'")
    return values


def counts(text: str, *, option: str) -> tuple[int, int, int]:
    """``"1x2x2"`` (or ``"1,2,2"``) → ``(1, 2, 2)``: counts (Z, Y, X), each at least 1."""
    values = triple(text, option=option, integer=True, example="1x2x2")
    if min(values) < 1:
        raise VemprofError(f"{option} counts must be at least 1 on every axis (e.g. {option} 1x2x2), got '{text}'")
    return values


def assignments(items: list[str] | None) -> dict[str, str]:
    """``["name=value", …]`` → ``{"name": "value", …}``."""
    result = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise VemprofError(f"--set takes NAME=VALUE, got '{item}'")
        result[name.strip().replace("-", "_")] = value.strip()
    return result


def cleanup_overrides(items: list[str] | None) -> dict[str, dict]:
    """``["mitochondria.neck_ratio=0.5", …]`` → ``{"mitochondria": {"neck_ratio": 0.5}, …}``
    (numbers, but ``kind`` stays a word)."""
    result: dict[str, dict] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        name, dot, parameter = key.strip().partition(".")
        if not (sep and dot and name and parameter and value.strip()):
            raise VemprofError(f"--cleanup takes CLASS.PARAMETER=VALUE, e.g. mitochondria.neck_ratio=0.5; got '{item}'")
        if parameter != "kind":
            try:
                value = float(value)
            except ValueError:
                raise VemprofError(f"--cleanup {key.strip()} takes a number, got '{value.strip()}'") from None
        result.setdefault(name, {})[parameter] = value.strip() if parameter == "kind" else value
    return result


def plane(text: str | None, *, option: str = "--plane") -> tuple[tuple, tuple] | None:
    """``"2,5,5:0,0,1"`` → ``((2.0, 5.0, 5.0), (0.0, 0.0, 1.0))``: a point (Z,Y,X µm) and
    a normal (Z,Y,X); None stays None."""
    if text is None:
        return None
    point, colon, normal = text.partition(":")
    if not colon:
        raise VemprofError(f"{option} takes a point and a normal, Z,Y,X:NZ,NY,NX (µm), e.g. {option} 2,5,5:0,0,1; "
                           f"got '{text}'")
    return (triple(point, option=option, example="2,5,5:0,0,1"), triple(normal, option=option, example="2,5,5:0,0,1"))
