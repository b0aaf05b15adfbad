"""Scenario comparison in one command: paired differences under common random numbers.

Replicate ``r`` of every scenario runs with the same seed (and, with a posterior,
the same posterior draw), so each replicate is a pair and the difference of means is
estimated from the per-replicate differences (:mod:`sim.experiments.paired`). The
first scenario is the reference. With ``precision``, replicates are added in batches
until every interval is narrow enough or ``max_replicates`` is reached.

Runs go through the sweep executors (local processes, this process, or Dask); each
finished run is its own file, so a killed comparison resumes exactly. The folder holds
``compare.json`` (how it was made), ``runs/``, ``runs.parquet`` (one row per run),
``comparison.csv`` (one row per scenario and output) and ``report.md``; ``sim plot``
draws the forest plot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import platform
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import InputError, Problem
from sim.experiments.designs import run_seed
from sim.experiments.executors import executor
from sim.experiments.paired import (
    adjusted_levels,
    converged,
    format_difference,
    paired_difference,
)
from sim.experiments.patterns import scenario_name
from sim.experiments.progress import Progress
from sim.io.atomic import atomic_write, write_json, write_text
from sim.io.compare_folder import MANIFEST, read_manifest
from sim.io.manifest import refuse_used_out
from sim.io.results import versions
from sim.io.summary import SUMMARY_TYPES
from sim.io.sweep_folder import run_files
from sim.scenario.loading import load_scenario
from sim.scenario.overrides import parameter_value

ADJUSTMENTS = ("none", "holm", "bonferroni")
#: The outputs compared when none are named.
DEFAULT_OUTPUTS = ("standoffs", "standoffs_between_forces", "villager_blockades",
                   "standoff_hours", "vehicle_hours_delay", "travel_time_index",
                   "missions_turned_back", "blocking_positions")


def _check(scenarios: list[str], replicates: int, outputs: list[str],
           precision: float | None, max_replicates: int, adjust: str,
           posterior: str | Path | None, days: float | None) -> tuple[list, pd.DataFrame | None]:
    """Every problem with the options at once; the loaded specs and the posterior's draws."""
    problems: list[Problem] = []
    if len(scenarios) < 2:
        problems.append(Problem("scenarios", f"= {scenarios} names one scenario",
                                "name the reference and at least one other"))
    if len(set(scenarios)) < len(scenarios):
        problems.append(Problem("scenarios", "names a scenario twice", "name each once"))
    if replicates < 2:
        problems.append(Problem("--replicates", f"= {replicates} must be >= 2"))
    if precision is not None and not 0 < precision < math.inf:
        problems.append(Problem("--precision", f"= {precision} must be > 0",
                                "e.g. 0.1: intervals within 10% of the difference"))
    if precision is not None and max_replicates < replicates:
        problems.append(Problem("--max-replicates", f"= {max_replicates} is below "
                                f"--replicates = {replicates}"))
    unknown = [o for o in outputs if o not in SUMMARY_TYPES]
    if unknown:
        problems.append(Problem("--outputs", f"names unknown summary fields {unknown}",
                                f"known: {', '.join(SUMMARY_TYPES)}"))
    if adjust not in ADJUSTMENTS:
        problems.append(Problem("--adjust", f"= {adjust!r}", "none, holm or bonferroni"))
    specs = []
    for ref in scenarios:
        try:
            specs.append(load_scenario(ref, {"days": days} if days else None)[0])
        except InputError as exc:
            problems.append(Problem(f"scenario {ref!r}", f"cannot be used: {exc}"))
    draws = None
    if posterior is not None and not problems:
        from sim.io.calibration_folder import read_calibration

        try:
            manifest, draws, _ = read_calibration(posterior)
        except InputError as exc:
            problems.append(Problem("--posterior", str(exc)))
        else:
            for name in manifest["spec"]["parameters"]:
                for ref in scenarios:
                    try:
                        load_scenario(ref, {name: float(draws[name].iloc[0])})
                    except InputError:
                        problems.append(Problem("--posterior", f"parameter {name} is not one "
                                                f"of scenario {ref!r}"))
            draws = draws[[*manifest["spec"]["parameters"], "weight"]]
    if problems:
        raise InputError("command line", problems)
    return specs, draws


