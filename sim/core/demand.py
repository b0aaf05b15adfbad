"""Civilian demand: trips between towns and villages by population and hour, and the fleet.

Demand is a gravity model: trips between places i and j are proportional to
``P_i * P_j / d_ij ** distance_decay`` (populations from ``seeds/places.csv``,
``village_population`` where not known; ``d`` the free-flow route length), and
spread over the day by ``hourly_profile``. A day's trips are drawn in one
vectorised call; each departure is one event.

Vehicles (``sim.agents.civilians``) live across trips: a trip takes an idle
vehicle at its origin from the :class:`Fleet` (a new one joins only when none
is idle), and the vehicle waits at the destination for its next trip.

:class:`Demand` starts each trip with its own departure event (the reference
engine); :class:`ColumnDemand` makes the same draws, faster, and hands each day
to :class:`~sim.core.column_traffic.ColumnTraffic` as columns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core.events import EventQueue
from sim.core.network import RoadNetwork
from sim.core.traffic import Trip
from sim.core.trip_columns import Chooser, stable_argsort
from sim.scenario.schema import CivilianRules

if TYPE_CHECKING:
    from sim.agents.civilians import CivilianVehicle


def demand_places(network: RoadNetwork, rules: CivilianRules) -> list[str]:
    """Places that generate and attract civilian trips, sorted by id."""
    excluded = set(rules.exclude)
    return sorted(
        pid for pid, p in network.places.items()
        if p.kind in rules.kinds and p.country in rules.countries and pid not in excluded
    )


#: Distances below this (places on one node) count as this, km, so no weight is infinite.
MIN_KM = 1e-3


def od_weights(network: RoadNetwork, rules: CivilianRules, places: list[str]) -> np.ndarray:
    """Gravity-model probabilities of each ordered (origin, destination) pair, flattened."""
    pop = np.array([network.places[p].population or rules.village_population for p in places],
                   dtype=float)
    n = len(places)
    dist = np.ones((n, n))
    for i, j in itertools.permutations(range(n), 2):
        dist[i, j] = network.route(network.node_of(places[i]),
                                   network.node_of(places[j])).length_km
    with np.errstate(over="ignore", divide="ignore"):
        weights = np.outer(pop, pop) / np.maximum(dist, MIN_KM) ** rules.distance_decay
    np.fill_diagonal(weights, 0.0)
    total = weights.sum()
    if not (np.isfinite(total) and total > 0):  # extremes: the same weights, in logs
        with np.errstate(divide="ignore"):
            logs = (np.log(pop)[:, None] + np.log(pop)[None, :]
                    - rules.distance_decay * np.log(np.maximum(dist, MIN_KM)))
        np.fill_diagonal(logs, -np.inf)
        if not np.isfinite(logs.max()):
            return np.zeros(n * n)  # nobody lives anywhere: no trips
        weights = np.exp(logs - logs.max())
        total = weights.sum()
    return (weights / total).ravel()


class Fleet:
    """Civilian vehicles by where they are parked; a new one is made only when none is idle.

    Parameters
    ----------
    new_vehicle : callable
        Makes a vehicle (a Mesa agent) at a node.
    """

    def __init__(self, new_vehicle: Callable[[str], CivilianVehicle]) -> None:
        self.new_vehicle = new_vehicle
        self.idle: dict[str, list[CivilianVehicle]] = {}

    def agent_joined(self, time: float) -> None:
        """An agent joined the model: vehicles here are agents and take Mesa's ids themselves."""

    def take(self, node: str) -> CivilianVehicle:
        """An idle vehicle at ``node`` (the one parked last), or a new one."""
        idle = self.idle.get(node)
        return idle.pop() if idle else self.new_vehicle(node)

    def park(self, trip: Trip) -> None:
        """Park a trip's vehicle at its destination, ready for another trip."""
        vehicle = trip.vehicle
        vehicle.trip = None
        vehicle.place = trip.destination
        vehicle.n_trips += 1
        self.idle.setdefault(trip.destination, []).append(vehicle)


