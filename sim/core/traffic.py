"""Civilian traffic: trips on routes, queues at closures, waiting, rerouting, and delay.

**Where a trip's delay is counted.** Once, on arrival (:meth:`Traffic._arrive`):
``delay_min = actual_min - free_flow_min``, where free flow is the fastest
route at departure. Each minute of it was charged, as it happened, to the
closure that caused it (a wait in a queue, the extra length of a detour), so
the charges of a trip add up to its delay and the trip's ``cause`` names them.

**Two engines, one set of rules.** :class:`TripMoves` holds the rules for a
trip that meets a closure (below). :class:`Traffic`, the reference engine, makes
every trip an object with a departure and an arrival event: it is not moved
road by road (its position follows from its route's cumulative free-flow times);
trips in flight are indexed by route, and routes by the roads and places they
pass, so a closure finds exactly the trips it affects: those still to reach it
(they get an event at the place where they will find the road shut) and those
on the closed road (held at once). The default engine,
:class:`~sim.core.column_traffic.ColumnTraffic`, keeps trips as columns and hands
only the trips a closure stops to these rules; both give the same logs.

Rules
-----
* A vehicle checks, at each place, whether the next road or the place it leads
  to is closed; if so it queues there.
* A vehicle already on a road when it closes is held where it is, and cannot
  turn round.
* A vehicle queued at a place gives up after its patience (lognormal) and takes
  the fastest detour avoiding every closed road and place, if one exists and
  is at most ``max_detour_factor`` times the direct remaining time; else it
  keeps waiting.
* When a gate reopens, queued vehicles leave one ``queue_headway_s`` apart per
  approach, in the order they arrived.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np

from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.core.network import RoadNetwork, Route
from sim.core.occupancy import Gate, Occupancy
from sim.scenario.schema import CivilianRules

NEVER = math.inf
_NORMAL = NormalDist()


class Trip:
    """One civilian journey and where it stands.

    ``route_start`` is the (possibly virtual) time at which the trip was at
    ``route.nodes[0]``, so it reaches node ``i`` at ``route_start + route.cum_min[i]``.
    ``next_check`` is the index of the next place where it will look ahead.
    """

    __slots__ = (
        "arrive", "charges", "depart", "destination", "event", "event_time", "free_flow_min",
        "hold", "n_waits", "next_check", "origin", "rerouted", "route", "route_start", "trip_id",
        "vehicle",
    )

    def __init__(self, trip_id: int, vehicle: Any, route: Route, depart: float) -> None:
        self.trip_id = trip_id
        self.vehicle = vehicle
        self.origin = route.nodes[0]
        self.destination = route.nodes[-1]
        self.depart = depart
        self.free_flow_min = route.cum_min[-1]
        self.route = route
        self.route_start = depart
        self.next_check = 0
        self.event = None
        self.event_time = NEVER
        self.charges: dict[str, float] | None = None  # made on the first delay
        self.rerouted = False
        self.hold: Hold | None = None
        self.n_waits = 0
        self.arrive = NEVER


class Hold:
    """A trip queued at a closed gate."""

    __slots__ = ("approach", "cause", "gate", "index", "on_road_min", "start")

    def __init__(self, gate: Gate, cause: str, index: int, start: float, on_road_min: float,
                 approach: str) -> None:
        self.gate = gate
        self.cause = cause
        self.index = index  # route index of the place before the gate
        self.start = start
        self.on_road_min = on_road_min  # > 0: held on the road, this many minutes from its end
        self.approach = approach


class TripLog:
    """The trips log, column by column.

    NOTE: numbers go into ``array.array`` columns rather than one tuple per trip:
    at 24,000 trips a day that saves ~150 MB of small objects and the garbage
    collector's time spent walking them (which made cost grow faster than demand).
    """

    NUMBERS = ("trip_id", "vehicle_id", "depart", "arrive", "free_flow_min", "actual_min",
               "delay_min")

    def __init__(self) -> None:
        self.trip_id, self.vehicle_id = array("q"), array("q")
        self.depart, self.arrive = array("d"), array("d")
        self.free_flow_min, self.actual_min, self.delay_min = array("d"), array("d"), array("d")
        self.rerouted = array("b")
        self.origin: list[str] = []
        self.destination: list[str] = []
        self.cause: list[str] = []

    def __len__(self) -> int:
        return len(self.trip_id)

    def add(self, trip: Trip, actual: float, delay: float, cause: str) -> None:
        """Record one arrived trip."""
        self.trip_id.append(trip.trip_id)
        self.vehicle_id.append(trip.vehicle.unique_id)
        self.origin.append(trip.origin)
        self.destination.append(trip.destination)
        self.depart.append(trip.depart)
        self.arrive.append(trip.arrive)
        self.free_flow_min.append(trip.free_flow_min)
        self.actual_min.append(actual)
        self.delay_min.append(delay)
        self.cause.append(cause)
        self.rerouted.append(trip.rerouted)

    def columns(self, names: Callable[[str], str] | None = None,
                coded: bool = False) -> dict[str, Any]:
        """The columns as numpy arrays (numbers) and lists (names), in log order.

        ``names`` maps a node id to the name to log (e.g. its place id). With
        ``coded``, ``origin``, ``destination`` and ``cause`` come as (labels, codes):
        row ``i`` says ``labels[codes[i]]``.
        """
        out: dict[str, Any] = {name: np.frombuffer(getattr(self, name),
                                                   dtype="int64" if name.endswith("_id")
                                                   else "float64").copy()
                               for name in self.NUMBERS}
        text: dict[str, Any] = {"origin": self.origin, "destination": self.destination,
                                "cause": self.cause}
        if names is not None:
            lookup = {node: names(node) for node in {*self.origin, *self.destination}}
            for end in ("origin", "destination"):
                text[end] = list(map(lookup.__getitem__, text[end]))
        if coded:
            for name, words in text.items():
                index: dict[str, int] = {}
                codes = np.fromiter((index.setdefault(w, len(index)) for w in words),
                                    dtype=np.int64, count=len(words))
                text[name] = (list(index), codes)
        out.update(text, rerouted=np.frombuffer(self.rerouted, dtype="int8").astype(bool))
        return out


class TripMoves:
    """The rules for trips that meet closures, shared by both traffic engines.

    A trip handled here is an object with its own events: a check at the place
    before a closed gate, a queue, patience, a detour, a release, an arrival.
    :class:`Traffic` (the reference engine) hands every trip to these rules;
    :class:`~sim.core.column_traffic.ColumnTraffic` only the trips that meet a
    closed gate. Subclasses say what happens on arrival (:meth:`_arrive`).

    Parameters
    ----------
    network, occupancy, events
        The model's road network, occupancy index and event queue.
    rules : CivilianRules
        Patience, detour and queue parameters.
    streams : Streams
        For each queued trip's patience, a draw keyed by the trip and its wait.
    """

    def __init__(self, network: RoadNetwork, occupancy: Occupancy, events: EventQueue,
                 rules: CivilianRules, streams: Streams) -> None:
        self.network = network
        self.occupancy = occupancy
        self.events = events
        self.rules = rules
        self.streams = streams
        self._in_flight: dict[Route, dict[int, Trip]] = {}
        self._through: dict[Gate, list[tuple[Route, int]]] = {}
        self._queues: dict[Gate, list[Trip]] = {}
        self._detours: dict[tuple, Route | None] = {}
        self.delay_by_cause: dict[str, float] = {}
        self.vehicles_by_cause: dict[str, int] = {}
        self.n_queued = 0
        self.vehicle_hours_delay = 0.0

    # -- moving ------------------------------------------------------------------------

    def _index(self, route: Route) -> dict[int, Trip]:
        """The trips in flight on ``route``, indexing the route by its gates on first use."""
        flight = self._in_flight.get(route)
        if flight is None:
            flight = self._in_flight[route] = {}
            for j, (road, node) in enumerate(zip(route.roads, route.nodes[1:], strict=True)):
                self._through.setdefault(road, []).append((route, j))
                self._through.setdefault(node, []).append((route, j))
        return flight

    def _follow(self, trip: Trip, route: Route, first_check: int) -> None:
        """Put a trip in flight on ``route`` and schedule its next event."""
        self._index(route)[trip.trip_id] = trip
        trip.route = route
        trip.next_check = first_check
        self._plan(trip)

    def _plan(self, trip: Trip) -> None:
        """Schedule the trip's arrival, or its check before the first closed gate ahead."""
        route = trip.route
        occupancy = self.occupancy
        j = -1
        if occupancy.n_closed:
            for k in range(trip.next_check, len(route.roads)):
                if occupancy.is_closed(route.roads[k], route.nodes[k + 1]) is not None:
                    j = k
                    break
        if j < 0:
            self._set_event(trip, trip.route_start + route.cum_min[-1], self._arrive)
        else:
            self._set_event(trip, trip.route_start + route.cum_min[j], self._check, j)

    def _set_event(self, trip: Trip, time: float, callback: Callable, *args: Any) -> None:
        EventQueue.cancel(trip.event)
        trip.event = self.events.schedule(time, callback, trip, *args)
        trip.event_time = time

    def _check(self, trip: Trip, j: int) -> None:
        """At place ``j`` of its route: go on, or queue if the way ahead is shut."""
        route = trip.route
        gate = self.occupancy.is_closed(route.roads[j], route.nodes[j + 1])
        if gate is None:
            trip.next_check = j + 1
            self._plan(trip)
            return
        self._queue(trip, gate, j, on_road_min=0.0)
        u = self.streams.uniform("patience", trip.trip_id, trip.n_waits)
        trip.n_waits += 1
        patience = self.rules.patience_median_min * math.exp(
            self.rules.patience_sigma * _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))
        trip.event = self.events.schedule(self.events.now + patience, self._give_up, trip,
                                          trip.hold)

    def _queue(self, trip: Trip, gate: Gate, j: int, on_road_min: float) -> None:
        EventQueue.cancel(trip.event)
        trip.event, trip.event_time = None, NEVER
        self._in_flight[trip.route].pop(trip.trip_id, None)
        cause = self.occupancy.closure_at(gate).standoff_id
        trip.hold = Hold(gate, cause, j, self.events.now, on_road_min, trip.route.nodes[j])
        self._queues.setdefault(gate, []).append(trip)
        self.n_queued += 1

    def _charge(self, trip: Trip, cause: str, minutes: float) -> None:
        if trip.charges is None:
            trip.charges = {}
        trip.charges[cause] = trip.charges.get(cause, 0.0) + minutes

    def _give_up(self, trip: Trip, hold: Hold) -> None:
        """Patience is out: take a detour if a reasonable one exists, else keep waiting."""
        if trip.hold is not hold:
            return
        trip.event = None
        now = self.events.now
        route, j = trip.route, hold.index
        here = route.nodes[j]
        key = (here, trip.destination, self.occupancy.version)
        if key not in self._detours:
            self._detours[key] = self.network.detour(
                here, trip.destination, self.occupancy.closed_roads, self.occupancy.closed_nodes)
        detour = self._detours[key]
        remaining = route.cum_min[-1] - route.cum_min[j]
        if detour is None or detour.free_flow_min > self.rules.max_detour_factor * remaining:
            return
        self._queues[hold.gate].remove(trip)
        self.n_queued -= 1
        trip.hold = None
        self._charge(trip, hold.cause, (now - hold.start) + (detour.free_flow_min - remaining))
        trip.rerouted = True
        trip.route_start = now
        self._follow(trip, detour, 0)

    def _release(self, trip: Trip, hold: Hold) -> None:
        """Leave the queue after a gate reopened."""
        if trip.hold is not hold:
            return
        now = self.events.now
        trip.hold = None
        self.n_queued -= 1
        self._charge(trip, hold.cause, now - hold.start)
        route, j = trip.route, hold.index
        self._in_flight[route][trip.trip_id] = trip
        if hold.on_road_min > 0:  # resume on the road, as far from its end as when stopped
            trip.route_start = now + hold.on_road_min - route.cum_min[j + 1]
            trip.next_check = j + 1
            self._plan(trip)
        else:  # at the place before the gate: look again (it may have shut again)
            trip.route_start = now - route.cum_min[j]
            self._check(trip, j)

    def _settle(self, trip: Trip, now: float) -> tuple[float, float, str]:
        """A trip's actual time, delay and causes on arrival; its charges go to their causes."""
        if trip.charges:
            actual = now - trip.depart
            delay = max(actual - trip.free_flow_min, 0.0)
            for cause, minutes in trip.charges.items():
                self.delay_by_cause[cause] = self.delay_by_cause.get(cause, 0.0) + minutes
                self.vehicles_by_cause[cause] = self.vehicles_by_cause.get(cause, 0) + 1
            self.vehicle_hours_delay += delay / 60.0
            return actual, delay, ";".join(trip.charges)
        return trip.free_flow_min, 0.0, ""

    def _arrive(self, trip: Trip) -> None:
        """The trip is at its destination (each engine logs it its own way)."""
        raise NotImplementedError

    def gate_opened(self, gate: Gate) -> None:
        """A gate reopened: queued vehicles leave one headway apart per approach."""
        queue = self._queues.pop(gate, [])
        headway = self.rules.queue_headway_s / 60.0
        now = self.events.now
        position: dict[str, int] = {}
        for trip in queue:
            hold = trip.hold
            k = position.get(hold.approach, 0)
            position[hold.approach] = k + 1
            EventQueue.cancel(trip.event)  # its patience no longer matters
            trip.event = self.events.schedule(now + k * headway, self._release, trip, hold)
            trip.event_time = now + k * headway

    def queued_trips(self) -> list[Trip]:
        """Trips queued at closures now."""
        return [trip for queue in self._queues.values() for trip in queue]


