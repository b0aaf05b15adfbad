"""Reading a calibration folder (``sim calibrate``): manifest, posterior, generations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.io.manifest import read_json_manifest

MANIFEST = "calibration.json"


def is_calibration_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a calibration."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A calibration folder's manifest (see `sim.io.manifest.read_json_manifest`)."""
    return read_json_manifest(folder, MANIFEST, kind="calibration", command="sim calibrate")


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
