"""Reading a sweep folder: its manifest, run table and per-point statistics.

A sweep folder holds ``sweep.json`` (the manifest: the sweep file's content and
hash, the options given, the hashes of the scenario and design files, master
seed, versions, host, times), ``design.parquet`` (the points),
``runs/run-NNNNNN.parquet`` (one file per run that finished or failed in the
model), ``runs/lost-NNNNNN.parquet`` (a run lost with its worker process, to be
run again), and, once every run is done, ``runs.parquet`` (one row per run) and
``points.parquet`` (per design point: mean, spread and 95% interval of each
output). ``sim.experiments.runner`` writes it; everything that reads it reads it
here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.io.manifest import read_json_manifest

MANIFEST, DESIGN, RUNS, TABLE, POINTS = (
    "sweep.json", "design.parquet", "runs", "runs.parquet", "points.parquet")


def is_sweep_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a sweep's manifest."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A sweep folder's manifest (see `sim.io.manifest.read_json_manifest`)."""
    return read_json_manifest(folder, MANIFEST, kind="sweep", command="sim sweep")


def run_file(folder: str | Path, run_id: int, lost: bool = False) -> Path:
    """Where a run's row is kept: ``runs/run-NNNNNN.parquet``, or ``lost-`` for a lost run."""
    return Path(folder) / RUNS / f"{'lost' if lost else 'run'}-{run_id:06d}.parquet"


def run_files(folder: str | Path) -> dict[int, Path]:
    """The recorded runs' files (finished, or failed in the model) by run id."""
    return {int(p.stem.split("-")[1]): p for p in (Path(folder) / RUNS).glob("run-*.parquet")}


def lost_files(folder: str | Path) -> dict[int, Path]:
    """The files of runs lost with their worker process (``--resume`` runs them again)."""
    return {int(p.stem.split("-")[1]): p for p in (Path(folder) / RUNS).glob("lost-*.parquet")}


def _temporary(path: Path, *names: str) -> bool:
    """Whether ``path`` is an atomic write's leftover temporary file for one of ``names``."""
    return path.suffix == ".tmp" and any(path.name.startswith(f".{n}.") for n in names)


def preparation_leftovers(folder: str | Path) -> list[Path] | None:
    """What a sweep killed while preparing ``folder`` left there, or None if it holds more.

    Before its manifest exists a sweep folder can hold only temporary files of the
    manifest and design, the design and an empty ``runs/``: no run is saved, so
    the folder can be treated as empty. An empty folder gives ``[]``.
    """
    folder = Path(folder)
    if not folder.is_dir() or (folder / MANIFEST).exists():
        return None
    entries = list(folder.iterdir())
    for path in entries:
        empty_runs = path.name == RUNS and path.is_dir() and not any(path.iterdir())
        if not (empty_runs or path.name == DESIGN or _temporary(path, MANIFEST, DESIGN)):
            return None
    return entries


#: Stands for a field one side of a difference lacks.
ABSENT = "(none)"


def _field(path: str, key: str) -> str:
    key = f'"{key}"' if "." in key or " " in key else key
    return f"{path}.{key}" if path else key


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Each leaf that differs between two JSON values: ``(dotted field, old, new)``.

    A field one side lacks has :data:`ABSENT` there; a parameter's dotted name is
    quoted (``parameters."forces.US.posture.block".values``).
    """
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in [*old, *(k for k in new if k not in old)]:
            found += differences(old.get(key, ABSENT), new.get(key, ABSENT), _field(path, key))
        return found
    return [] if old == new else [(path, old, new)]


def show(value: Any, width: int = 60) -> str:
    """A value as short JSON, for a message (:data:`ABSENT` as it is)."""
    if value == ABSENT:
        return ABSENT
    text = json.dumps(value, separators=(", ", ": "), default=str)
    return text if len(text) <= width else text[:width - 3] + "..."


@dataclass(frozen=True)
class SweepFolder:
    """A finished sweep, read back.

    Attributes
    ----------
    path : Path
        The folder.
    manifest : dict
        ``sweep.json``; ``manifest["spec"]`` is the sweep file's resolved content.
    runs, points, design : pandas.DataFrame
        One row per run; per design point; the design's points.
    """

    path: Path
    manifest: dict[str, Any]
    runs: pd.DataFrame
    points: pd.DataFrame
    design: pd.DataFrame

    @property
    def name(self) -> str:
        """The sweep's name."""
        return self.manifest["name"]

    @property
    def parameters(self) -> list[str]:
        """The swept parameters' dotted names, in the sweep file's order."""
        return list(self.manifest["spec"]["parameters"])

    @property
    def design_kind(self) -> str:
        """``grid``, ``lhs``, ``sobol``, ``nolh``, ``saltelli``, ``morris`` or ``table``."""
        return self.manifest["spec"]["design"]["kind"]

    @property
    def outputs(self) -> list[str]:
        """The summary fields with per-point statistics, in ``points.parquet`` order."""
        return [c.removesuffix("_mean") for c in self.points.columns if c.endswith("_mean")]


def read_sweep(folder: str | Path) -> SweepFolder:
    """A finished sweep's manifest, runs, points and design.

    Raises
    ------
    InputError
        If ``folder`` is not a sweep folder, or the sweep is not complete.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("status") != "complete":
        raise InputError.single(str(folder), "sweep", "is not complete",
                                "finish it with `sim sweep FILE --out FOLDER --resume`")
    return SweepFolder(folder, manifest, pd.read_parquet(folder / TABLE),
                       pd.read_parquet(folder / POINTS), pd.read_parquet(folder / DESIGN))
