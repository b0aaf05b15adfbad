"""Civilian traffic as columns: cost in proportion to the trips that meet a closure.

The default engine. It gives the reference engine's answers (:class:`~sim.core.
traffic.Traffic`: the same trips log, row for row, and the same counters) while
doing per-trip work only for the few trips a closed gate stops.

**How.** A trip that meets no closed gate arrives at departure plus free-flow
time, and that is all its log row says; so a day's trips stay numpy columns
(:class:`~sim.core.trip_columns.Day`) with no event of their own. A trip becomes
a :class:`~sim.core.traffic.Trip` object, handled by the shared rules of
:class:`~sim.core.traffic.TripMoves` from then on, at the moment it is stopped:

* when a gate shuts, the trips on its road (a slice of each day by departure
  time, then a mask: :func:`~sim.core.trip_columns.on_road`) are held there;
* while a gate is shut, the trips that will reach it
  (:func:`~sim.core.trip_columns.reaching`) are visited in the order they reach
  it, one event each, and queue there; the chain stops when the gate reopens.

That is the reference engine's rule (a trip queues at a gate it reaches while
the gate is shut, or is held on the road when it shuts), without checking each
trip. Trips held on one road queue in the reference engine's order: routes in
the order they were first used, then trips in the order they set out (or last
left a queue).

**Logs.** Arrivals are gathered a day at a time: the free-flow ones from the
columns, the others as they arrived, merged by arrival time; the vehicle of
each trip comes from :class:`~sim.core.fleet.ColumnFleet`. Trips under way are
counted, not kept: departures so far minus arrivals so far, each a binary search.
"""

from __future__ import annotations

import bisect

import numpy as np

from sim.core.column_log import ColumnTripLog
from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.core.fleet import ColumnFleet
from sim.core.network import RoadNetwork, Route
from sim.core.occupancy import Gate, Occupancy
from sim.core.traffic import Hold, Trip, TripMoves
from sim.core.trip_columns import Day, PairTable, on_road, reaching, stable_argsort
from sim.scenario.schema import CivilianRules


class ColumnTrip(Trip):
    """A trip taken out of the columns: where it came from, and when it last set out."""

    __slots__ = ("day", "index", "result", "stamp")


class _Chain:
    """The trips due to reach one shut gate, in the order they reach it."""

    __slots__ = ("days", "event", "index", "owner", "pos", "reach", "road")

    def __init__(self, days: list[Day], owner: np.ndarray, index: np.ndarray,
                 reach: np.ndarray, road: np.ndarray) -> None:
        self.days, self.owner, self.index, self.reach, self.road = days, owner, index, reach, road
        self.pos = 0
        self.event = None


