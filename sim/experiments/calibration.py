"""Calibration by approximate Bayesian computation (ABC-SMC, with pyabc).

The free parameters named in a calibration file are drawn from their priors; each
particle is one run of the scenario, measured with the statistics of the patterns
fitted; its distance is how far those lie outside the observed ranges
(:meth:`~sim.experiments.observations.Observation.distance`, combined as a
Euclidean norm). Sequential Monte Carlo shrinks the tolerance generation by
generation (pyabc's median-quantile schedule) until a stopping rule holds. Then the
posterior is checked against **every** pattern, held-out ones included, by running
the model at draws from it (the posterior-predictive check).

The calibration folder holds ``calibration.json`` (how it was made, status, the
posterior medians), ``abc.db`` (pyabc's SQLite history: each finished generation
survives a kill, and ``--resume`` continues from it), ``posterior.parquet`` (the
last generation's particles: parameters, weight, distance, seed),
``generations.csv`` (tolerance and acceptance per generation) and ``ppc/`` (a
patterns folder); ``sim plot`` draws the figures.

With ``workers`` of 0 or 1 the calibration is reproducible from its seed; with
parallel workers (or Dask) the particles' order and seeds depend on timing, so the
posterior is the same in distribution, not bit for bit. Every particle's run seed
is kept in the history.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import re
import socket
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, SetupError
from sim.experiments.calibration_spec import (
    CalibrationSpec,
    fitted,
    load_calibration,
    observations_path,
)
from sim.experiments.observations import Observation, load_observations, measure
from sim.experiments.patterns import compare, run_patterns, scenario_name, write_folder
from sim.io.atomic import atomic_write, write_json
from sim.io.calibration_folder import MANIFEST, read_manifest
from sim.io.manifest import refuse_used_out
from sim.io.results import versions

log = logging.getLogger(__name__)
DB = "abc.db"


def identifier(name: str) -> str:
    """A parameter's name in pyabc's history: non-word characters become ``_``."""
    return re.sub(r"\W", "_", name)


class CalibrationModel:
    """One ABC particle: a run with the particle's parameters, measured (picklable).

    Its seed comes from numpy's global generator, which pyabc seeds (per worker
    process, for parallel samplers); it is returned with the statistics, so pyabc's
    history records it.
    """

    def __init__(self, scenario: str, days: float, names: dict[str, str],
                 statistics: list[str]) -> None:
        self.scenario, self.days, self.names, self.statistics = scenario, days, names, statistics

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        """Run the scenario with these parameters; return the statistics and the seed."""
        from sim.api import run

        # NOTE: pyabc seeds numpy's global generator (per process); the run's own
        # randomness is all from this seed.
        seed = int(np.random.randint(0, 2**62))  # noqa: NPY002
        overrides = {self.names[key]: float(value) for key, value in parameters.items()}
        result = run(self.scenario, seed=seed, days=self.days, overrides=overrides)
        return {**measure(result, self.statistics), "seed": float(seed)}


class IntervalDistance:
    """How far a particle's statistics lie outside the observed ranges (Euclidean, picklable)."""

    def __init__(self, observations: list[Observation]) -> None:
        self.observations = observations

    def __call__(self, x: dict, x_0: dict) -> float:
        """The distance of simulated statistics ``x`` (``x_0`` is unused: ranges are kept here)."""
        return float(np.sqrt(sum(o.distance(x[o.statistic]) ** 2 for o in self.observations)))


def _prior(spec: CalibrationSpec) -> Any:
    import pyabc

    rvs = {}
    for name, p in spec.parameters.items():
        if p.prior == "uniform":
            rvs[identifier(name)] = pyabc.RV("uniform", p.low, p.high - p.low)
        else:
            rvs[identifier(name)] = pyabc.RV("loguniform", p.low, p.high)
    return pyabc.Distribution(**rvs)


def _sampler(workers: int | None, scheduler: str | None) -> Any:
    from pyabc import sampler

    if scheduler:
        from distributed import Client

        return sampler.DaskDistributedSampler(Client(scheduler))
    n = os.cpu_count() or 1 if workers is None else workers
    return sampler.SingleCoreSampler() if n <= 1 else sampler.MulticoreEvalParallelSampler(n)


