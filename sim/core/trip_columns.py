"""Civilian trips as columns: a day's trips in arrays, the pairs' routes, and where gates lie.

A day's trips are drawn in one go (:mod:`sim.core.demand`); here they stay as
numpy columns in departure order (:class:`Day`), with their free-flow arrivals.
Most are never anything else. The routes of every origin–destination pair are
fixed (free flow), so :class:`PairTable` knows, for any gate, which pairs pass
it and how far along their route (:class:`GateTable`); a closure then finds the
trips it stops with a slice by departure time and a mask, not by visiting trips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.network import RoadNetwork, Route
from sim.core.occupancy import Gate


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """The order ``np.argsort(values, kind="stable")`` gives, usually at quicksort's cost.

    NOTE: a stable sort of floats costs several times a quicksort. Without ties
    every sort gives the same order, so the quicksort's order is checked for
    ties (none, almost surely) and the stable sort is the fallback.
    """
    order = np.argsort(values)
    if len(order) > 1:
        ranked = values[order]
        if not (ranked[1:] > ranked[:-1]).all():
            return np.argsort(values, kind="stable")
    return order


class Chooser:
    """Draws like ``rng.choice(len(p), size=n, p=p)``: the same stream, the same values, faster.

    ``Generator.choice`` draws ``rng.random(n)`` and looks each uniform up in the
    cumulative distribution by binary search. The same uniforms are looked up
    here in a table of 2**bits buckets, then stepped forward past the few
    cumulative values inside the bucket: exactly ``searchsorted(cdf, u, "right")``.

    Parameters
    ----------
    p : array-like
        Probabilities (checked as ``Generator.choice`` checks them).
    """

    def __init__(self, p: np.ndarray) -> None:
        p = np.asarray(p, dtype=float)
        np.random.default_rng(0).choice(len(p), size=0, p=p)  # the same checks and errors
        cdf = p.cumsum()
        cdf /= cdf[-1]
        self.cdf = cdf
        for bits in range(8, 17):
            edges = np.arange(2**bits + 1) / 2**bits  # exact: powers of two
            self.table = np.searchsorted(cdf, edges[:-1], "right")
            self.steps = int((np.searchsorted(cdf, edges[1:], "left") - self.table).max())
            self.scale = float(2**bits)
            if self.steps <= 2:
                break

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` indices, consuming ``rng`` exactly as ``rng.choice`` would."""
        u = rng.random(n)
        index = self.table[(u * self.scale).astype(np.intp)]
        cdf = self.cdf
        for _ in range(self.steps):
            index += cdf[index] <= u
        return index.astype(np.int64)


