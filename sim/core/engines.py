"""Which civilian-traffic engine a model runs: the column engine, or the reference engine.

Both give the same answers for the same scenario and seed (``tests/test_engines.py``
checks the logs row for row); they differ in cost. ``"reference"`` is the engine the
model had before the column engine (one departure and one arrival event per trip,
a ``CivilianVehicle`` agent per vehicle), kept to check the other against. The engine
is chosen per model (``PatrolModel(..., traffic_engine="reference")``), not in the
scenario, so a scenario's content and hash do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.core.column_traffic import ColumnTraffic
from sim.core.demand import ColumnDemand, Demand, Fleet
from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.core.fleet import ColumnFleet
from sim.core.network import RoadNetwork
from sim.core.occupancy import Occupancy
from sim.core.traffic import Traffic
from sim.errors import InputError
from sim.scenario.schema import CivilianRules

#: The engines, by name.
ENGINES = ("columns", "reference")

#: The engine a model runs unless told otherwise.
DEFAULT_ENGINE = "columns"


def civilian_traffic(engine: str | None, network: RoadNetwork, occupancy: Occupancy,
                     events: EventQueue, rules: CivilianRules, horizon_min: float,
                     streams: Streams, new_vehicle: Callable[[str], Any]) -> tuple[Any, Any, Any]:
    """The fleet, traffic and demand of one engine, wired together.

    Parameters
    ----------
    engine : str or None
        ``"columns"`` or ``"reference"``; None for :data:`DEFAULT_ENGINE`.
    network, occupancy, events, rules, horizon_min, streams
        The model's parts (``rules`` is the scenario's ``[civilians]`` table).
    new_vehicle : callable
        Makes a ``CivilianVehicle`` agent at a node (the reference engine's fleet).

    Raises
    ------
    InputError
        If ``engine`` names no engine.
    """
    engine = DEFAULT_ENGINE if engine is None else engine
    rng = streams.stream("demand")
    if engine == "reference":
        fleet = Fleet(new_vehicle)
        traffic = Traffic(network, occupancy, events, rules, streams, on_arrival=fleet.park)
        return fleet, traffic, Demand(network, events, rules, horizon_min, rng, fleet,
                                      traffic.start)
    if engine == "columns":
        demand = ColumnDemand(network, events, rules, horizon_min, rng, add_day=None)
        fleet = ColumnFleet(len(set(demand.nodes)))
        traffic = ColumnTraffic(network, occupancy, events, rules, streams, demand.nodes, fleet)
        demand.add_day = traffic.add_day
        return fleet, traffic, demand
    raise InputError.single("PatrolModel", "traffic_engine",
                            f"= {engine!r} must be one of {', '.join(ENGINES)}",
                            f'e.g. traffic_engine="{ENGINES[0]}"')
