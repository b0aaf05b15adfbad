"""Atomic writes: a file or a folder appears whole, or not at all.

Everything is written to a hidden temporary name beside its target and renamed
into place when complete, so a crash or kill never leaves something that looks
finished.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)  # elsewhere: the classic set-and-restore
    os.umask(old)
    return old


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path``.

    The file gets the permissions a plain ``open()`` would give it (0666 less the
    umask), not ``mkstemp``'s owner-only 0600.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def strict(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by None.

    Strict JSON has no NaN or Infinity, and readers other than Python's refuse them.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def json_text(record: dict) -> str:
    """Strict JSON, indented, one trailing newline (NaN and infinity as null)."""
    return json.dumps(strict(record), indent=2, default=str, allow_nan=False) + "\n"


def write_json(path: Path, record: dict) -> None:
    """Write strict JSON atomically (see :func:`json_text`)."""
    text = json_text(record)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_folder(out: Path, fill: Callable[[Path], Any]) -> Path:
    """Call ``fill(tmp_folder)``, then move the folder onto ``out`` (replacing an old one)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        fill(tmp)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp: Path, out: Path) -> None:
    """Move a finished folder into place, replacing an old one."""
    os.chmod(tmp, 0o777 & ~umask())
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