def _folder(out: Path, manifest: dict, resume: bool) -> dict:
    """Check the folder can take this calibration; return the manifest to keep (no writes)."""
    if resume:
        if not (out / MANIFEST).is_file() or not (out / DB).is_file():
            raise InputError.single(str(out), "--resume", "has no calibration to resume",
                                    "run without --resume to start it")
        old = read_manifest(out)
        if old["spec_sha256"] != manifest["spec_sha256"]:
            changed = sorted(k for k in set(old["spec"]) | set(manifest["spec"])
                             if old["spec"].get(k) != manifest["spec"].get(k))
            raise InputError.single(str(out), "--resume", "refused: the calibration changed "
                                    f"since it started ({', '.join(changed)})",
                                    "resume with the same file and options, or start afresh")
        old["sessions"].append(manifest["sessions"][-1])
        old.update(status="running", finished_utc=None)
        return old
    refuse_used_out(out, "calibration")
    return manifest


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The weighted median (the smallest value whose cumulative weight reaches one half)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / np.sum(weights)
    return float(values[order][np.searchsorted(cum, 0.5)])


def calibrate(path: str | Path, *, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False,
              population: int | None = None, generations: int | None = None,
              days: float | None = None, quiet: bool = True) -> dict[str, pd.DataFrame]:
    """Run (or resume) a calibration file; return its posterior, generations and check.

    Parameters
    ----------
    path : str or Path
        The calibration file (TOML).
    out : str or Path, optional
        The calibration folder (default ``calibrations/<name>``).
    workers, scheduler
        Local processes (0 or 1: this process, reproducible) or a Dask scheduler.
    resume : bool
        Continue a killed or finished calibration in ``out``.
    population, generations, days : optional
        Override the file's sizes (a quick look).
    quiet : bool
        Hide pyabc's progress (one line per generation) on standard error.

    Returns
    -------
    dict of DataFrame
        ``posterior`` (one row per particle: parameters, ``weight``, ``distance``,
        ``seed``), ``generations`` and ``ppc`` (one row per pattern).
    """
    spec, path = load_calibration(path, population=population, generations=generations,
                                  days=days)
    try:
        import pyabc
    except ImportError:
        raise SetupError("calibration needs pyabc, which is not installed",
                         "pip install -e '.[calibrate]'") from None
    abc_log = logging.getLogger("ABC")  # pyabc logs through its own handler
    abc_log.setLevel(logging.WARNING if quiet else logging.INFO)
    abc_log.propagate = False
    observations = load_observations(observations_path(spec, path.parent))
    fit = fitted(spec, observations)
    out = Path(out) if out else Path("calibrations") / spec.name
    scenario = scenario_name(str(resolve_scenario(spec, path)))
    manifest = _folder(out, {
        "kind": "calibration", "name": spec.name, "calibration_file": path.name,
        "spec": spec.model_dump(mode="json"), "spec_sha256": spec.content_hash(),
        "scenario": scenario, "patterns_fitted": [o.pattern for o in fit],
        "versions": {**versions(), "pyabc": metadata.version("pyabc")},
        "status": "running", "started_utc": _now(), "finished_utc": None,
        "sessions": [{"started_utc": _now(), "host": socket.gethostname(),
                      "platform": platform.platform(),
                      "executor": {"scheduler": scheduler} if scheduler
                      else {"workers": workers}}]}, resume)
    names = {identifier(n): n for n in spec.parameters}
    if len(names) < len(spec.parameters):
        raise InputError.single(path, "parameters", "two names map to the same identifier")
    model = CalibrationModel(scenario, spec.days, names, sorted({o.statistic for o in fit}))
    sampler = _sampler(workers, scheduler)
    try:
        abc = pyabc.ABCSMC(model, _prior(spec), IntervalDistance(fit),
                           population_size=spec.population, sampler=sampler,
                           eps=pyabc.QuantileEpsilon(alpha=0.5))
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / MANIFEST, manifest)
        db = "sqlite:///" + str((out / DB).resolve())
        np.random.seed(spec.seed % 2**32)  # noqa: NPY002 (pyabc draws from the global one)
        if resume:
            history = abc.load(db, 1)
            done = history.max_t + 1
        else:
            history = abc.new(db, {o.statistic: (o.low + o.high) / 2 for o in fit})
            done = 0
        if spec.generations - done > 0:
            history = abc.run(minimum_epsilon=spec.min_epsilon,
                              max_nr_populations=spec.generations - done,
                              min_acceptance_rate=spec.min_acceptance_rate)
        return finish(out, spec, manifest, history, observations, names, scenario, workers,
                      scheduler)
    finally:
        client = getattr(sampler, "client", None)
        if client is not None:
            client.close()


