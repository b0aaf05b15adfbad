"""Run a sweep: every run of its design, locally or on Dask, resumable, into tidy tables.

The folder's layout is described in :mod:`sim.io.sweep_folder`. Everything is
checked before any worker starts: the sweep file, the design, and whether the
output folder may be used (a fresh one, or the same sweep with ``--resume``).
Each finished run is written atomically as its own file, so a killed sweep
resumes exactly; ``runs.parquet`` and ``points.parquet`` are built at the end.
"""

from __future__ import annotations

import datetime as dt
import platform
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import InputError
from sim.experiments.designs import expand_runs, make_design
from sim.experiments.executors import executor
from sim.experiments.points import point_stats
from sim.experiments.progress import Progress
from sim.experiments.spec import SweepSpec, load_sweep
from sim.experiments.worker import BASE_COLUMNS
from sim.io.atomic import atomic_write, write_json
from sim.io.manifest import refuse_used_out
from sim.io.results import versions
from sim.io.summary import SUMMARY_TYPES
from sim.io.sweep_folder import DESIGN, MANIFEST, POINTS, RUNS, TABLE, read_manifest, run_files
from sim.scenario.loading import resolve_path, scenarios_dir


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def row_schema(design: pd.DataFrame, spec: SweepSpec) -> pa.Schema:
    """The fixed schema of a run row (so failed runs, with empty figures, fit too)."""
    params = pa.Schema.from_pandas(design[list(spec.parameters)], preserve_index=False)
    fields = [pa.field(name, pa.int64()) for name in BASE_COLUMNS]
    fields += [params.field(name) for name in spec.parameters]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    fields += [pa.field(name, pa.int64() if kind is int else pa.float64())
               for name, kind in SUMMARY_TYPES.items()]
    return pa.schema(fields)


def scenario_reference(spec: SweepSpec, sweep_file: Path | None) -> str:
    """The base scenario as workers should name it: a shipped name, else an absolute path."""
    path = resolve_path(spec.scenario, relative_to=sweep_file.parent if sweep_file else None)
    return path.stem if path.parent.resolve() == scenarios_dir().resolve() else str(
        path.resolve())


def tasks_for(runs: pd.DataFrame, spec: SweepSpec, scenario: str, logs_dir: Path | None):
    """Tasks (plain dicts of Python values) for the rows of ``runs``."""
    names = list(spec.parameters)
    for record in runs.to_dict("records"):
        yield {
            **{key: int(record[key]) for key in BASE_COLUMNS},
            "scenario": scenario, "days": spec.days,
            "params": {name: _plain(record[name]) for name in names},
            "logs_dir": str(logs_dir) if logs_dir else None,
        }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def design_hash(design: pd.DataFrame) -> str:
    """A hash of the design's values (catches an edited table design)."""
    return str(pd.util.hash_pandas_object(design, index=False).sum())


def check_folder(out: Path, manifest: dict, resume: bool) -> dict:
    """Whether ``out`` may hold this sweep; return the manifest to keep (nothing is written).

    A fresh sweep needs an empty or missing folder; ``resume`` needs the same
    sweep (file, options and design) in it.

    Raises
    ------
    InputError
        Naming the folder, the option and the fix.
    """
    if resume:
        if not (out / MANIFEST).is_file():
            raise InputError.single(str(out), "--resume", "has no sweep to resume",
                                    "run without --resume to start it")
        old = read_manifest(out)
        if (old["spec_sha256"], old["design_hash"]) != (manifest["spec_sha256"],
                                                       manifest["design_hash"]):
            raise InputError.single(
                str(out), "--resume", "refused: the sweep (file, options or design) changed "
                f"since it started (spec {old['spec_sha256'][:12]} != "
                f"{manifest['spec_sha256'][:12]})",
                "resume with the same file and options, or start afresh in a new --out")
        old["sessions"].append(manifest["sessions"][-1])
        old.update(status="running", finished_utc=None)
        return old
    refuse_used_out(out, "sweep")
    return manifest


