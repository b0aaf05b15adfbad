"""Atomic writes: a file or a folder appears whole, or not at all.

Everything is written to a hidden temporary name beside its target and renamed
into place when complete, so a crash or kill never leaves something that looks
finished. Temporary names carry the host and process that made them, so the
leftovers of a killed process are removed when a later process first writes into
that folder, or writes the same run folder again (never those of a process still
running).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import InputError


def _owner() -> str:
    """The host and process, as temporary names carry them."""
    return f"{socket.gethostname().replace('.', '_')}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(folder: Path, target: str | None = None) -> int:
    """Remove temporary files or folders left by dead processes of this host.

    Only those for ``target`` (a file or folder name), or every one in ``folder``
    when ``target`` is None. A leftover is recognised by the owner its name carries
    (``<host>-<pid>``, see :func:`_owner`); those of live processes or other hosts stay.

    Returns
    -------
    int
        How many were removed.
    """
    host = socket.gethostname().replace(".", "_")
    owner = re.compile(rf"{re.escape(host)}-(\d+)")
    removed = 0
    for tmp in folder.glob(f".{glob.escape(target)}.*" if target else ".*"):
        parts = tmp.name.split(".")
        if not (tmp.name.endswith((".tmp", ".partial"))
                or any(part.startswith("old-") for part in parts)):
            continue
        pid = next((int(m.group(1)) for m in map(owner.fullmatch, parts) if m), None)
        if pid is None or _alive(pid):
            continue
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed += 1
    return removed


#: Folders this process has already cleared of dead writers' leftovers (see atomic_write).
_SWEPT: set[Path] = set()


def check_writable(folder: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be created or written.

    Raises
    ------
    InputError
        Naming the folder, the reason and the fix.
    """
    parent = folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    probe = parent if parent.is_dir() else parent.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".write-test-{_owner()}.", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError.single(str(folder), option, f"cannot be written ({exc.strerror} in "
                                f"{probe})", "choose a folder you can write to") from None


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path``.

    The file gets the permissions a plain ``open()`` would give it (0666 less the
    umask), not ``mkstemp``'s owner-only 0600.
    """
    if path.parent not in _SWEPT:  # once a folder a process: not a listing per file written
        remove_stale(path.parent)
        _SWEPT.add(path.parent)
    tmp = path.parent / f".{path.name}.{_owner()}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # less the umask, as open()
    mode = os.fstat(fd).st_mode & 0o777  # so the umask is known without asking for it
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
    remove_stale(out.parent, out.name)
    tmp = out.parent / f".{out.name}.{_owner()}.{uuid.uuid4().hex[:12]}.partial"
    os.mkdir(tmp, 0o777)  # less the umask, as a plain mkdir (not mkdtemp's owner-only 0700)
    try:
        fill(tmp)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp: Path, out: Path) -> None:
    """Move a finished folder into place, replacing an old one."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.{_owner()}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
