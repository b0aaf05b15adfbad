"""Reading a patterns folder (``sim patterns``, or a calibration's posterior-predictive check)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.errors import InputError

MANIFEST = "patterns.json"


def is_patterns_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a patterns report."""
    return (Path(folder) / MANIFEST).is_file()


def read_patterns(folder: str | Path) -> tuple[dict, pd.DataFrame]:
    """A patterns folder's manifest and its table (one row per pattern).

    Raises
    ------
    InputError
        If ``folder`` is not a patterns folder.
    """
    folder = Path(folder)
    if not is_patterns_folder(folder):
        raise InputError.single(str(folder), "folder", "is not a patterns folder",
                                "give a folder written by `sim patterns`")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return manifest, pd.read_csv(folder / "patterns.csv")
