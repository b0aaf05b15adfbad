"""Sensitivity analysis of a finished sweep with SALib: Sobol and Morris indices.

>>> import sim
>>> sim.analyze.sobol("sweeps/standoff-sensitivity", output="standoff_hours")  # doctest: +SKIP
>>> sim.analyze.morris("sweeps/morris-screen", output="vehicle_hours_delay")    # doctest: +SKIP

Each returns a DataFrame indexed by parameter, with the indices and their
confidence intervals (SALib's bootstrap, 95%). The output at each design point
is the mean over its replicates (failed runs left out); ``table.attrs["noise_share"]``
is the share of the variance of those means that is run-to-run noise rather than the
parameters' doing (:func:`noise_share`), and a warning says when it is large.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.experiments.spec import SweepSpec
from sim.io.sweep_folder import SweepFolder, read_sweep

#: The design kinds each analysis needs.
ANALYSES = {"saltelli": "sobol", "morris": "morris"}
#: Above this share of noise in the point means, the indices come with a warning.
NOISE_LIMIT = 0.2


def noise_share(runs: pd.DataFrame, output: str, crn: bool = False) -> float:
    """The share of the variance of the point means that is run-to-run noise.

    The variance of a point's mean over its n replicates has a noise part, the
    within-point variance over n; averaged over points and divided by the variance of
    the point means across the design, it says how much of what the indices apportion
    is noise. NaN with one replicate a point (the noise cannot be measured).

    Under common random numbers (``crn``: replicate r has the same seed at every
    point) the part of the noise a replicate shares with every point cancels between
    points, so only what is left after removing each replicate's common shift counts:
    the residual of a two-way (point × replicate) table, over n.
    """
    grouped = runs.groupby("point_id")[output]
    n = grouped.count()
    if n.max() < 2:
        return float("nan")
    total = float(grouped.mean().var(ddof=1))
    if crn and n.min() == n.max() and "replicate" in runs:
        table = runs.pivot_table(index="point_id", columns="replicate", values=output)
        resid = (table - table.mean(axis=1).to_numpy()[:, None] - table.mean(axis=0).to_numpy()
                 + table.to_numpy().mean())
        points, reps = table.shape
        noise = float((resid.to_numpy() ** 2).sum() / max((points - 1) * (reps - 1), 1)) / reps
    else:
        noise = float((grouped.var(ddof=1) / n).mean())
    if total <= 0:
        return 1.0 if noise > 0 else 0.0
    return min(1.0, noise / total)


def _warn_noise(table: pd.DataFrame, share: float, output: str,
                crn: bool = False) -> pd.DataFrame:
    """Record the noise share (and whether replicates shared seeds across points); warn."""
    table.attrs["noise_share"] = share
    table.attrs["common_random_numbers"] = crn
    if np.isnan(share):
        warnings.warn(f"{output}: one replicate a point, so the indices include run-to-run "
                      "noise that cannot be measured; use replicates >= 2", stacklevel=3)
    elif share > NOISE_LIMIT:
        warnings.warn(f"{output}: {share:.0%} of the variance of the point means is "
                      "run-to-run noise; add replicates before reading the indices",
                      stacklevel=3)
    return table


def _point_means(folder: str | Path, output: str,
                 kind: str) -> tuple[SweepSpec, SweepFolder, np.ndarray, float]:
    sweep = read_sweep(folder)
    spec = SweepSpec.model_validate(sweep.manifest["spec"])
    if spec.design.kind != kind:
        raise InputError.single(str(folder), "design.kind", f"= {spec.design.kind!r} cannot "
                                f"be analysed this way", f"this analysis needs a {kind} design")
    runs = sweep.runs
    if output not in runs.columns:
        raise InputError.single(str(folder), "output", f"= {output!r} is not a summary field",
                                "e.g. standoffs, standoff_hours, vehicle_hours_delay")
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point_id")[output].mean().reindex(sweep.points["point_id"])
    if means.isna().any():
        missing = int(means.isna().sum())
        raise InputError.single(str(folder), "runs", f"{missing} design points have no "
                                "successful run", "re-run the failed runs first")
    return spec, sweep, means.to_numpy(dtype=float), noise_share(
        ok, output, spec.common_random_numbers)


def sobol_indices(spec: SweepSpec, y: np.ndarray, num_resamples: int = 200,
                  seed: int = 0) -> pd.DataFrame:
    """Sobol indices from the outputs ``y`` of a Saltelli design (in design order)."""
    from SALib.analyze import sobol as salib_sobol

    result = salib_sobol.analyze(spec.salib_problem(), np.asarray(y, dtype=float),
                                 calc_second_order=spec.design.second_order,
                                 num_resamples=num_resamples, seed=seed)
    names = spec.salib_problem()["names"]
    table = pd.DataFrame({k: np.atleast_1d(result[k]) for k in ("S1", "S1_conf", "ST",
                                                                 "ST_conf")}, index=names)
    if spec.design.second_order and len(names) > 1:  # one parameter has no pairs
        frames = result.to_df()
        second = frames[2]
        second.index = [" × ".join(pair) for pair in second.index]
        table = pd.concat([table, second])
    table.index.name = "parameter"
    return table


def morris_indices(spec: SweepSpec, x: np.ndarray, y: np.ndarray, num_resamples: int = 200,
                   seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects from a Morris design ``x`` and its outputs ``y``."""
    from SALib.analyze import morris as salib_morris

    result = salib_morris.analyze(spec.salib_problem(), np.asarray(x, dtype=float),
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
    spec, _, y, noise = _point_means(folder, output, "saltelli")
    return _warn_noise(sobol_indices(spec, y, num_resamples, seed), noise, output,
                       spec.common_random_numbers)


def morris(folder: str | Path, output: str = "standoff_hours", num_resamples: int = 200,
           seed: int = 0) -> pd.DataFrame:
    """Morris ``mu``, ``mu_star``, ``sigma`` and ``mu_star_conf`` of a finished Morris sweep."""
    spec, sweep, y, noise = _point_means(folder, output, "morris")
    x = sweep.design[spec.salib_problem()["names"]].to_numpy(dtype=float)
    return _warn_noise(morris_indices(spec, x, y, num_resamples, seed), noise, output,
                       spec.common_random_numbers)


def indices_for(folder: str | Path, outputs: list[str]) -> dict[str, pd.DataFrame]:
    """The sensitivity indices of each output, if the sweep's design supports an analysis.

    Empty for designs that are not Saltelli or Morris; what ``sim plot`` draws
    as sensitivity bars.
    """
    kind = read_sweep(folder).design_kind
    if kind not in ANALYSES:
        return {}
    analysis = sobol if kind == "saltelli" else morris
    return {output: analysis(folder, output) for output in outputs}
