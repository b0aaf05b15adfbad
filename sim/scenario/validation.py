"""Turn pydantic validation errors into ``Problem`` lines that name the field and the fix."""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import Problem


def dotted(loc: tuple) -> str:
    """``("forces", "RU", "posture", "block")`` → ``"forces.RU.posture.block"``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _unwrap(annotation: Any) -> list[Any]:
    """The candidate types inside Optional, Annotated, dict and tuple annotations."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    return [annotation]


def model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` down from ``root``."""
    current: Any = root
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
            continue
        options = _unwrap(current)
        nxt = None
        for option in options:
            origin, args = typing.get_origin(option), typing.get_args(option)
            if origin is dict and args:
                nxt = args[1]
            elif origin is tuple and args:
                nxt = args[0]
        if nxt is None:
            return None
        current = nxt
    for option in _unwrap(current):
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin is dict and args:
            option = args[1]
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def problems_from_pydantic(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One Problem per pydantic error, with the value that was given and what is allowed."""
    problems = []
    for err in exc.errors(include_url=False):
        loc, kind = tuple(err["loc"]), err["type"]
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        given = err.get("input")
        shown = ("" if isinstance(given, dict) else f" = {given.isoformat(' ')}"
                 if isinstance(given, dt.datetime | dt.date) else f" = {given!r}")
        if kind == "extra_forbidden":
            parent = model_at(root, loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else ""
            problems.append(Problem(dotted(loc), "is not a known key",
                                    f"allowed here: {allowed}" if allowed else "remove it"))
        elif kind == "missing":
            problems.append(Problem(dotted(loc), "is required", "add it"))
        elif kind == "value_error" and isinstance(given, dict):
            problems.append(Problem(dotted(loc), msg))
        else:
            problems.append(Problem(dotted(loc), f"{shown} {msg[0].lower()}{msg[1:]}".strip()))
    return problems