class Demand:
    """Draws each day's civilian trips and starts them in traffic.

    Parameters
    ----------
    network, events
        The roads and the clock.
    rules : CivilianRules
        The scenario's ``[civilians]`` table.
    horizon_min : float
        The end of the run: days are drawn until it.
    rng : numpy.random.Generator
        The demand stream, used for nothing else.
    fleet : Fleet
        Where vehicles come from.
    start_trip : callable
        Sends a trip on its way (``Traffic.start``).
    """

    def __init__(self, network: RoadNetwork, events: EventQueue, rules: CivilianRules,
                 horizon_min: float, rng: np.random.Generator, fleet: Fleet | None,
                 start_trip: Callable[[Trip], None] | None) -> None:
        self.network, self.events, self.rules = network, events, rules
        self.horizon_min = horizon_min
        self.rng = rng
        self.fleet = fleet
        self.start_trip = start_trip
        self.places = demand_places(network, rules)
        self.nodes = [network.node_of(p) for p in self.places]
        n = len(self.places)
        self.p_od = od_weights(network, rules, self.places) if n > 1 else np.zeros(0)
        profile = np.asarray(rules.hourly_profile, dtype=float)
        self.p_hour = profile / profile.sum()
        self._trip_ids = itertools.count(1)
        self._today: tuple[list[float], list[int], list[int]] = ([], [], [])
        self._cursor = 0

    def start(self) -> None:
        """Schedule the first day's draw."""
        if self.rules.trips_per_day > 0 and self.p_od.sum() > 0:
            self.events.schedule(0.0, self._new_day, 0)

    def _new_day(self, day: int) -> None:
        """Draw the day's trips (count, hour, minute, origin-destination) in one go."""
        rng = self.rng
        n = int(rng.poisson(self.rules.trips_per_day))
        hours = rng.choice(24, size=n, p=self.p_hour)
        depart = day * 1440.0 + (hours + rng.random(n)) * 60.0
        pairs = rng.choice(self.p_od.size, size=n, p=self.p_od)
        order = np.argsort(depart, kind="stable")
        k = len(self.places)
        # NOTE: plain lists; indexing numpy arrays one element at a time is slow.
        self._today = (depart[order].tolist(), (pairs[order] // k).tolist(),
                       (pairs[order] % k).tolist())
        self._cursor = 0
        if n:
            self.events.schedule(self._today[0][0], self._depart_next)
        if (day + 1) * 1440.0 < self.horizon_min:
            self.events.schedule((day + 1) * 1440.0, self._new_day, day + 1)

    def _depart_next(self) -> None:
        """Start the next trip of the day, then schedule the one after it."""
        depart, origins, destinations = self._today
        i = self._cursor
        origin, destination = self.nodes[origins[i]], self.nodes[destinations[i]]
        vehicle = self.fleet.take(origin)
        route = self.network.route(origin, destination)
        trip = Trip(next(self._trip_ids), vehicle, route, self.events.now)
        vehicle.trip = trip
        self.start_trip(trip)
        self._cursor = i + 1
        if self._cursor < len(depart):
            self.events.schedule(depart[self._cursor], self._depart_next)


#: Receives a day's trips as columns: (day, departures in order, their pairs).
AddDay = Callable[[int, np.ndarray, np.ndarray], None]


class ColumnDemand(Demand):
    """Draws each day's trips exactly as :class:`Demand` does, and hands them over as columns.

    The draws consume the demand stream in the same order and give the same
    values (:class:`~sim.core.trip_columns.Chooser` for ``rng.choice``), so both
    engines see the same trips.

    Parameters
    ----------
    network, events, rules, horizon_min, rng
        As for :class:`Demand`.
    add_day : callable
        Receives each day's trips (``ColumnTraffic.add_day``).
    """

    def __init__(self, network: RoadNetwork, events: EventQueue, rules: CivilianRules,
                 horizon_min: float, rng: np.random.Generator, add_day: AddDay) -> None:
        super().__init__(network, events, rules, horizon_min, rng, None, None)
        self.add_day = add_day
        self._choosers: tuple[Chooser, Chooser] | None = None

    def _new_day(self, day: int) -> None:
        """Draw the day's trips (count, hour, minute, origin-destination) and hand them over."""
        if self._choosers is None:
            self._choosers = (Chooser(self.p_hour), Chooser(self.p_od))
        hour_of, pair_of = self._choosers
        rng = self.rng
        n = int(rng.poisson(self.rules.trips_per_day))
        hours = hour_of.draw(rng, n)
        depart = day * 1440.0 + (hours + rng.random(n)) * 60.0
        pairs = pair_of.draw(rng, n)
        order = stable_argsort(depart)
        self.add_day(day, depart[order], pairs[order])
        if (day + 1) * 1440.0 < self.horizon_min:
            self.events.schedule((day + 1) * 1440.0, self._new_day, day + 1)