def resolve_scenario(spec: CalibrationSpec, path: Path) -> Path:
    """The calibration's scenario file."""
    from sim.scenario.loading import resolve_path

    return resolve_path(spec.scenario, relative_to=path.parent)


def finish(out: Path, spec: CalibrationSpec, manifest: dict, history: Any,
           observations: list[Observation], names: dict[str, str], scenario: str,
           workers: int | None, scheduler: str | None) -> dict[str, pd.DataFrame]:
    """Write the posterior, the generations and the posterior-predictive check; close."""
    posterior = last_population(history, names)
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    generations = pd.DataFrame({
        "generation": populations["t"].astype(int), "epsilon": populations["epsilon"],
        "simulations": populations["samples"].astype(int),
        "accepted": populations["particles"].astype(int),
        "acceptance_rate": populations["particles"] / populations["samples"],
        "wall_time_s": populations["wall_time"].astype(float)})
    weights = posterior["weight"].to_numpy()
    medians = {n: weighted_median(posterior[n].to_numpy(), weights) for n in names.values()}
    rng = np.random.default_rng(spec.seed)
    picks = rng.choice(len(posterior), size=spec.posterior_draws, p=weights / weights.sum())
    draws = [{n: float(posterior.iloc[i][n]) for n in names.values()} for i in picks]
    runs = run_patterns(scenario, observations, spec.posterior_draws, spec.days, spec.seed + 1,
                        draws, workers, scheduler)
    ppc = compare(observations, runs)
    atomic_write(out / "posterior.parquet", lambda p: posterior.to_parquet(p, index=False))
    atomic_write(out / "generations.csv", lambda p: generations.to_csv(p, index=False))
    ppc_manifest = {"kind": "patterns", "scenario": manifest["scenario"], "days": spec.days,
                    "replicates": spec.posterior_draws, "seed": spec.seed + 1,
                    "observations": spec.observations or "seeds/observations.csv",
                    "posterior_draws": True, "calibration": spec.name,
                    "versions": manifest["versions"], "created_utc": _now()}
    write_folder(out / "ppc", ppc_manifest, runs.assign(**{
        f"param:{n}": [d[n] for d in draws] for n in names.values()}), ppc)
    manifest.update(status="complete", finished_utc=_now(), posterior_median=medians,
                    generations_done=int(history.max_t) + 1,
                    n_simulations=int(history.total_nr_simulations))
    manifest["sessions"][-1]["finished_utc"] = manifest["finished_utc"]
    write_json(out / MANIFEST, manifest)
    return {"posterior": posterior, "generations": generations, "ppc": ppc}


def last_population(history: Any, names: dict[str, str]) -> pd.DataFrame:
    """The last generation's particles: parameters (dotted names), weight, distance, seed.

    Read from pyabc's long table and pivoted here, keeping particles whose statistics
    include NaN (pyabc's own tidy view drops them).
    """
    long = history.get_population_extended(t="last", tidy=False)
    pars = long.pivot_table(index="particle_id", columns="par_name", values="par_val",
                            aggfunc="first", dropna=False)
    first = long.groupby("particle_id").first()
    seeds = long[long["sumstat_name"] == "seed"].groupby("particle_id")["sumstat_val"].first()
    posterior = pd.DataFrame({names[k]: pars[k].astype(float) for k in names})
    posterior["weight"] = first["w"].astype(float)
    posterior["distance"] = first["distance"].astype(float)
    posterior["seed"] = seeds.reindex(posterior.index).astype("int64")
    posterior["generation"] = int(history.max_t)
    return posterior.sort_index().reset_index(drop=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