class ColumnTraffic(TripMoves):
    """Moves civilian trips in bulk; only trips stopped by a closure get events.

    Parameters
    ----------
    network, occupancy, events, rules, streams
        As for :class:`~sim.core.traffic.TripMoves`.
    nodes : list of str
        The demand places' nodes, in the order demand numbers them.
    fleet : ColumnFleet
        Vehicles per place, for each trip's vehicle id.
    """

    def __init__(self, network: RoadNetwork, occupancy: Occupancy, events: EventQueue,
                 rules: CivilianRules, streams: Streams, nodes: list[str],
                 fleet: ColumnFleet) -> None:
        super().__init__(network, occupancy, events, rules, streams)
        self.pairs = PairTable(network, nodes)
        self.fleet = fleet
        self.log = ColumnTripLog(self.pairs, fleet, lambda: self.events.now, self.n_arrived)
        self.days: list[Day] = []  # days with trips that may not have arrived
        self._today: Day | None = None
        self._n_before_today = 0  # trips drawn on earlier days (all departed)
        self._n_free_retired = 0  # free-flow trips of days no longer kept (all arrived)
        self._n_special_arrived = 0
        self._seen = np.zeros(len(self.pairs.routes), dtype=bool)
        self._first_use: dict[Route, float] = {}
        self._chains: dict[Gate, _Chain] = {}

    # -- days --------------------------------------------------------------------------

    def add_day(self, day: int, depart: np.ndarray, pair: np.ndarray) -> None:
        """Take a day's trips (departures in order): log yesterday's, follow today's."""
        now = self.events.now
        if self._today is not None:
            self._n_before_today += self._today.n
        kept = []
        for old in self.days:  # days whose trips have all arrived are no longer searched
            if old.last_arrive <= now:
                self._n_free_retired += old.n - len(old.special_arrive)
                old.arrive_sorted = None
            else:
                kept.append(old)
        today = self._today = Day(day, self._n_before_today + 1, depart, pair,
                                  self.pairs.free_flow_min)
        self.days = [*kept, today]
        self.log.day_drawn(today, now)
        unseen = ~self._seen[pair]
        if unseen.any():  # a route's first use orders trips held on one road
            pairs, first = np.unique(pair[unseen], return_index=True)
            for p, t in zip(pairs.tolist(), depart[unseen][first].tolist(), strict=True):
                route = self.pairs.routes[p]
                self._first_use[route] = min(self._first_use.get(route, np.inf), t)
            self._seen[pairs] = True
        for gate in list(self._chains):
            self._start_chain(gate)

    def _special(self, day: Day, i: int) -> ColumnTrip:
        """Take trip ``i`` of ``day`` out of the columns, as it stands now."""
        route = self.pairs.routes[int(day.pair[i])]
        trip = ColumnTrip(day.first_id + i, None, route, float(day.depart[i]))
        trip.day, trip.index, trip.stamp, trip.result = day, i, trip.depart, None
        trip.event_time = float(day.arrive[i])
        self._index(route)
        day.special[i] = True
        bisect.insort(day.special_arrive, trip.event_time)
        return trip

    # -- trips taken out of the columns ------------------------------------------------

    def _follow(self, trip: Trip, route: Route, first_check: int) -> None:
        now = self.events.now
        trip.stamp = now
        self._first_use.setdefault(route, now)
        super()._follow(trip, route, first_check)

    def _release(self, trip: Trip, hold: Hold) -> None:
        if trip.hold is hold:
            trip.stamp = self.events.now
        super()._release(trip, hold)

    def _arrive(self, trip: Trip) -> None:
        """A stopped trip arrives: settle its delay; it is logged with its day."""
        now = self.events.now
        self._in_flight[trip.route].pop(trip.trip_id, None)
        trip.arrive, trip.event = now, None
        trip.result = self._settle(trip, now)
        self.log.arrived(trip)
        self._n_special_arrived += 1

    # -- closures ----------------------------------------------------------------------

    def gate_closed(self, gate: Gate) -> None:
        """A gate just shut: hold the trips on its road, and watch for those reaching it."""
        now = self.events.now
        held: list[tuple[float, float, int, Trip, int]] = []
        for route, j in self._through.get(gate, ()):
            flight = self._in_flight[route]
            cum = route.cum_min
            for trip in list(flight.values()):
                reach = trip.route_start + cum[j]
                if reach > now:
                    if reach < trip.event_time:
                        self._set_event(trip, reach, self._check, j)
                elif now < trip.route_start + cum[j + 1]:
                    held.append((self._first_use[route], trip.stamp, trip.trip_id, trip, j))
        table = self.pairs.gate(gate)
        if table is not None:
            for day in self.days:
                for i in on_road(day, table, now).tolist():
                    trip = self._special(day, i)
                    held.append((self._first_use[trip.route], trip.stamp, trip.trip_id, trip,
                                 int(table.jpos[day.pair[i]])))
        held.sort(key=lambda h: h[:3])
        for _, _, _, trip, j in held:
            self._queue(trip, gate, j, on_road_min=trip.route_start + trip.route.cum_min[j + 1]
                        - now)
        self._start_chain(gate)

    def gate_opened(self, gate: Gate) -> None:
        """A gate reopened: stop watching it, and release its queues."""
        chain = self._chains.pop(gate, None)
        if chain is not None:
            EventQueue.cancel(chain.event)
        super().gate_opened(gate)

    def _start_chain(self, gate: Gate) -> None:
        """(Re)build the list of trips due to reach a shut gate, and wait for the first."""
        old = self._chains.pop(gate, None)
        if old is not None:
            EventQueue.cancel(old.event)
        table = self.pairs.gate(gate)
        if table is None or not self.days:
            return
        now = self.events.now
        parts = [(k, *reaching(day, table, now)) for k, day in enumerate(self.days)]
        owner = np.concatenate([np.full(len(i), k) for k, i, _, _ in parts])
        index = np.concatenate([i for _, i, _, _ in parts])
        reach = np.concatenate([r for _, _, r, _ in parts])
        road = np.concatenate([j for _, _, _, j in parts])
        order = stable_argsort(reach)
        owner, index, reach, road = owner[order], index[order], reach[order], road[order]
        chain = self._chains[gate] = _Chain(list(self.days), owner, index, reach, road)
        self._next(chain)

    def _next(self, chain: _Chain) -> None:
        """Schedule the chain's next trip still in the columns."""
        days, owner, index = chain.days, chain.owner, chain.index
        while chain.pos < len(index):
            if not days[owner[chain.pos]].special[index[chain.pos]]:
                chain.event = self.events.schedule(float(chain.reach[chain.pos]),
                                                   self._reach_shut, chain)
                return
            chain.pos += 1
        chain.event = None

    def _reach_shut(self, chain: _Chain) -> None:
        """A trip reaches the place before a shut gate: it checks, and queues, as any trip."""
        k = chain.pos
        chain.pos += 1
        day, i = chain.days[chain.owner[k]], int(chain.index[k])
        if not day.special[i]:
            self._check(self._special(day, i), int(chain.road[k]))
        self._next(chain)

    # -- counting and logging ----------------------------------------------------------

    def n_arrived(self) -> int:
        """Trips arrived so far."""
        now = self.events.now
        n = self._n_free_retired + self._n_special_arrived
        for day in self.days:
            n += (int(day.arrive_sorted.searchsorted(now, "right"))
                  - bisect.bisect_right(day.special_arrive, now))
        return n

    @property
    def n_under_way(self) -> int:
        """Trips that have set out and not arrived."""
        if self._today is None:
            return 0
        departed = int(self._today.depart.searchsorted(self.events.now, "right"))
        return self._n_before_today + departed - self.n_arrived()

    # -- positions, on demand ----------------------------------------------------------

    def in_flight(self) -> list[list[Trip]]:
        """Trips moving now, by route (those in the columns made up as trips on the spot)."""
        now = self.events.now
        by_route: dict[Route, list[Trip]] = {}
        for day in self.days:
            lo = int(np.searchsorted(day.depart, now - self.pairs.max_free_flow - 1.0, "left"))
            hi = int(np.searchsorted(day.depart, now, "right"))
            moving = lo + np.flatnonzero(~day.special[lo:hi] & (day.arrive[lo:hi] > now))
            for i in moving.tolist():
                route = self.pairs.routes[int(day.pair[i])]
                by_route.setdefault(route, []).append(
                    Trip(day.first_id + i, None, route, float(day.depart[i])))
        for route, flight in self._in_flight.items():
            if flight:
                by_route.setdefault(route, []).extend(flight.values())
        return list(by_route.values())
