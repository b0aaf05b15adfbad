"""Reading a sweep folder: its manifest, run table and per-point statistics.

A sweep folder holds ``sweep.json`` (the manifest: the sweep file's content and
hash, master seed, versions, host, times), ``design.parquet`` (the points),
``runs/run-NNNNNN.parquet`` (one file per finished run), and, once every run is
done, ``runs.parquet`` (one row per run) and ``points.parquet`` (per design
point: mean, spread and 95% interval of each output). ``sim.experiments.runner``
writes it; everything that reads it reads it here.
"""

from __future__ import annotations

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


def run_files(folder: str | Path) -> dict[int, Path]:
    """The finished runs' files by run id."""
    return {int(p.stem.split("-")[1]): p for p in (Path(folder) / RUNS).glob("run-*.parquet")}


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
