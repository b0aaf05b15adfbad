"""Sensitivity analysis of a finished sweep with SALib: Sobol and Morris indices.

>>> import sim.analyze
>>> sim.analyze.sobol("sweeps/standoff-sensitivity", output="standoff_hours")  # doctest: +SKIP
>>> sim.analyze.morris("sweeps/morris-screen", output="vehicle_hours_delay")    # doctest: +SKIP

Each returns a DataFrame indexed by parameter, with the indices and their
confidence intervals (SALib's bootstrap, 95%). The output at each design point
is the mean over its replicates (failed runs left out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.sweeps import load
from sim.sweepspec import SweepSpec


def _problem(spec: SweepSpec) -> dict:
    names = [n for n in spec.parameters if spec.parameters[n].range is not None]
    return {"num_vars": len(names), "names": names,
            "bounds": [list(spec.parameters[n].range) for n in names]}


def _point_means(folder: str | Path, output: str,
                 kind: str) -> tuple[SweepSpec, pd.DataFrame, np.ndarray]:
    manifest, runs, points = load(folder)
    spec = SweepSpec.model_validate(manifest["spec"])
    if spec.design.kind != kind:
        raise ScenarioError.single(str(folder), "design.kind", f"= {spec.design.kind!r} cannot "
                                   f"be analysed this way", f"this analysis needs a {kind} design")
    if output not in runs.columns:
        raise ScenarioError.single(str(folder), "output", f"= {output!r} is not a summary figure",
                                   "e.g. standoffs, standoff_hours, vehicle_hours_delay")
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point_id")[output].mean().reindex(points["point_id"])
    if means.isna().any():
        missing = int(means.isna().sum())
        raise ScenarioError.single(str(folder), "runs", f"{missing} design points have no "
                                   "successful run", "re-run the failed runs first")
    design = pd.read_parquet(Path(folder) / "design.parquet")
    return spec, design[_problem(spec)["names"]], means.to_numpy(dtype=float)


def sobol_indices(spec: SweepSpec, y: np.ndarray, num_resamples: int = 200,
                  seed: int = 0) -> pd.DataFrame:
    """Sobol indices from the outputs ``y`` of a Saltelli design (in design order)."""
    from SALib.analyze import sobol as salib_sobol

    problem = _problem(spec)
    result = salib_sobol.analyze(problem, np.asarray(y, dtype=float),
                                 calc_second_order=spec.design.second_order,
                                 num_resamples=num_resamples, seed=seed)
    frames = result.to_df()
    table = frames[1].join(frames[0])[["S1", "S1_conf", "ST", "ST_conf"]]
    if spec.design.second_order:
        second = frames[2]
        second.index = [" × ".join(pair) for pair in second.index]
        table = pd.concat([table, second])
    table.index.name = "parameter"
    return table


def morris_indices(spec: SweepSpec, x: np.ndarray, y: np.ndarray, num_resamples: int = 200,
                   seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects from a Morris design ``x`` and its outputs ``y``."""
    from SALib.analyze import morris as salib_morris

    result = salib_morris.analyze(_problem(spec), np.asarray(x, dtype=float),
                                  np.asarray(y, dtype=float), num_resamples=num_resamples,
                                  num_levels=spec.design.levels, seed=seed)
    table = result.to_df()[["mu", "mu_star", "sigma", "mu_star_conf"]]
    table.index.name = "parameter"
    return table


def sobol(folder: str | Path, output: str = "standoff_hours", num_resamples: int = 200,
          seed: int = 0) -> pd.DataFrame:
    """First-order (``S1``) and total (``ST``) Sobol indices of a finished Saltelli sweep.

    Returns columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (the ``_conf`` are
    half-widths of 95% intervals) and, for a second-order design, ``S2`` rows
    named ``"a × b"``.
    """
    spec, _, y = _point_means(folder, output, "saltelli")
    return sobol_indices(spec, y, num_resamples, seed)


def morris(folder: str | Path, output: str = "standoff_hours", num_resamples: int = 200,
           seed: int = 0) -> pd.DataFrame:
    """Morris ``mu``, ``mu_star``, ``sigma`` and ``mu_star_conf`` of a finished Morris sweep."""
    spec, x, y = _point_means(folder, output, "morris")
    return morris_indices(spec, x.to_numpy(dtype=float), y, num_resamples, seed)
