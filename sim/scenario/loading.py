"""Reading scenarios: a shipped name or a TOML file, its ``extends`` chain, overrides, validation.

A file may ``extends`` another and change only what differs. Any parameter can
be overridden by its dotted name, e.g. ``forces.US.posture.block`` or
``missions.ru_derik.per_day``. Every problem is reported at once, as an
``InputError`` naming the file and the field.
"""

from __future__ import annotations

import difflib
import pickle
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import InputError
from sim.scenario.overrides import apply_overrides
from sim.scenario.schema import ScenarioSpec
from sim.scenario.validation import problems_from_pydantic

#: The baseline scenario: what ``sim run``, ``sim.run()`` and ``PatrolModel()`` use by default.
DEFAULT_SCENARIO = "derik-june-2020"


def scenarios_dir() -> Path:
    """Folder of the shipped scenarios: ``scenarios/`` of a checkout, or the installed copy."""
    package = Path(__file__).resolve().parent.parent
    checkout = package.parent / "scenarios"
    shipped = checkout if (checkout / f"{DEFAULT_SCENARIO}.toml").is_file() else (
        package / "_scenarios")
    return shipped


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario names and their files, sorted by name."""
    return {p.stem: p for p in sorted(scenarios_dir().glob("*.toml"))}


def is_path_reference(ref: str | Path) -> bool:
    """Whether a scenario reference is a file path (ends in .toml or has a folder), not a name."""
    text = str(ref)
    return text.endswith(".toml") or "/" in text or "\\" in text or isinstance(ref, Path)


def resolve_path(ref: str | Path, relative_to: Path | None = None) -> Path:
    """The file a scenario reference names (absolute), one way only.

    A bare name (no ``.toml``, no folder) is a shipped scenario's name, never a
    file that happens to sit nearby; anything else is a path, relative to
    ``relative_to`` (the folder of the file that names it) or else the working
    directory.

    Raises
    ------
    InputError
        If no such file or shipped scenario exists, with the closest names.
    """
    shipped = shipped_scenarios()
    if not is_path_reference(ref):
        if str(ref) in shipped:
            return shipped[str(ref)].resolve()
        near = difflib.get_close_matches(str(ref), list(shipped), n=3)
        beside = (relative_to or Path()) / f"{ref}.toml"
        fix = (f"did you mean {' or '.join(near)}? " if near else "") + (
            f"for the file {beside}, write {str(ref) + '.toml'!r}; " if beside.is_file() else "")
        raise InputError.single(str(ref), "scenario", "is not a shipped scenario",
                                fix + f"shipped: {', '.join(shipped)}")
    path = Path(ref).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if path.is_file():
        return path.resolve()
    where = f" (relative to {relative_to})" if relative_to is not None else ""
    raise InputError.single(str(ref), "scenario", f"is not a file{where}",
                            "give the path of a scenario file, relative to the file that "
                            f"names it, or a shipped name: {', '.join(shipped)}")


#: Parsed TOML texts, pickled, by their text (a sweep's runs read the same few files).
_PARSED: dict[str, bytes] = {}


def _parse(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, parsed once a process: each call gets a fresh copy."""
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = pickle.dumps(tomllib.loads(text))
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[text] = parsed
    return pickle.loads(parsed)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's table; any way it cannot be read is an InputError naming the file.

    Raises
    ------
    InputError
        If the file is unreadable, not UTF-8, not TOML, or nested too deeply to parse.
    """
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError.single(path, "", f"is not valid TOML: {exc}",
                                "see https://toml.io for the syntax") from None
    except UnicodeDecodeError as exc:
        raise InputError.single(path, "", f"is not UTF-8 text ({exc})",
                                "save the file as UTF-8") from None
    except OSError as exc:
        raise InputError.single(path, "", f"cannot be read: {exc}") from None
    except (RecursionError, MemoryError):
        raise InputError.single(path, "", "is nested too deeply to read",
                                "flatten its arrays and inline tables") from None


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_raw(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file's table with its ``extends`` chain merged in."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise InputError.single(path, "extends", f"forms a cycle ({chain})", "remove one link")
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise InputError.single(path, "extends", f"= {parent!r} must be a scenario name")
    parent_raw = read_raw(resolve_path(parent, relative_to=path.parent), (*_seen, path))
    return _merge(parent_raw, raw)


def validate(raw: dict, source: str | Path) -> ScenarioSpec:
    """Validate a raw scenario table; raise InputError listing every problem."""
    try:
        return ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, problems_from_pydantic(exc, ScenarioSpec)) from None


def load_scenario(
    ref: str | Path = DEFAULT_SCENARIO, overrides: dict[str, Any] | None = None
) -> tuple[ScenarioSpec, Path]:
    """Read, merge, override and validate a scenario; return it and its file.

    Parameters
    ----------
    ref : str or Path
        A shipped scenario's name (``"derik-june-2020"``) or a TOML file.
    overrides : dict, optional
        Dotted parameter names and values, applied after ``extends``.

    Raises
    ------
    InputError
        For a missing file, bad TOML, an unknown key or parameter, or a value
        out of range; all problems are listed.
    """
    path = resolve_path(ref)
    raw = read_raw(path)
    spec = validate(raw, path)
    if overrides:
        defaults = spec.model_dump(mode="python")
        spec = validate(apply_overrides(raw, overrides, defaults, str(path)), path)
    return spec, path
