"""Run a sweep: every run of its design, locally or on Dask, resumable, into tidy tables.

A sweep folder holds ``sweep.json`` (the manifest: spec and hash, master seed,
versions, host, times), ``design.parquet`` (the points), ``runs/run-NNNNNN.parquet``
(one file per finished run, each written atomically), and, once every run is
done, ``runs.parquet`` (one row per run) and ``points.parquet`` (per design
point: mean, standard deviation and 95% confidence interval of each figure over
the replicates, with a flag where the interval is too wide). ``--keep-logs``
adds each run's logs under ``logs/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.design import expand_runs, make_design
from sim.errors import ScenarioError
from sim.executors import executor
from sim.points import point_stats
from sim.progress import Progress
from sim.results import versions
from sim.scenario import resolve_path, scenarios_dir
from sim.summary import FIGURES
from sim.sweepspec import SweepSpec, load_sweep
from sim.worker import BASE_COLUMNS

MANIFEST, DESIGN, RUNS, TABLE, POINTS = (
    "sweep.json", "design.parquet", "runs", "runs.parquet", "points.parquet")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)``, then rename the temporary file onto ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, record: dict) -> None:
    """Write JSON atomically."""
    atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=2, default=str) + "\n",
                                              encoding="utf-8"))


def row_schema(design: pd.DataFrame, spec: SweepSpec) -> pa.Schema:
    """The fixed schema of a run row (so failed runs, with empty figures, fit too)."""
    params = pa.Schema.from_pandas(design[list(spec.parameters)], preserve_index=False)
    fields = [pa.field(name, pa.int64()) for name in BASE_COLUMNS]
    fields += [params.field(name) for name in spec.parameters]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    fields += [pa.field(name, pa.int64() if kind is int else pa.float64())
               for name, kind in FIGURES.items()]
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


def prepare(out: Path, manifest: dict, resume: bool) -> dict:
    """Create the sweep folder, or check it can be resumed; return the manifest to keep."""
    old_path = out / MANIFEST
    if resume:
        if not old_path.is_file():
            raise ScenarioError.single(str(out), "--resume", "has no sweep to resume",
                                       "run without --resume to start it")
        old = json.loads(old_path.read_text(encoding="utf-8"))
        if (old["spec_sha256"], old["design_hash"]) != (manifest["spec_sha256"],
                                                       manifest["design_hash"]):
            raise ScenarioError.single(
                str(out), "--resume", "refused: the sweep (file, options or design) changed "
                f"since it started (spec {old['spec_sha256'][:12]} != "
                f"{manifest['spec_sha256'][:12]})",
                "resume with the same file and options, or start afresh in a new --out")
        old["sessions"].append(manifest["sessions"][-1])
        old.update(status="running", finished_utc=None)
        return old
    if out.exists() and any(out.iterdir()):
        raise ScenarioError.single(str(out), "--out", "already holds files",
                                   "pass --resume to continue that sweep, or choose a new --out")
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
        ``status``, ``error`` and every summary figure, sorted by ``run_id``.
    """
    spec_obj, path = load_sweep(spec, replicates=replicates, sample=sample, days=days)
    pool = executor(workers, scheduler)
    try:
        return _run_sweep(spec_obj, path, pool, out, workers, scheduler, resume, quiet,
                          keep_logs)
    finally:
        pool.close()


def _run_sweep(spec_obj: SweepSpec, path: Path, pool: Any, out: str | Path | None,
               workers: int | None, scheduler: str | None, resume: bool, quiet: bool,
               keep_logs: bool) -> pd.DataFrame:
    pool.start()
    design = make_design(spec_obj, path.parent)
    runs = expand_runs(spec_obj, design)
    out = Path(out) if out else Path("sweeps") / spec_obj.name
    scenario = scenario_reference(spec_obj, path)
    manifest = prepare(out, {
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
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    if not (out / DESIGN).is_file():
        atomic_write(out / DESIGN, lambda p: design.to_parquet(p, index=False))
    write_json(out / MANIFEST, manifest)

    schema = row_schema(design, spec_obj)
    done = {int(p.stem.split("-")[1]) for p in (out / RUNS).glob("run-*.parquet")}
    todo = runs[~runs["run_id"].isin(done)]
    logs = out / "logs" if keep_logs else None
    if logs:
        logs.mkdir(exist_ok=True)
    progress = Progress(len(todo), quiet)
    try:
        for row in pool.run(tasks_for(todo, spec_obj, scenario, logs)):
            table = pa.Table.from_pylist([row], schema=schema)
            atomic_write(out / RUNS / f"run-{row['run_id']:06d}.parquet",
                         lambda p, t=table: pq.write_table(t, p))
            progress.update(row["status"] == "failed")
    except BaseException:
        pool.kill()
        raise
    finally:
        progress.close()
    return finish(out, spec_obj, runs, schema, manifest)


def stream_runs(files: list[Path], target: Path, schema: pa.Schema, batch: int = 256) -> None:
    """Concatenate run files into one Parquet file, ``batch`` rows at a time (flat memory)."""
    with pq.ParquetWriter(target, schema) as writer:
        for start in range(0, len(files), batch):
            tables = [pq.read_table(path, schema=schema) for path in files[start:start + batch]]
            writer.write_table(pa.concat_tables(tables))


def finish(out: Path, spec: SweepSpec, runs: pd.DataFrame, schema: pa.Schema,
           manifest: dict) -> pd.DataFrame:
    """Combine the run files into ``runs.parquet`` and ``points.parquet``; close the manifest."""
    files = {int(p.stem.split("-")[1]): p for p in (out / RUNS).glob("run-*.parquet")}
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


def load(folder: str | Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A finished sweep's manifest, runs table and points table."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("status") != "complete":
        raise ScenarioError.single(str(folder), "sweep", "is not complete",
                                   "finish it with `sim sweep FILE --out FOLDER --resume`")
    return manifest, pd.read_parquet(folder / TABLE), pd.read_parquet(folder / POINTS)
