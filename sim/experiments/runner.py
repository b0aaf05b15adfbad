"""Run a sweep: every run of its design, locally or on Dask, resumable, into tidy tables.

The folder's layout is described in :mod:`sim.io.sweep_folder`. Everything is
checked before any worker starts: the sweep file, the design, and whether the
output folder may be used (a fresh one, or the same sweep with ``--resume``:
the same file, options, design, and base scenario and design files unchanged).
The manifest is written first, so from then on ``--resume`` continues the sweep;
a folder a kill left before that is treated as empty. Each finished run is
written atomically as its own file, so a killed sweep resumes exactly; a run
lost with its worker is kept apart and run again; ``runs.parquet`` and
``points.parquet`` are built at the end. On Ctrl-C or an error every worker is
stopped at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import shlex
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
from sim.experiments.spec import SweepSpec, load_sweep, sweep_inputs
from sim.experiments.worker import BASE_COLUMNS
from sim.io.atomic import atomic_write, check_writable, write_json
from sim.io.manifest import refuse_used_out
from sim.io.results import versions
from sim.io.summary import SUMMARY_TYPES
from sim.io.sweep_folder import (
    DESIGN,
    MANIFEST,
    POINTS,
    RUNS,
    TABLE,
    differences,
    lost_files,
    preparation_leftovers,
    read_manifest,
    run_file,
    run_files,
    show,
)
from sim.scenario.loading import resolve_path, scenarios_dir

log = logging.getLogger(__name__)

#: The options that change what a sweep is (recorded in its manifest), by keyword.
OPTIONS = {"replicates": "--replicates", "sample": "--sample", "days": "--days"}


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


def resume_command(sweep_file: str | Path, out: str | Path, options: dict[str, Any],
                   extra: tuple[str, ...] = ()) -> str:
    """The shell command that continues a sweep: its file, folder and recorded options."""
    words = ["sim", "sweep", str(sweep_file), "--out", str(out), "--resume"]
    for name, flag in OPTIONS.items():
        if options.get(name) is not None:
            words += [flag, f"{options[name]:g}"]
    return shlex.join([*words, *extra])


def _option_of(field: str) -> str | None:
    """The option that sets a field of the sweep spec, if one does."""
    if field in ("replicates", "days"):
        return field
    if field in ("design.n", "design.levels") or (field.startswith("parameters.")
                                                   and field.endswith(".levels")):
        return "sample"
    return None


def _given(value: float | None, name: str, spec: dict) -> str:
    """An option's value, or what the sweep file gave when it was not given."""
    if value is not None:
        return f"{value:g}"
    return f"not given ({name} = {show(spec[name])} in the file)" if name in spec else (
        "not given")


def _listed(changes: list[tuple[str, Any, Any]], most: int = 6) -> list[str]:
    text = [f"{field} {show(old)} → {show(new)}" for field, old, new in changes[:most]]
    return text + ([f"and {len(changes) - most} more"] if len(changes) > most else [])


def changes_since(old: dict, new: dict) -> list[str]:
    """What differs between the sweep in a folder (``old``) and the one to resume it.

    Options by their flag (``--replicates 5 → 50``), the sweep file's fields by name,
    the base scenario's resolved fields (naming the files of its ``extends`` chain
    that changed), and any network or design file.
    """
    found = []
    if old["spec_sha256"] != new["spec_sha256"]:
        before, after = old.get("options", {}), new["options"]
        moved = [name for name in OPTIONS if before.get(name) != after.get(name)]
        found += [f"{OPTIONS[name]} {_given(before.get(name), name, old['spec'])} → "
                  f"{_given(after.get(name), name, new['spec'])}" for name in moved]
        fields = [c for c in differences(old["spec"], new["spec"])
                  if _option_of(c[0]) not in moved]
        found += _listed(fields) if fields or moved else ["the sweep file"]
    old_in, new_in = old.get("inputs"), new["inputs"]
    if old_in is None:  # a sweep started before its inputs were recorded
        log.warning("%s: the sweep's scenario and design files were not recorded when it "
                    "started; resuming without checking them", old["name"])
        old_in = new_in
    was, now = old_in["scenario"], new_in["scenario"]
    if was["sha256"] != now["sha256"]:
        files = [f["name"] for f in now["files"] if f not in was["files"]]
        fields = _listed(differences(was["resolved"], now["resolved"]))
        found.append(f"the base scenario {new['spec']['scenario']} ({', '.join(fields)}"
                     + (f"; changed file: {', '.join(files)}" if files else "") + ")")
    for key in ("network", "design table", "design posterior"):
        if old_in.get(key) != new_in.get(key):
            name = (new_in.get(key) or old_in[key])["name"]
            found.append(f"the {key} file {name} (its content changed)")
    if not found and old["design_hash"] != new["design_hash"]:
        found.append("the design's points (same file and options: another version of sim?)")
    return found


