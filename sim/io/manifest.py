"""The JSON manifest every experiment folder carries (sweep, comparison, calibration)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.errors import InputError


def read_json_manifest(folder: str | Path, filename: str, *, kind: str,
                       command: str) -> dict[str, Any]:
    """The manifest ``filename`` of a ``kind`` folder written by ``command``.

    Raises
    ------
    InputError
        If ``folder`` has no such manifest.
    """
    path = Path(folder) / filename
    if not path.is_file():
        raise InputError.single(str(folder), "folder", f"is not a {kind} folder (no {filename})",
                                f"give a folder written by `{command}`")
    return json.loads(path.read_text(encoding="utf-8"))


def refuse_used_out(out: Path, kind: str) -> None:
    """Refuse to start a new ``kind`` in a folder that already holds files.

    Raises
    ------
    InputError
        If ``out`` exists and is not empty.
    """
    if out.exists() and any(out.iterdir()):
        raise InputError.single(str(out), "--out", "already holds files",
                                f"pass --resume to continue that {kind}, or choose a new --out")
