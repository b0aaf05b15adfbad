"""Agent-based simulation of patrol encounters around al-Malikiyah (Derik), north-east Syria.

>>> import sim
>>> result = sim.run("derik-june-2020", seed=7, days=30)   # doctest: +SKIP
>>> result.standoffs, result.trips, result.missions, result.summary  # doctest: +SKIP
>>> table = sim.sweep("scenarios/sweeps/blocking-vs-frequency.toml", workers=2)  # doctest: +SKIP
"""

from typing import Any

from sim.api import run
from sim.errors import ScenarioError
from sim.model import PatrolModel
from sim.network import RoadNetwork
from sim.results import RunResult
from sim.scenario import ScenarioSpec, load_scenario

__all__ = ["PatrolModel", "RoadNetwork", "RunResult", "ScenarioError", "ScenarioSpec",
           "analyze", "load_scenario", "run", "sweep"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # NOTE: imported on first use, so a sweep worker (which only runs models) starts
    # without scipy, SALib and the sweep machinery.
    if name == "sweep":
        from sim.sweeps import sweep

        return sweep
    if name == "analyze":
        import sim.analyze

        return sim.analyze
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
