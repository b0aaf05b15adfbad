"""Route planning weights, and the least-cost trees a network keeps per weight.

A *weight* says how a road's cost is reckoned when a route is planned:
``"minutes"`` (free-flow time), or free-flow minutes times a factor given by
the road's name or class (a force's route preference, ``[forces.X.routing]``).
Its name spells out the factors (:func:`weight_name`), so the name alone says
how to compute it, and two runs with the same preference share their trees.

Nothing here writes to the graph: a :class:`RouteCache` can be shared by every
run in a process on the same network (:func:`sim.io.networks.load_network`
hands out copies of a network that share one). Runs that sweep route
preferences make a new weight each; only the last :data:`MAX_WEIGHTS` keep
their trees (``"minutes"`` always does).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx

MINUTES = "minutes"
_PREFIX = "minutes@"

#: Route preferences whose trees a cache keeps (beyond ``"minutes"``), the latest used.
MAX_WEIGHTS = 32

#: An edge's cost: ``cost(u, v, data)``, as networkx's weight functions take it.
Cost = Callable[[str, str, dict], float]


def _minutes(u: str, v: str, data: dict) -> float:
    return data["minutes"]


def weight_name(road_class: Mapping[str, float], road_name: Mapping[str, float]) -> str:
    """The weight of free-flow minutes times a factor per road name, else class, else 1."""
    if not road_class and not road_name:
        return MINUTES
    return _PREFIX + json.dumps({"class": dict(sorted(road_class.items())),
                                 "name": dict(sorted(road_name.items()))},
                                separators=(",", ":"))


def cost_of(weight: str) -> Cost:
    """The cost function of ``weight``, as networkx plans with it."""
    if weight == MINUTES:
        return _minutes
    if not weight.startswith(_PREFIX):
        raise ValueError(f"unknown route weight {weight!r} (make one with weight_name)")
    factors = json.loads(weight[len(_PREFIX):])
    by_class, by_name = factors["class"], factors["name"]

    def cost(u: str, v: str, data: dict) -> float:
        return data["minutes"] * by_name.get(data["road"], by_class.get(data["road_class"], 1.0))

    return cost


class RouteCache:
    """Shortest-path trees and routes per weight, for one graph (safe to share).

    Each weight's entry is (its cost, trees by origin, routes by origin and
    destination). Entries are added under a lock and dropped whole, so readers
    in other threads (a Dask worker's) never see one half made.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Cost, dict[str, Any], dict[tuple[str, str], Any]]] = {}
        self._lock = threading.Lock()

    def entry(self, weight: str) -> tuple[Cost, dict[str, Any], dict[tuple[str, str], Any]]:
        """The cost, trees and routes of ``weight`` (made on first use)."""
        found = self._entries.get(weight)
        if found is not None:
            return found
        with self._lock:
            found = self._entries.get(weight)
            if found is None:
                custom = [w for w in self._entries if w != MINUTES]
                for old in custom[:max(0, len(custom) - MAX_WEIGHTS + 1)]:
                    del self._entries[old]
                found = self._entries[weight] = (cost_of(weight), {}, {})
        return found

    def tree(self, graph: nx.DiGraph, origin: str, weight: str) -> dict[str, list[str]]:
        """The paths of least ``weight`` from ``origin`` to every node."""
        cost, trees, _ = self.entry(weight)
        tree = trees.get(origin)
        if tree is None:
            _, tree = nx.single_source_dijkstra(graph, origin, weight=cost)
            trees[origin] = tree
        return tree

    def __len__(self) -> int:
        return len(self._entries)