def interventions(specs: list, names: list[str]) -> list[dict[str, float]]:
    """Per scenario, the calibrated parameters it sets to its own value, and those values.

    A posterior draw applies to every scenario alike, except where a scenario differs
    from the reference in a calibrated parameter: that difference is the scenario's
    intervention (``us-drawdown`` sets the US ``deploy_blocking`` to 0.1), and it stands.
    """
    reference = specs[0].model_dump()
    held = []
    for spec in specs:
        tree = spec.model_dump()
        held.append({n: parameter_value(tree, n) for n in names
                     if parameter_value(tree, n) != parameter_value(reference, n)})
    return held


def posterior_draws(posterior: pd.DataFrame | None, n: int, seed: int) -> list[dict]:
    """Replicate r's parameter set: the r-th draw by weight from the posterior (or none)."""
    if posterior is None:
        return [{} for _ in range(n)]
    weights = posterior["weight"].to_numpy(dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    rows = rng.choice(len(posterior), size=n, p=weights / weights.sum())
    names = [c for c in posterior.columns if c != "weight"]
    return [{k: float(posterior.iloc[i][k]) for k in names} for i in rows]


def table_of(runs: pd.DataFrame, scenarios: list[str], outputs: list[str], level: float,
             adjust: str, seed: int) -> pd.DataFrame:
    """One row per (scenario, output): both means, the paired difference and its interval."""
    wide = {o: runs.pivot(index="replicate", columns="point_id", values=o) for o in outputs}
    pairs = [(i, o) for i in range(1, len(scenarios)) for o in outputs]
    first = [paired_difference(wide[o][0], wide[o][i], level, seed) for i, o in pairs]
    levels = adjusted_levels([d.p_value for d in first], level, adjust)
    rows = []
    for (i, o), d, lv in zip(pairs, first, levels, strict=True):
        if lv != level:
            d = paired_difference(wide[o][0], wide[o][i], lv, seed, method=d.interval)
        rows.append({"scenario": scenarios[i], "reference": scenarios[0], "output": o,
                     **d.as_dict(), "adjustment": adjust})
    return pd.DataFrame(rows)


def compare(scenarios: list[str], *, replicates: int = 30, outputs: list[str] | None = None,
            days: float | None = None, seed: int = 0, precision: float | None = None,
            max_replicates: int = 400, batch: int | None = None, adjust: str = "none",
            level: float = 0.95, posterior: str | Path | None = None,
            out: str | Path | None = None, workers: int | None = None,
            scheduler: str | None = None, resume: bool = False,
            quiet: bool = True) -> pd.DataFrame:
    """Compare scenarios with the first, replicate by replicate; a row per scenario and output.

    Parameters
    ----------
    scenarios : list of str
        Shipped names or scenario files; the first is the reference.
    replicates : int
        Replicates (the first batch, with ``precision``).
    outputs : list of str, optional
        Summary fields to compare (default :data:`DEFAULT_OUTPUTS`).
    precision : float, optional
        Add batches of ``batch`` replicates (default: ``replicates``) until every
        interval's half-width is at most ``precision`` × |difference| (or the difference
        is confidently zero), up to ``max_replicates``.
    adjust : {"none", "holm", "bonferroni"}
        Widen the family of intervals for multiplicity.
    posterior : str or Path, optional
        A calibration folder: replicate r uses its r-th posterior draw in every scenario.
    out, workers, scheduler, resume, quiet
        As for sweeps.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``reference``, ``output``, ``n``, ``reference_mean``, ``mean``,
        ``diff``, ``diff_lo``, ``diff_hi``, ``interval`` (``t`` or ``bootstrap``),
        ``level``, ``p_value``, ``relative_change``, ``cohens_d``, ``pairing_r``,
        ``pairing_gain``, ``adjustment``, ``converged``, ``replicates_needed``.
    """
    outputs = list(outputs or DEFAULT_OUTPUTS)
    specs, draws_table = _check(list(scenarios), replicates, outputs, precision,
                                max_replicates, adjust, posterior, days)
    refs = [scenario_name(s) for s in scenarios]
    names = [s.name for s in specs]
    out = Path(out) if out else Path("comparisons") / "-vs-".join(names)
    identity = {
        "scenarios": refs, "scenario_sha256": [s.content_hash() for s in specs],
        "days": days, "seed": seed, "outputs": outputs, "level": level, "adjust": adjust,
        "precision": precision, "max_replicates": max_replicates if precision else None,
        "batch": batch, "replicates": replicates,
        # the calibration by its folder's name and its posterior's content: no path of this
        # machine, so a comparison moved elsewhere with its calibration still resumes
        "posterior": Path(posterior).resolve().name if posterior else None,
        "posterior_sha256": _file_hash(Path(posterior) / "posterior.parquet") if posterior
        else None}
    manifest = _folder(out, identity, resume)
    limit = max_replicates if precision else replicates
    draws = posterior_draws(draws_table, limit, seed)
    held = interventions(specs, [c for c in draws_table.columns if c != "weight"]
                         if draws_table is not None else [])
    manifest["posterior_held"] = {refs[i]: h for i, h in enumerate(held) if h}
    n, needed = replicates, {}
    pool = executor(workers, scheduler)
    try:
        pool.start()
        (out / "runs").mkdir(parents=True, exist_ok=True)
        write_json(out / MANIFEST, manifest)
        while True:
            _run(pool, out, refs, n, days, seed, draws, held, quiet)
            runs = _read_runs(out, n)
            table = table_of(runs, names, outputs, level, adjust, seed)
            done = [precision is None or converged(_row_diff(row), precision)
                    for row in table.itertuples()]
            for key, ok in zip(zip(table["scenario"], table["output"], strict=True), done,
                               strict=True):
                if ok and key not in needed:
                    needed[key] = n
            if all(done) or n >= limit:
                break
            n = min(n + (batch or replicates), limit)
    finally:
        pool.close()
    table["converged"] = done
    table["replicates_needed"] = [needed.get(k, np.nan) for k in zip(
        table["scenario"], table["output"], strict=True)]
    atomic_write(out / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
    atomic_write(out / "comparison.csv", lambda p: table.to_csv(p, index=False))
    write_text(out / "report.md", report_markdown(table, manifest, n, precision))
    manifest.update(status="complete", finished_utc=_now(), replicates_run=n)
    manifest["sessions"][-1]["finished_utc"] = manifest["finished_utc"]
    write_json(out / MANIFEST, manifest)
    return table


class LostRuns(RuntimeError):
    """A run's worker process died (killed, out of memory, a node lost), even on retry."""


def _row_diff(row: Any):
    from sim.experiments.paired import Difference

    return Difference(*(getattr(row, f) for f in Difference.__dataclass_fields__))


def _run(pool: Any, out: Path, refs: list[str], n: int, days: float | None, seed: int,
         draws: list[dict], held: list[dict], quiet: bool) -> None:
    """Run every (replicate < n, scenario) pair without a file yet."""
    k = len(refs)
    have = run_files(out)
    tasks = [{"run_id": r * k + i, "point_id": i, "replicate": r,
              "seed": run_seed(seed, r, r, True), "scenario": refs[i], "days": days,
              "params": {**draws[r], **held[i]},
              "logs_dir": None}
             for r in range(n) for i in range(k) if r * k + i not in have]
    progress = Progress(len(tasks), quiet, label="compare")
    try:
        for row in pool.run(iter(tasks)):
            if row["status"] == "lost":  # its worker died: nothing written, --resume reruns
                raise LostRuns(f"run {row['run_id']} ({refs[row['point_id']]}, seed "
                               f"{row['seed']}) was lost with its worker process: "
                               f"{row['error']}")
            if row["status"] != "ok":
                raise InputError.single(refs[row["point_id"]], "run", f"with seed {row['seed']}"
                                        f" failed: {row['error']}", "check the scenario")
            table = pa.Table.from_pylist([row])
            atomic_write(out / "runs" / f"run-{row['run_id']:06d}.parquet",
                         lambda p, t=table: pq.write_table(t, p))
            progress.update(False)
    except BaseException:
        pool.kill()
        raise
    finally:
        progress.close()


def _read_runs(out: Path, n: int) -> pd.DataFrame:
    files = run_files(out)
    runs = pd.concat([pd.read_parquet(p) for _, p in sorted(files.items())],
                     ignore_index=True)
    return runs[runs["replicate"] < n].sort_values("run_id").reset_index(drop=True)


def _change(key: str, old: dict, new: dict) -> str:
    """What changed in one field of a comparison's identity, in words."""
    if key == "scenario_sha256" and old.get("scenarios") == new["scenarios"]:
        names = [name for name, a, b in zip(new["scenarios"], old[key], new[key], strict=True)
                 if a != b]
        return (f"{' and '.join(names)} changed since the comparison started (the scenario "
                "as resolved, the files it extends included)")
    return f"{key} {old.get(key)!r} -> {new[key]!r}"


def _folder(out: Path, identity: dict, resume: bool) -> dict:
    """Check the folder can hold this comparison; return the manifest to keep (no writes)."""
    session = {"started_utc": _now(), "host": socket.gethostname(),
               "platform": platform.platform()}
    if resume:
        if not (out / MANIFEST).is_file():
            raise InputError.single(str(out), "--resume", "has no comparison to resume",
                                    "run without --resume to start it")
        old = read_manifest(out)
        changed = [_change(k, old["identity"], identity) for k in identity
                   if old["identity"].get(k) != identity[k]]
        if changed:
            raise InputError.single(str(out), "--resume", "refused: " + ", ".join(changed),
                                    "resume with the same scenarios and options, or start "
                                    "afresh in a new --out")
        old["sessions"].append(session)
        old.update(status="running", finished_utc=None)
        return old
    refuse_used_out(out, "comparison")
    return {"kind": "comparison", "identity": identity, "versions": versions(),
            "status": "running", "started_utc": _now(), "finished_utc": None,
            "sessions": [session]}


def report_markdown(table: pd.DataFrame, manifest: dict, n: int,
                    precision: float | None) -> str:
    """The comparison as a short report: what was run, and each difference with its interval."""
    ident = manifest["identity"]
    lines = [f"# {' vs '.join(map(str, table['reference'].iloc[:1]))} against "
             f"{', '.join(dict.fromkeys(table['scenario']))}", "",
             f"{n} paired replicates (common random numbers, master seed {ident['seed']})"
             + (f", each with a posterior draw from {ident['posterior']}" if ident["posterior"]
                else "") + f"; {int(ident['level'] * 100)}% intervals, multiplicity adjustment: "
             f"**{ident['adjust']}**" + (f"; sequential, precision {precision:g}"
                                         if precision else "") + ".", "",
             "| scenario | output | reference | scenario | difference [interval] | interval | "
             "relative | Cohen's d | pairing r | narrower by pairing | replicates |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    if ident["posterior"]:
        held = manifest.get("posterior_held") or {}
        lines[2] += (" Each draw applies to every scenario alike, except a calibrated "
                     "parameter a scenario sets itself (its intervention), which keeps the "
                     "scenario's value: " + "; ".join(
                         f"{name} keeps " + ", ".join(f"{k} = {v:g}" for k, v in h.items())
                         for name, h in held.items()) + "." if held else
                     " Each draw applies to every scenario alike.")
    for row in table.itertuples():
        flag = "" if row.converged else " (not converged)"
        needed = "" if math.isnan(row.replicates_needed) else f"{row.replicates_needed:.0f}"
        lines.append(f"| {row.scenario} | {row.output} | {row.reference_mean:.4g} | "
                     f"{row.mean:.4g} | {format_difference(row.diff, row.diff_lo, row.diff_hi)}"
                     f" | {row.interval} | {row.relative_change:+.1%} | {row.cohens_d:+.2f} | "
                     f"{row.pairing_r:.2f} | {row.pairing_gain:.0%} | {needed}{flag} |")
    lines += ["", "An interval that excludes 0 supports a difference; one that holds 0 does "
              "not rule one out. `interval` says whether the t-interval or a BCa bootstrap "
              "(for heavy-tailed differences) was used; *narrower by pairing* is how much "
              "narrower the paired t-interval is than an unpaired one of the same runs."]
    return "\n".join(lines) + "\n"


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
