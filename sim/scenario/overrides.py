"""Scenario parameters by dotted name: ``forces.US.posture.block``, ``missions.ru_derik.per_day``.

Used by ``--set``, ``overrides=`` and sweeps. A name must address a parameter
the scenario has (with its defaults filled in); a misspelt one is refused with
the closest real names.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from sim.errors import InputError, Problem


def has_parameter(tree: Any, parts: list[str]) -> bool:
    """Whether the path ``parts`` leads to a value in a nested table."""
    for part in parts:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        else:
            return False
    return True


def parameter_value(tree: Any, name: str) -> Any:
    """The value at dotted ``name`` in a nested table (``None`` if it has none)."""
    for part in name.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def leaf_names(tree: Any, prefix: str = "") -> list[str]:
    """Dotted names of every value in a nested table."""
    if not isinstance(tree, dict):
        return [prefix.rstrip(".")]
    return [n for k, v in tree.items() for n in leaf_names(v, f"{prefix}{k}.")]


def apply_overrides(raw: dict, overrides: dict[str, Any], defaults: dict, source: str) -> dict:
    """Set dotted parameters in a raw scenario table; each must name an existing parameter."""
    problems = []
    out = copy.deepcopy(raw)
    for name, value in overrides.items():
        parts = name.split(".")
        if not has_parameter(defaults, parts):
            close = difflib.get_close_matches(name, leaf_names(defaults), n=3)
            fix = f"did you mean {' or '.join(close)}?" if close else "see `sim run --help`"
            problems.append(Problem(name, "is not a scenario parameter", fix))
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    if problems:
        raise InputError(source, problems)
    return out


def run_options(overrides: dict[str, Any], days: float | None, seed: int | None,
                where: str) -> tuple[float | None, int | None, dict[str, Any]]:
    """Take ``days`` and ``seed`` out of ``overrides``, where either may also be given.

    ``days`` is a scenario parameter and may come either way; ``seed`` is not a
    scenario parameter but is accepted the same way for convenience.

    Returns
    -------
    days, seed, rest
        The run's length and seed, and the remaining overrides.

    Raises
    ------
    InputError
        If ``days`` or ``seed`` is given twice with different values.
    """
    rest = dict(overrides)
    given = {"days": days, "seed": seed}
    for name in given:
        if name in rest:
            value = rest.pop(name)
            if given[name] is not None and given[name] != value:
                raise InputError.single(where, name, f"is given twice ({given[name]!r} and "
                                        f"{value!r})", f"give {name} once")
            given[name] = value
    return given["days"], given["seed"], rest
