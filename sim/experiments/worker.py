"""One sweep run → one row; and the worker process loop that runs them (``main``).

A task is a plain dict (``run_id``, ``point_id``, ``replicate``, ``seed``,
``scenario``, ``days``, ``params``, ``logs_dir``, and optionally ``statistics``: the
names of pattern statistics to measure as well), so it travels as a JSON line
to a local worker process or as a pickle to a Dask worker. A run that raises,
or whose row cannot be built, is returned as a row with ``status = "failed"``
and its error; the sweep goes on. A run whose worker process was lost (killed
from outside, out of memory, a node gone) is not the model's doing: its row has
``status = "lost"``, and the sweep runs it again (see :data:`STATUSES`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sim.io.summary import SUMMARY_TYPES

BASE_COLUMNS = ("run_id", "point_id", "replicate", "seed")

#: Marks the lines a worker writes for its parent; anything else on the pipe is ignored.
ROW_PREFIX = "ROW "

#: A run's status: finished, failed in the model (recorded for good), or lost with its
#: worker process (run again, by the sweep and by ``--resume``).
STATUSES = ("ok", "failed", "lost")


def failed_row(task: dict[str, Any], error: str, status: str = "failed") -> dict[str, Any]:
    """The row of a run that failed (or was ``"lost"``): its ids and parameters, the error."""
    row: dict[str, Any] = {key: task[key] for key in BASE_COLUMNS}
    row.update(task["params"], status=status, error=error)
    row.update({name: None for name in SUMMARY_TYPES})
    return row


def lost_row(task: dict[str, Any], error: str) -> dict[str, Any]:
    """The row of a run whose worker process was lost: to be run again, not a result."""
    return failed_row(task, error, status="lost")


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; return its row (the task's ids and parameters, status, summary fields)."""
    from sim.api import run

    try:
        result = run(task["scenario"], seed=task["seed"], days=task["days"],
                     overrides=task["params"])
        if task.get("logs_dir"):
            result.write(Path(task["logs_dir"]) / f"run-{task['run_id']:06d}")
        row: dict[str, Any] = {key: task[key] for key in BASE_COLUMNS}
        row.update(task["params"], status="ok", error="")
        row.update({name: result.summary[name] for name in SUMMARY_TYPES})
        if task.get("statistics"):
            from sim.experiments.observations import measure

            row.update(measure(result, task["statistics"]))
    except Exception as exc:  # any failure of a run is recorded in its row, not raised
        return failed_row(task, f"{type(exc).__name__}: {exc}")
    return row


def main() -> int:
    """Serve tasks: read one JSON task per line on stdin, write one row per line.

    Rows go to the original standard output, each prefixed with :data:`ROW_PREFIX`;
    file descriptor 1 itself is pointed at standard error, so whatever a library
    prints (from Python or C) cannot reach the parent's pipe as a row. Ctrl-C is
    ignored: a terminal sends it to the whole process group, and the parent, not
    each worker, decides what stops (it kills its workers itself).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8") as rows:
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        for line in sys.stdin:
            if line.strip():
                rows.write(ROW_PREFIX + json.dumps(run_task(json.loads(line))) + "\n")
                rows.flush()
    return 0
