"""Pattern-oriented validation: each observed pattern against the model's distribution of it.

For a scenario and N replicates (seeds spawned from one master seed), every run is
measured with the statistics the observations name; each pattern's model
distribution (median, 10th and 90th percentiles, times its ``model_scale``) is set
against its observed range. A pattern is **matched** when the model's median lies
in the observed range, and **consistent** when the model's 10th-90th interval
overlaps it. Held-out patterns are reported alike and were never used in fitting.

The folder written holds ``patterns.json`` (how it was made), ``runs.parquet`` (one
row per run), ``patterns.csv`` (one row per pattern) and ``report.md``; ``sim plot``
draws ``patterns.png`` from it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.experiments.designs import run_seed
from sim.experiments.executors import executor
from sim.experiments.observations import Observation, load_observations
from sim.experiments.progress import Progress
from sim.io.atomic import atomic_folder, json_text
from sim.io.pattern_folder import MANIFEST, read_patterns
from sim.io.results import versions
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, resolve_path, scenarios_dir

__all__ = ["compare", "patterns", "read_patterns", "run_patterns", "write_folder"]


def scenario_name(scenario: str | Path) -> str:
    """A scenario as workers should name it: a shipped name, else an absolute path."""
    path = resolve_path(scenario)
    return path.stem if path.parent.resolve() == scenarios_dir().resolve() else str(path)


def run_patterns(scenario: str | Path, observations: list[Observation], replicates: int,
                 days: float | None, seed: int, draws: list[dict[str, Any]] | None = None,
                 workers: int | None = None, scheduler: str | None = None,
                 quiet: bool = True) -> pd.DataFrame:
    """Run the replicates and measure each; one row per run (``replicate``, ``seed``, ...).

    ``draws`` gives each replicate its own parameter overrides (a posterior draw, say).
    """
    statistics = sorted({o.statistic for o in observations})
    ref = scenario_name(scenario)
    tasks = [{"run_id": r, "point_id": 0, "replicate": r, "seed": run_seed(seed, r, r, False),
              "scenario": ref, "days": days, "params": dict(draws[r]) if draws else {},
              "logs_dir": None, "statistics": statistics} for r in range(replicates)]
    pool = executor(workers, scheduler)
    rows, progress = [], Progress(len(tasks), quiet)
    try:
        pool.start()
        for row in pool.run(iter(tasks)):
            rows.append(row)
            progress.update(row["status"] == "failed")
    except BaseException:
        pool.kill()
        raise
    finally:
        progress.close()
        pool.close()
    runs = pd.DataFrame(rows).sort_values("replicate").reset_index(drop=True)
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        raise InputError.single(str(scenario), "runs", f"{len(failed)} of {len(runs)} runs "
                                f"failed, e.g. {failed.iloc[0]['error']}",
                                "check the scenario and overrides")
    return runs


def compare(observations: list[Observation], runs: pd.DataFrame) -> pd.DataFrame:
    """One row per pattern: observed range, model median and 10th-90th, matched, consistent."""
    rows = []
    for o in observations:
        values = (runs[o.statistic] * o.model_scale).astype(float)
        known = values.dropna()
        median = float(known.median()) if len(known) else np.nan
        p10 = float(known.quantile(0.1)) if len(known) else np.nan
        p90 = float(known.quantile(0.9)) if len(known) else np.nan
        rows.append({
            "pattern": o.pattern, "use": o.use, "description": o.description,
            "statistic": o.statistic, "model_scale": o.model_scale, "observed_low": o.low,
            "observed_high": o.high, "model_median": median, "model_p10": p10,
            "model_p90": p90, "n_runs": len(values), "n_measured": len(known),
            "matched": bool(o.low <= median <= o.high) if len(known) else False,
            "consistent": bool(p10 <= o.high and p90 >= o.low) if len(known) else False,
            "window": o.window, "area": o.area, "sources": o.sources})
    return pd.DataFrame(rows)


def report_markdown(table: pd.DataFrame, manifest: dict) -> str:
    """A short report: what was run, and each pattern's verdict."""
    lines = [f"# Patterns: {manifest['scenario']} against the 2020 record", "",
             f"{manifest['replicates']} runs of {manifest['days']:g} days (master seed "
             f"{manifest['seed']}); observations: `{manifest['observations']}`. A pattern is "
             "*matched* when the model's median lies in the observed range, *consistent* "
             "when the model's 10th-90th percentile interval overlaps it. Held-out "
             "patterns were never used in calibration.", "",
             "| pattern | use | observed | model median [10th-90th] | verdict |",
             "|---|---|---|---|---|"]
    for row in table.itertuples():
        verdict = "matched" if row.matched else ("consistent" if row.consistent else "outside")
        lines.append(f"| {row.pattern} | {row.use} | {row.observed_low:g}-{row.observed_high:g} "
                     f"| {row.model_median:.3g} [{row.model_p10:.3g}-{row.model_p90:.3g}] | "
                     f"{verdict} |")
    for use in ("calibrate", "hold_out"):
        part = table[table["use"] == use]
        if len(part):
            lines.append(f"\n{use}: {int(part['matched'].sum())} of {len(part)} matched, "
                         f"{int(part['consistent'].sum())} consistent.")
    return "\n".join(lines) + "\n"


