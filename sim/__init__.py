"""Agent-based simulation of patrol encounters around al-Malikiyah (Derik), north-east Syria.

>>> import sim
>>> result = sim.run("derik-june-2020", seed=7, days=30)   # doctest: +SKIP
>>> result.standoffs, result.trips, result.missions, result.summary  # doctest: +SKIP
"""

from sim.api import run
from sim.errors import ScenarioError
from sim.model import PatrolModel
from sim.network import RoadNetwork
from sim.results import RunResult
from sim.scenario import ScenarioSpec, load_scenario

__all__ = ["PatrolModel", "RoadNetwork", "RunResult", "ScenarioError", "ScenarioSpec",
           "load_scenario", "run"]
__version__ = "0.1.0"
