"""One sweep run → one row; and the worker process loop that runs them (``main``).

A task is a plain dict (``run_id``, ``point_id``, ``replicate``, ``seed``,
``scenario``, ``days``, ``params``, ``logs_dir``), so it travels as a JSON line
to a local worker process or as a pickle to a Dask worker. A run that raises is
returned as a row with ``status = "failed"`` and its error; the sweep goes on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.summary import FIGURES

if TYPE_CHECKING:
    from sim.results import RunResult

BASE_COLUMNS = ("run_id", "point_id", "replicate", "seed")


def simulate(task: dict[str, Any]) -> RunResult:
    """Run a task's scenario, with its parameters and seed, to the horizon."""
    from sim.model import PatrolModel
    from sim.results import RunResult

    model = PatrolModel(task["scenario"], rng=task["seed"], days=task["days"], **task["params"])
    model.run_model()
    return RunResult.from_model(model)


def failed_row(task: dict[str, Any], error: str) -> dict[str, Any]:
    """The row of a run that failed: its ids and parameters, the error, no figures."""
    row: dict[str, Any] = {key: task[key] for key in BASE_COLUMNS}
    row.update(task["params"], status="failed", error=error)
    row.update({name: None for name in FIGURES})
    return row


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; return its row (the task's ids and parameters, status, summary figures)."""
    try:
        result = simulate(task)
        if task.get("logs_dir"):
            result.write(Path(task["logs_dir"]) / f"run-{task['run_id']:06d}")
    except Exception as exc:  # any failure of a run is recorded in its row, not raised
        return failed_row(task, f"{type(exc).__name__}: {exc}")
    row: dict[str, Any] = {key: task[key] for key in BASE_COLUMNS}
    row.update(task["params"], status="ok", error="")
    row.update({name: result.summary[name] for name in FIGURES})
    return row


def main() -> int:
    """Serve tasks: read one JSON task per line on stdin, write one JSON row per line."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but rows may reach the parent's pipe
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(run_task(json.loads(line))) + "\n")
            out.flush()
    return 0

