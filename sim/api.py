"""``run(...)``: one simulation run, as the CLI, sweeps, calibration and notebooks use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.core.model import PatrolModel
from sim.io.results import RunResult
from sim.scenario.loading import DEFAULT_SCENARIO
from sim.scenario.overrides import run_options
from sim.scenario.schema import ScenarioSpec


def run(scenario: str | Path | ScenarioSpec = DEFAULT_SCENARIO, *, seed: int | None = None,
        rng: int | None = None, days: float | None = None,
        overrides: dict[str, Any] | None = None, **params: Any) -> RunResult:
    """Run a scenario to its horizon and return its logs, summary and provenance.

    Parameters
    ----------
    scenario : str, Path or ScenarioSpec
        A shipped scenario's name (see ``sim scenarios``) or a TOML file.
    seed, rng : int, optional
        The run's seed (either name); a fresh one is drawn and recorded if neither is given.
    days : float, optional
        Override the scenario's length.
    overrides : dict, optional
        Scenario parameters by dotted name, e.g. ``{"forces.US.posture.block": 0.5}``.
    **params
        More overrides, for names that are valid Python identifiers.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> result = run("derik-june-2020", seed=7, days=2)
    >>> sorted(result.summary)[:3]
    ['blocking_positions', 'days', 'helicopters_over_standoffs']
    """
    days, seed, rest = run_options({**(overrides or {}), **params}, days, seed, "sim.run")
    model = PatrolModel(scenario, rng=rng, seed=seed, days=days, **rest)
    model.run_model()
    return RunResult.from_model(model)