class Day:
    """One day's trips, in departure order; trip ``i`` has id ``first_id + i``.

    Attributes
    ----------
    depart, arrive : numpy.ndarray
        Departure and free-flow arrival, minutes.
    pair : numpy.ndarray
        Origin–destination pair (see :class:`PairTable`).
    arrive_sorted : numpy.ndarray or None
        The free-flow arrivals, sorted (for counting arrivals); None once all arrived.
    last_arrive : float
        The last of them.
    special : numpy.ndarray of bool
        Trips that met a closed gate and became :class:`~sim.core.traffic.Trip` objects.
    special_arrive : list of float
        Their free-flow arrivals, sorted (for counting trips under way).
    vehicle : numpy.ndarray of int64
        Vehicle ids, filled in once the day's departures are matched with the fleet.
    """

    __slots__ = ("arrive", "arrive_sorted", "day", "depart", "first_id", "last_arrive", "n",
                 "pair", "special", "special_arrive", "vehicle")

    def __init__(self, day: int, first_id: int, depart: np.ndarray, pair: np.ndarray,
                 free_flow_min: np.ndarray) -> None:
        self.day = day
        self.first_id = first_id
        self.depart = depart
        self.pair = pair
        self.n = len(depart)
        self.arrive = depart + free_flow_min[pair]
        self.arrive_sorted: np.ndarray | None = np.sort(self.arrive)
        self.last_arrive = float(self.arrive_sorted[-1]) if self.n else -np.inf
        self.special = np.zeros(self.n, dtype=bool)
        self.special_arrive: list[float] = []
        self.vehicle = np.zeros(self.n, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class GateTable:
    """Where a gate lies on every pair's route.

    ``jpos[pair]`` is the index of the road the gate shuts on the pair's route (the
    road itself, or the place it leads to), -1 if the route does not pass it;
    ``cum_at``/``cum_after`` are the free-flow minutes to the start and end of
    that road (NaN where the route does not pass).
    """

    jpos: np.ndarray
    cum_at: np.ndarray
    cum_after: np.ndarray
    max_after: float


class PairTable:
    """Every ordered pair of demand places: its route, free-flow time, ends, and gates.

    Pair ``o * k + d`` goes from place ``o`` to place ``d`` (``k`` places, in the
    order of ``nodes``), as :mod:`sim.core.demand` numbers them.

    Parameters
    ----------
    network : RoadNetwork
        The roads (free-flow routes come from its cache).
    nodes : list of str
        The demand places' nodes.
    """

    def __init__(self, network: RoadNetwork, nodes: list[str]) -> None:
        self.nodes = nodes
        k = self.k = len(nodes)
        self.routes: list[Route] = [network.route(o, d) for o in nodes for d in nodes]
        self.free_flow_min = np.array([r.cum_min[-1] for r in self.routes], dtype=float)
        self.max_free_flow = float(self.free_flow_min.max()) if k else 0.0
        pairs = np.arange(k * k)
        # the fleet parks by node: places on one node share their vehicles
        node_index = {node: i for i, node in enumerate(dict.fromkeys(nodes))}
        self.n_nodes = len(node_index)
        at = np.array([node_index[n] for n in nodes], dtype=np.int64)
        self.origin_node = at[pairs // k] if k else pairs
        self.destination_node = at[pairs % k] if k else pairs
        self._gates: dict[Gate, GateTable | None] = {}
        self._passing: dict[Gate, list[tuple[int, int]]] | None = None

    def gate(self, gate: Gate) -> GateTable | None:
        """Where ``gate`` lies on each pair's route, or None if no route passes it."""
        if self._passing is None:  # every gate's (pair, road index), in one pass
            self._passing = {}
            for p, route in enumerate(self.routes):
                for j, (road, node) in enumerate(zip(route.roads, route.nodes[1:],
                                                     strict=True)):
                    self._passing.setdefault(road, []).append((p, j))
                    self._passing.setdefault(node, []).append((p, j))
        if gate not in self._gates:
            passing = self._passing.get(gate)
            table = None
            if passing:
                n = len(self.routes)
                jpos = np.full(n, -1, dtype=np.int64)
                cum_at, cum_after = np.full(n, np.nan), np.full(n, np.nan)
                for p, j in passing:
                    cum = self.routes[p].cum_min
                    jpos[p], cum_at[p], cum_after[p] = j, cum[j], cum[j + 1]
                table = GateTable(jpos, cum_at, cum_after, float(np.nanmax(cum_after)))
            self._gates[gate] = table
        return self._gates[gate]


def on_road(day: Day, table: GateTable, now: float) -> np.ndarray:
    """Trips of ``day`` on the road a gate shuts at ``now`` (not yet through it), by index.

    The test is the reference engine's, float for float: reached the road
    (``depart + cum_at <= now``) and not yet at its end (``now < depart + cum_after``).
    """
    lo = int(np.searchsorted(day.depart, now - table.max_after - 1.0, "left"))
    hi = int(np.searchsorted(day.depart, now, "right"))
    pair, depart = day.pair[lo:hi], day.depart[lo:hi]
    with np.errstate(invalid="ignore"):
        hit = ((table.jpos[pair] >= 0) & ~day.special[lo:hi]
               & (depart + table.cum_at[pair] <= now) & (now < depart + table.cum_after[pair]))
    return lo + np.flatnonzero(hit)


def reaching(day: Day, table: GateTable,
             now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trips of ``day`` still to reach a gate after ``now``: indices, when, and at which road.

    A trip under way must reach it before it would arrive (the reference engine's
    ``reach < event_time``); one yet to leave checks its whole route on leaving.
    """
    lo = int(np.searchsorted(day.depart, now - table.max_after - 1.0, "left"))
    pair, depart = day.pair[lo:], day.depart[lo:]
    reach = depart + table.cum_at[pair]
    with np.errstate(invalid="ignore"):
        hit = ((table.jpos[pair] >= 0) & ~day.special[lo:] & (reach > now)
               & ((depart > now) | (reach < day.arrive[lo:])))
    index = np.flatnonzero(hit)
    return lo + index, reach[index], table.jpos[pair[index]]