def patterns(scenario: str | Path = DEFAULT_SCENARIO, *, replicates: int = 40,
             days: float | None = None, seed: int = 0, observations: str | Path | None = None,
             out: str | Path | None = None, workers: int | None = None,
             scheduler: str | None = None, quiet: bool = True,
             draws: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Run the validation report of a scenario; return one row per pattern.

    Parameters
    ----------
    scenario : str or Path
        A shipped scenario's name or a scenario file.
    replicates : int
        Runs (seeds spawned from ``seed``).
    days : float, optional
        Override the scenario's length (counts are per 30 days whatever the length).
    observations : str or Path, optional
        An observations file (default: the shipped record).
    out : str or Path, optional
        Write the report folder here.
    workers, scheduler
        As for sweeps: local worker processes (0: this process) or a Dask scheduler.
    draws : list of dict, optional
        Parameter overrides per replicate (``len(draws) == replicates``).

    Raises
    ------
    InputError
        For a bad scenario, observations file, replicate count or output folder,
        before anything runs.
    """
    if replicates < 1:
        raise InputError.single("command line", "--replicates", f"= {replicates} must be >= 1")
    if draws is not None and len(draws) != replicates:
        raise InputError.single("patterns", "draws", f"has {len(draws)} entries for "
                                f"{replicates} replicates")
    spec, path = load_scenario(scenario, {"days": days} if days else None)
    obs = load_observations(observations)
    out = Path(out) if out else None
    if out is not None and out.exists() and (not out.is_dir() or (
            any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise InputError.single(str(out), "--out", "exists and is not a patterns folder",
                                "choose a new folder or remove it")
    runs = run_patterns(scenario, obs, replicates, days, seed, draws, workers, scheduler, quiet)
    table = compare(obs, runs)
    if out is not None:
        manifest = {
            "kind": "patterns", "scenario": spec.name, "scenario_file": path.name,
            "scenario_sha256": spec.content_hash(), "days": spec.days, "replicates": replicates,
            "seed": seed, "observations": str(Path(observations).name if observations
                                               else "seeds/observations.csv"),
            "posterior_draws": draws is not None, "versions": versions(),
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        write_folder(out, manifest, runs, table)
    return table


def write_folder(out: Path, manifest: dict, runs: pd.DataFrame, table: pd.DataFrame) -> Path:
    """Write a patterns folder atomically."""
    def fill(tmp: Path) -> None:
        runs.to_parquet(tmp / "runs.parquet", index=False)
        table.to_csv(tmp / "patterns.csv", index=False)
        (tmp / "report.md").write_text(report_markdown(table, manifest), encoding="utf-8")
        (tmp / MANIFEST).write_text(json_text(manifest), encoding="utf-8")

    return atomic_folder(out, fill)