def sweep(spec: str | Path, *, out: str | Path | None = None, workers: int | None = None,
          scheduler: str | None = None, replicates: int | None = None,
          sample: int | None = None, days: float | None = None, resume: bool = False,
          quiet: bool = False, keep_logs: bool = False) -> pd.DataFrame:
    """Run every run of a sweep file and return the table of runs, one row per run.

    Parameters
    ----------
    spec : str or Path
        The sweep file (TOML).
    out : str or Path, optional
        The sweep folder (default ``sweeps/<name>``).
    workers : int, optional
        Local worker processes (default: one per CPU; 0 runs in this process).
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``): run there instead.
    replicates, sample, days : optional
        Override the file's replicates, design size (``n``, or grid levels) and days.
    resume : bool
        Continue an interrupted sweep in ``out``, running only what is missing.
    quiet : bool
        No progress output.
    keep_logs : bool
        Also keep each run's logs under ``out/logs``.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``point_id``, ``replicate``, ``seed``, the parameters,
        ``status``, ``error`` and every summary field, sorted by ``run_id``.
    """
    spec_obj, path = load_sweep(spec, replicates=replicates, sample=sample, days=days)
    design = make_design(spec_obj, path.parent)
    if spec_obj.reference_point >= len(design):
        raise InputError.single(path, "reference_point", f"= {spec_obj.reference_point} but "
                                f"the design has {len(design)} points",
                                f"give a point_id from 0 to {len(design) - 1}")
    runs = expand_runs(spec_obj, design)
    out = Path(out) if out else Path("sweeps") / spec_obj.name
    scenario = scenario_reference(spec_obj, path)
    manifest = check_folder(out, {
        "name": spec_obj.name, "sweep_file": path.name, "scenario": scenario,
        "spec": spec_obj.model_dump(mode="json"), "spec_sha256": spec_obj.content_hash(),
        "design_hash": design_hash(design), "master_seed": spec_obj.seed,
        "common_random_numbers": spec_obj.common_random_numbers,
        "n_points": len(design), "n_runs": len(runs), "versions": versions(),
        "started_utc": _now(), "finished_utc": None, "status": "running",
        "sessions": [{"started_utc": _now(), "host": socket.gethostname(),
                      "platform": platform.platform(),
                      "executor": {"scheduler": scheduler} if scheduler
                      else {"workers": workers}}],
    }, resume)
    pool = executor(workers, scheduler)
    try:
        pool.start()
        (out / RUNS).mkdir(parents=True, exist_ok=True)
        if not (out / DESIGN).is_file():
            atomic_write(out / DESIGN, lambda p: design.to_parquet(p, index=False))
        write_json(out / MANIFEST, manifest)
        _run_missing(pool, out, spec_obj, design, runs, scenario, quiet, keep_logs)
    finally:
        pool.close()
    return finish(out, spec_obj, runs, row_schema(design, spec_obj), manifest)


def _run_missing(pool: Any, out: Path, spec: SweepSpec, design: pd.DataFrame,
                 runs: pd.DataFrame, scenario: str, quiet: bool, keep_logs: bool) -> None:
    """Run every run without a file yet, writing each as it finishes."""
    schema = row_schema(design, spec)
    todo = runs[~runs["run_id"].isin(run_files(out))]
    logs = out / "logs" if keep_logs else None
    if logs:
        logs.mkdir(exist_ok=True)
    progress = Progress(len(todo), quiet)
    try:
        for row in pool.run(tasks_for(todo, spec, scenario, logs)):
            table = pa.Table.from_pylist([row], schema=schema)
            atomic_write(out / RUNS / f"run-{row['run_id']:06d}.parquet",
                         lambda p, t=table: pq.write_table(t, p))
            progress.update(row["status"] == "failed")
    except BaseException:
        pool.kill()
        raise
    finally:
        progress.close()


def stream_runs(files: list[Path], target: Path, schema: pa.Schema, batch: int = 256) -> None:
    """Concatenate run files into one Parquet file, ``batch`` rows at a time (flat memory)."""
    with pq.ParquetWriter(target, schema) as writer:
        for start in range(0, len(files), batch):
            tables = [pq.read_table(path, schema=schema) for path in files[start:start + batch]]
            writer.write_table(pa.concat_tables(tables))


def finish(out: Path, spec: SweepSpec, runs: pd.DataFrame, schema: pa.Schema,
           manifest: dict) -> pd.DataFrame:
    """Combine the run files into ``runs.parquet`` and ``points.parquet``; close the manifest."""
    files = run_files(out)
    missing = set(runs["run_id"]) - set(files)
    if missing:
        raise RuntimeError(f"{out}: {len(missing)} runs missing after the sweep")
    atomic_write(out / TABLE, lambda p: stream_runs([files[i] for i in sorted(files)], p,
                                                   schema))
    table = pd.read_parquet(out / TABLE)
    table.attrs["name"] = spec.name
    points = point_stats(table, spec)
    atomic_write(out / POINTS, lambda p: points.to_parquet(p, index=False))
    n_failed = int((table["status"] == "failed").sum())
    manifest.update(status="complete", finished_utc=_now(), n_failed=n_failed)
    manifest["sessions"][-1]["finished_utc"] = manifest["finished_utc"]
    write_json(out / MANIFEST, manifest)
    return table
