"""The model as an EMA Workbench model, for its experiments and scenario discovery (PRIM).

>>> from ema_workbench import perform_experiments              # doctest: +SKIP
>>> import sim
>>> model = sim.ema.model(uncertainties={"forces.US.posture.block": (0.0, 1.0),
...                                      "missions.ru_derik.per_day": (0.1, 2.0)})  # doctest: +SKIP
>>> experiments, outcomes = perform_experiments(model, scenarios=100)  # doctest: +SKIP

Needs the ``ema`` extra (``pip install 'patrol-sim[ema]'``). Uncertainties are
scenario parameters by dotted name with (low, high) bounds (integers give an
``IntegerParameter``); outcomes are summary figures. EMA needs identifiers, so
each parameter appears there as its dotted name with every other character
replaced by ``_`` (``forces.US.posture.block`` → ``forces_US_posture_block``);
``identifier(name)`` gives it. Every experiment uses the same seed unless
``seed=None``, when the seed is derived from the experiment's values (still
reproducible).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from typing import Any

from sim.scenario.loading import DEFAULT_SCENARIO

DEFAULT_OUTCOMES = ("standoffs", "standoff_hours", "vehicle_hours_delay",
                    "missions_turned_back", "travel_time_index")


def identifier(name: str) -> str:
    """The EMA name of a dotted scenario parameter: non-word characters become ``_``."""
    return re.sub(r"\W", "_", name)


class SimFunction:
    """A picklable callable that runs the scenario with EMA's values (for EMA's evaluators)."""

    def __init__(self, scenario: str, days: float, seed: int | None,
                 outcomes: tuple[str, ...], names: dict[str, str]) -> None:
        self.scenario, self.days, self.seed, self.outcomes = scenario, days, seed, outcomes
        self.names = names  # EMA identifier -> dotted scenario parameter

    def __call__(self, **values: Any) -> dict[str, float]:
        """Run one experiment; return its outcomes."""
        from sim.api import run

        values = {self.names[key]: value for key, value in values.items()}
        seed = self.seed
        if seed is None:
            text = json.dumps(values, sort_keys=True, default=str)
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)
        summary = run(self.scenario, seed=seed, days=self.days, overrides=values).summary
        return {name: summary[name] for name in self.outcomes}


def model(scenario: str = DEFAULT_SCENARIO, uncertainties: dict[str, tuple] | None = None,
          outcomes: tuple[str, ...] = DEFAULT_OUTCOMES, days: float = 7.0,
          seed: int | None = 0, name: str = "patrolsim") -> Any:
    """An ``ema_workbench.Model`` running ``scenario`` with the given uncertainties.

    Parameters
    ----------
    scenario : str
        A shipped scenario's name or a scenario file.
    uncertainties : dict of str to (low, high)
        Scenario parameters by dotted name and their ranges.
    outcomes : tuple of str
        Summary figures to report (each a ``ScalarOutcome``).
    days : float
        Length of each run.
    seed : int or None
        The seed of every experiment (common random numbers), or None to derive one
        from each experiment's values.
    """
    with warnings.catch_warnings():  # the workbench warns about optional back-ends it lacks
        warnings.simplefilter("ignore")
        from ema_workbench import IntegerParameter, Model, RealParameter, ScalarOutcome

    uncertainties = uncertainties or {"forces.US.posture.block": (0.0, 1.0),
                                      "missions.ru_derik.per_day": (0.1, 2.0)}
    names = {identifier(key): key for key in uncertainties}
    if len(names) < len(uncertainties):
        raise ValueError("two uncertainties map to the same EMA identifier")
    ema_model = Model(name, function=SimFunction(scenario, days, seed, tuple(outcomes), names))
    ema_model.uncertainties = [
        IntegerParameter(identifier(key), low, high)
        if isinstance(low, int) and isinstance(high, int)
        else RealParameter(identifier(key), float(low), float(high))
        for key, (low, high) in uncertainties.items()
    ]
    ema_model.outcomes = [ScalarOutcome(outcome) for outcome in outcomes]
    return ema_model
