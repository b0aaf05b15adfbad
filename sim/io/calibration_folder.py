"""Reading a calibration folder (``sim calibrate``): manifest, posterior, generations."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.errors import InputError

MANIFEST = "calibration.json"


def is_calibration_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a calibration."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict:
    """A calibration folder's manifest.

    Raises
    ------
    InputError
        If ``folder`` is not a calibration folder.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError.single(str(folder), "folder", "is not a calibration folder",
                                "give a folder written by `sim calibrate`")
    return json.loads(path.read_text(encoding="utf-8"))


def read_calibration(folder: str | Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A finished calibration's manifest, posterior particles and generations.

    Raises
    ------
    InputError
        If ``folder`` is not a finished calibration.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("status") != "complete":
        raise InputError.single(str(folder), "calibration", "is not complete",
                                "finish it with `sim calibrate FILE --out FOLDER --resume`")
    return (manifest, pd.read_parquet(folder / "posterior.parquet"),
            pd.read_csv(folder / "generations.csv"))
