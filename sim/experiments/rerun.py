"""Re-run one run of a finished (or interrupted) sweep alone, with its logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.api import run
from sim.errors import InputError
from sim.experiments.designs import expand_runs
from sim.experiments.runner import tasks_for
from sim.experiments.spec import SweepSpec
from sim.io.results import RunResult
from sim.io.summary import SUMMARY_TYPES
from sim.io.sweep_folder import DESIGN, RUNS, TABLE, read_manifest


def sweep_row(folder: Path, run_id: int) -> dict[str, Any] | None:
    """The sweep's recorded row of a run, or None if it has not run yet."""
    path = folder / TABLE if (folder / TABLE).is_file() else folder / RUNS / (
        f"run-{run_id:06d}.parquet")
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    rows = table[table["run_id"] == run_id].to_dict("records")
    return rows[0] if rows else None


def rerun(folder: str | Path, run_id: int) -> tuple[RunResult, dict | None, list[str]]:
    """Run one run of a sweep again; return its result, the sweep's row and the mismatches.

    The task is rebuilt from the sweep's manifest and design (scenario, parameters,
    seed), so the result must equal the sweep's row; ``mismatches`` lists the
    summary fields that differ (empty when identical).

    Raises
    ------
    InputError
        If ``folder`` is not a sweep folder or ``run_id`` is not one of its runs.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    spec = SweepSpec.model_validate(manifest["spec"])
    runs = expand_runs(spec, pd.read_parquet(folder / DESIGN))
    if not 0 <= run_id < len(runs):
        raise InputError.single(str(folder), "run", f"= {run_id} is not a run of this sweep",
                                f"runs are numbered 0 to {len(runs) - 1}")
    (task,) = tasks_for(runs.iloc[[run_id]], spec, manifest["scenario"], None)
    result = run(task["scenario"], seed=task["seed"], days=task["days"],
                 overrides=task["params"])
    row = sweep_row(folder, run_id)
    mismatches = []
    if row is not None and row["status"] == "ok":
        mismatches = [name for name in SUMMARY_TYPES if row[name] != result.summary[name]]
    return result, row, mismatches