def check_folder(out: Path, manifest: dict, resume: bool, sweep_file: Path | None = None
                 ) -> dict:
    """Whether ``out`` may hold this sweep; return the manifest to keep (nothing is written).

    A fresh sweep needs an empty or missing folder; ``resume`` needs the same
    sweep (file, options, design, base scenario and design files) in it. A
    folder holding only what a sweep killed while preparing left (see
    :func:`sim.io.sweep_folder.preparation_leftovers`) counts as empty, with or
    without ``resume``.

    Raises
    ------
    InputError
        Naming the folder, what changed and the fix.
    """
    leftovers = preparation_leftovers(out)
    if leftovers is not None:
        if resume:
            log.warning("%s: no run of this sweep was saved (it was stopped while preparing"
                        " the folder); starting it", out)
        return manifest
    if resume:
        if not (out / MANIFEST).is_file():
            raise InputError.single(str(out), "--resume", "has no sweep to resume",
                                    "run without --resume to start it")
        old = read_manifest(out)
        found = changes_since(old, manifest)
        if found:
            command = resume_command(sweep_file or old["sweep_file"], out,
                                     old.get("options", {}))
            raise InputError.single(
                str(out), "--resume", "refused: changed since the sweep started: "
                + "; ".join(found),
                f"with the files as they were, resume with: {command}; or start afresh "
                "in a new --out")
        old["sessions"].append(manifest["sessions"][-1])
        old.update(status="running", finished_utc=None, inputs=manifest["inputs"])
        return old
    refuse_used_out(out, "sweep")
    return manifest


def sweep(spec: str | Path, *, out: str | Path | None = None, workers: int | None = None,
          scheduler: str | None = None, replicates: int | None = None,
          sample: int | None = None, days: float | None = None, resume: bool = False,
          quiet: bool = False, keep_logs: bool = False, retries: int = 1) -> pd.DataFrame:
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
        Continue an interrupted sweep in ``out``, running only what is missing
        (and the runs lost with their workers).
    quiet : bool
        No progress output.
    keep_logs : bool
        Also keep each run's logs under ``out/logs``.
    retries : int
        How often a run whose worker process is lost (killed, out of memory) is
        run again in this session before it is recorded as ``"lost"``.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``point_id``, ``replicate``, ``seed``, the parameters,
        ``status`` (``ok``, ``failed`` or ``lost``), ``error`` and every summary
        field, sorted by ``run_id``.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, once every worker is stopped; the runs saved are kept.
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
        "options": {"replicates": replicates, "sample": sample, "days": days},
        "inputs": sweep_inputs(spec_obj, path.parent),
        "design_hash": design_hash(design), "master_seed": spec_obj.seed,
        "common_random_numbers": spec_obj.common_random_numbers,
        "n_points": len(design), "n_runs": len(runs), "versions": versions(),
        "started_utc": _now(), "finished_utc": None, "status": "running",
        "sessions": [{"started_utc": _now(), "host": socket.gethostname(),
                      "platform": platform.platform(),
                      "executor": {"scheduler": scheduler} if scheduler
                      else {"workers": workers}}],
    }, resume, path)
    check_writable(out)
    pool = executor(workers, scheduler, retries)
    try:
        pool.start()
        prepare_folder(out, design, manifest)
        _run_missing(pool, out, spec_obj, design, runs, scenario, quiet, keep_logs)
    except BaseException:  # Ctrl-C, a full disk, a broken worker: stop every worker now
        pool.kill()
        raise
    pool.close()
    return finish(out, spec_obj, runs, row_schema(design, spec_obj), manifest)


def prepare_folder(out: Path, design: pd.DataFrame, manifest: dict) -> None:
    """Write the manifest first (from then on ``--resume`` continues), then the design.

    Clears first what a start killed while preparing left. (The temporary file of a
    run a killed session was writing goes when that run is written again.)
    """
    for path in preparation_leftovers(out) or []:
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MANIFEST, manifest)
    if not (out / DESIGN).is_file():
        atomic_write(out / DESIGN, lambda p: design.to_parquet(p, index=False))
    (out / RUNS).mkdir(exist_ok=True)


def _run_missing(pool: Any, out: Path, spec: SweepSpec, design: pd.DataFrame,
                 runs: pd.DataFrame, scenario: str, quiet: bool, keep_logs: bool) -> None:
    """Run every run without a file yet (or lost before), writing each as it finishes."""
    schema = row_schema(design, spec)
    todo = runs[~runs["run_id"].isin(run_files(out))]
    logs = out / "logs" if keep_logs else None
    if logs:
        logs.mkdir(exist_ok=True)
    progress = Progress(len(todo), quiet)
    try:
        for row in pool.run(tasks_for(todo, spec, scenario, logs)):
            lost = row["status"] == "lost"
            table = pa.Table.from_pylist([row], schema=schema)
            atomic_write(run_file(out, row["run_id"], lost),
                         lambda p, t=table: pq.write_table(t, p))
            if not lost:
                run_file(out, row["run_id"], lost=True).unlink(missing_ok=True)
            progress.update(row["status"] == "failed", lost=lost)
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
    recorded = run_files(out)
    files = {**lost_files(out), **recorded}  # a lost run recorded since is no longer lost
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
    n_lost = int((table["status"] == "lost").sum())
    manifest.update(status="complete", finished_utc=_now(), n_failed=n_failed, n_lost=n_lost)
    manifest["sessions"][-1]["finished_utc"] = manifest["finished_utc"]
    write_json(out / MANIFEST, manifest)
    return table