class Traffic(TripMoves):
    """The reference engine: every trip is an object with a departure and an arrival event.

    Parameters
    ----------
    network, occupancy, events, rules, streams
        As for :class:`TripMoves`.
    on_arrival : callable
        Called with each trip when it arrives.
    """

    def __init__(self, network: RoadNetwork, occupancy: Occupancy, events: EventQueue,
                 rules: CivilianRules, streams: Streams,
                 on_arrival: Callable[[Trip], None]) -> None:
        super().__init__(network, occupancy, events, rules, streams)
        self.on_arrival = on_arrival
        self.log = TripLog()
        self.n_under_way = 0

    def start(self, trip: Trip) -> None:
        """Send a trip on its way at its departure time (now)."""
        self.n_under_way += 1
        self._follow(trip, trip.route, 0)

    def _arrive(self, trip: Trip) -> None:
        """Log the finished trip: its delay is its actual time minus its free-flow time."""
        now = self.events.now
        self._in_flight[trip.route].pop(trip.trip_id, None)
        self.n_under_way -= 1
        trip.arrive, trip.event = now, None
        actual, delay, cause = self._settle(trip, now)
        self.log.add(trip, actual, delay, cause)
        self.on_arrival(trip)

    # -- closures ----------------------------------------------------------------------

    def gate_closed(self, gate: Gate) -> None:
        """A gate just shut: find the trips it stops, now or when they reach it."""
        now = self.events.now
        for route, j in self._through.get(gate, ()):
            flight = self._in_flight[route]
            if not flight:
                continue
            cum = route.cum_min
            for trip in list(flight.values()):
                reach = trip.route_start + cum[j]
                if reach > now:
                    if reach < trip.event_time:
                        self._set_event(trip, reach, self._check, j)
                elif now < trip.route_start + cum[j + 1]:
                    self._queue(trip, gate, j, on_road_min=trip.route_start + cum[j + 1] - now)

    def in_flight(self) -> list[list[Trip]]:
        """Trips moving now, by route."""
        return [list(flight.values()) for flight in self._in_flight.values() if flight]
