"""Reading a comparison folder (``sim compare``): manifest, runs and the comparison table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.io.manifest import read_json_manifest

MANIFEST = "compare.json"


def is_compare_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a comparison."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """A comparison folder's manifest (see `sim.io.manifest.read_json_manifest`)."""
    return read_json_manifest(folder, MANIFEST, kind="comparison", command="sim compare")


def read_comparison(folder: str | Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A finished comparison's manifest, table (one row per scenario and output) and runs.

    Raises
    ------
    InputError
        If the comparison is not complete.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("status") != "complete":
        raise InputError.single(str(folder), "comparison", "is not complete",
                                "finish it with `sim compare ... --out FOLDER --resume`")
    return (manifest, pd.read_csv(folder / "comparison.csv"),
            pd.read_parquet(folder / "runs.parquet"))
