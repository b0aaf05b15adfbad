"""Civilian vehicles and their demand: trips between towns and villages by population and hour.

Demand is a gravity model: trips between places i and j are proportional to
``P_i * P_j / d_ij ** distance_decay`` (populations from ``seeds/places.csv``,
``village_population`` where not known; ``d`` the free-flow route length), and
spread over the day by ``hourly_profile``. A day's trips are drawn in one
vectorised call; each departure is one event.

Vehicles are Mesa agents that live across trips: a trip takes an idle vehicle
at its origin (a new one joins the fleet only when none is idle), and the
vehicle waits at the destination for its next trip.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.mesa_compat import SimAgent
from sim.network import RoadNetwork
from sim.scenario import Civilians
from sim.traffic import Trip

if TYPE_CHECKING:
    from sim.model import PatrolModel


class CivilianVehicle(SimAgent):
    """A car or truck of local traffic; ``trip`` is its journey under way, if any."""

    def __init__(self, model: mesa.Model, place: str) -> None:
        super().__init__(model)
        self.place = place
        self.trip: Trip | None = None
        self.n_trips = 0


def demand_places(network: RoadNetwork, rules: Civilians) -> list[str]:
    """Places that generate and attract civilian trips, sorted by id."""
    excluded = set(rules.exclude)
    return sorted(
        pid for pid, p in network.places.items()
        if p.kind in rules.kinds and p.country in rules.countries and pid not in excluded
    )


def od_weights(network: RoadNetwork, rules: Civilians, places: list[str]) -> np.ndarray:
    """Gravity-model probabilities of each ordered (origin, destination) pair, flattened."""
    pop = np.array([network.places[p].population or rules.village_population for p in places],
                   dtype=float)
    n = len(places)
    dist = np.ones((n, n))
    for i, j in itertools.permutations(range(n), 2):
        dist[i, j] = network.route(network.node_of(places[i]),
                                   network.node_of(places[j])).length_km
    weights = np.outer(pop, pop) / dist**rules.distance_decay
    np.fill_diagonal(weights, 0.0)
    return (weights / weights.sum()).ravel()


class Demand:
    """Draws each day's civilian trips and starts them through the model's traffic.

    Parameters
    ----------
    model : PatrolModel
        Supplies the network, event queue, traffic and the agents' registry.
    rng : numpy.random.Generator
        The demand stream, used for nothing else.
    """

    def __init__(self, model: PatrolModel, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng
        self.rules = model.spec.civilians
        network = model.network
        self.places = demand_places(network, self.rules)
        self.nodes = [network.node_of(p) for p in self.places]
        n = len(self.places)
        self.p_od = od_weights(network, self.rules, self.places) if n > 1 else np.zeros(0)
        profile = np.asarray(self.rules.hourly_profile, dtype=float)
        self.p_hour = profile / profile.sum()
        self.idle: dict[str, list[CivilianVehicle]] = {node: [] for node in self.nodes}
        self._trip_ids = itertools.count(1)
        self._today: tuple[list[float], list[int], list[int]] = ([], [], [])
        self._cursor = 0

    def start(self) -> None:
        """Schedule the first day's draw."""
        if self.rules.trips_per_day > 0 and len(self.places) > 1:
            self.model.events.schedule(0.0, self._new_day, 0)

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
        events = self.model.events
        if n:
            events.schedule(self._today[0][0], self._depart_next)
        if (day + 1) * 1440.0 < self.model.spec.horizon_min:
            events.schedule((day + 1) * 1440.0, self._new_day, day + 1)

    def _depart_next(self) -> None:
        """Start the next trip of the day, then schedule the one after it."""
        depart, origins, destinations = self._today
        i = self._cursor
        origin, destination = self.nodes[origins[i]], self.nodes[destinations[i]]
        idle = self.idle[origin]
        vehicle = idle.pop() if idle else CivilianVehicle(self.model, origin)
        route = self.model.network.route(origin, destination)
        trip = Trip(next(self._trip_ids), vehicle, route, self.model.events.now)
        vehicle.trip = trip
        self.model.traffic.start(trip)
        self._cursor = i + 1
        if self._cursor < len(depart):
            self.model.events.schedule(depart[self._cursor], self._depart_next)

    def arrived(self, trip: Trip) -> None:
        """Park the trip's vehicle at its destination, ready for another trip."""
        vehicle = trip.vehicle
        vehicle.trip = None
        vehicle.place = trip.destination
        vehicle.n_trips += 1
        self.idle[trip.destination].append(vehicle)
