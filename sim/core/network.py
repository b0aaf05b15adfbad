"""Road graph: places, directed roads and free-flow routes, checked on construction.

Nodes are places (towns, villages, bases, crossings, junctions) or, on a user's
network, street intersections. Edges are directed roads with ``length_km``,
``speed_kmh`` and ``minutes`` (free-flow travel time). A *road key* names a road
regardless of direction, so a closure shuts both carriageways. Reading networks
from files is ``sim.io.networks``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Set
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import networkx as nx

from sim.core.routing import MINUTES, RouteCache, cost_of
from sim.errors import InputError, Problem

EARTH_RADIUS_KM = 6371.0088
BUILTIN = "builtin"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points, km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def road_key(u: str, v: str) -> tuple[str, str]:
    """Direction-free name of the road between ``u`` and ``v``."""
    return (u, v) if u <= v else (v, u)


@dataclass(frozen=True, slots=True)
class Place:
    """A named node: where scenarios send patrols and civilians."""

    id: str
    name: str
    kind: str
    lat: float
    lon: float
    population: int | None = None
    force: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """A path through the network with cumulative free-flow times.

    Attributes
    ----------
    nodes : tuple of str
        Node ids from origin to destination.
    cum_min : tuple of float
        Free-flow minutes from the origin to each node (``cum_min[0] == 0``).
    roads : tuple of tuple
        Road key of each hop (``len(nodes) - 1`` of them).
    length_km : float
        Total length.
    """

    nodes: tuple[str, ...]
    cum_min: tuple[float, ...]
    roads: tuple[tuple[str, str], ...]
    length_km: float

    @property
    def free_flow_min(self) -> float:
        """Free-flow travel time of the whole route, minutes."""
        return self.cum_min[-1]


class RoadNetwork:
    """A directed road graph with places, validated on construction.

    Build one with :func:`sim.io.networks.load_network` (the built-in network or a
    GraphML file) or :meth:`from_tables`.

    Parameters
    ----------
    graph : networkx.DiGraph
        Nodes carry ``lat`` and ``lon``; edges carry ``length_km``, ``speed_kmh``,
        ``road`` and ``road_class``.
    source : str
        Where the network came from (``"builtin"`` or a file path), for messages.
    places : dict of str to Place, optional
        Named places, keyed by id; each id is a node of ``graph``.
    borders : dict of str to list of (lat, lon), optional
        International borders, for maps.
    n_dropped : int
        Nodes dropped on load because they lie outside the largest strongly
        connected component.
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        source: str,
        places: dict[str, Place] | None = None,
        borders: dict[str, list[tuple[float, float]]] | None = None,
        n_dropped: int = 0,
    ) -> None:
        self.graph = graph
        self.source = source
        self.places = dict(places or {})
        self.borders = dict(borders or {})
        self.n_dropped = n_dropped
        for _, _, data in graph.edges(data=True):
            data["minutes"] = 60.0 * data["length_km"] / data["speed_kmh"]
        nx.freeze(graph)  # shared by copies (see copy): no road may be added or removed
        self._routes = RouteCache()
        self._nearest: dict[tuple[float, float], tuple[str, float]] = {}
        self._aliases: dict[str, str] = {}
        self._place_by_node: dict[str, str] = {pid: pid for pid in self.places}

    def copy(self) -> RoadNetwork:
        """A copy with places of its own, sharing the graph and the planned routes.

        The graph is read-only (frozen, and route preferences are never written to
        it), so copies share its routes: a sweep plans each route once a process.
        """
        new = object.__new__(RoadNetwork)
        new.__dict__.update(self.__dict__)
        new.places, new.borders = dict(self.places), dict(self.borders)
        new._aliases, new._place_by_node = dict(self._aliases), dict(self._place_by_node)
        return new

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_tables(
        cls,
        place_rows: Iterable[dict[str, str]],
        road_rows: Iterable[dict[str, str]],
        border_rows: Iterable[dict[str, str]] = (),
        source: str = BUILTIN,
    ) -> RoadNetwork:
        """Build from place and road rows (the columns of ``sim/data/*.csv``)."""
        problems: list[Problem] = []
        graph = nx.DiGraph()
        places: dict[str, Place] = {}
        for i, row in enumerate(place_rows):
            try:
                place = Place(
                    id=row["id"],
                    name=row["name"],
                    kind=row["kind"],
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    population=int(row["population"]) if row.get("population") else None,
                    force=row.get("force", ""),
                    country=row.get("country", ""),
                )
            except (KeyError, ValueError) as exc:
                problems.append(Problem(f"places[{i}]", f"is malformed: {exc}",
                                        "see seeds/README.md"))
                continue
            places[place.id] = place
            graph.add_node(place.id, lat=place.lat, lon=place.lon, name=place.name)
        for i, row in enumerate(road_rows):
            u, v = row.get("from", ""), row.get("to", "")
            for end in (u, v):
                if end not in places:
                    problems.append(Problem(f"roads[{i}].from/to", f"names unknown place {end!r}"))
            try:
                length, speed = float(row["length_km"]), float(row["speed_kmh"])
            except (KeyError, ValueError) as exc:
                problems.append(Problem(f"roads[{i}]", f"is malformed: {exc}"))
                continue
            if not length > 0 or not speed > 0:
                problems.append(
                    Problem(f"roads[{i}] {u}--{v}", "has a non-positive length or speed", "> 0")
                )
                continue
            attrs = dict(length_km=length, speed_kmh=speed, road=row.get("road", ""),
                         road_class=row.get("class", ""))
            graph.add_edge(u, v, **attrs)
            graph.add_edge(v, u, **attrs)
        borders: dict[str, list[tuple[float, float]]] = {}
        for row in sorted(border_rows, key=lambda r: (r["border"], int(r["seq"]))):
            borders.setdefault(row["border"], []).append((float(row["lat"]), float(row["lon"])))
        if problems:
            raise InputError(source, problems)
        network = cls(graph, source, places, borders)
        network.check()
        return network

    def check(self) -> None:
        """Raise InputError unless the network is non-empty and strongly connected."""
        if self.graph.number_of_nodes() == 0 or self.graph.number_of_edges() == 0:
            raise InputError.single(self.source, "network", "is empty",
                                    "give a file with at least two connected nodes")
        if not nx.is_strongly_connected(self.graph):
            parts = sorted(nx.strongly_connected_components(self.graph), key=len)
            stray = sorted(parts[0])[:5]
            raise InputError.single(
                self.source, "roads", f"do not connect the network: {len(parts)} separate parts, "
                f"e.g. {', '.join(stray)} cannot reach the rest", "add the missing roads")

    # -- places -------------------------------------------------------------------------

    def add_place(self, place: Place, snap_km: float = 5.0) -> str:
        """Attach a named place to the nearest node; return that node's id.

        Raises
        ------
        InputError
            If the nearest node is more than ``snap_km`` away.
        """
        node, dist = self.nearest_node(place.lat, place.lon)
        if dist > snap_km:
            raise InputError.single(
                self.source, f"places.{place.id}", f"lies {dist:.1f} km from the nearest road node",
                f"give coordinates within {snap_km:g} km of the network")
        self.places[place.id] = Place(place.id, place.name, place.kind, self.lat(node),
                                      self.lon(node), place.population, place.force, place.country)
        self._aliases[place.id] = node
        self._place_by_node[node] = place.id
        return node

    def node_of(self, place_id: str) -> str:
        """Node id of a place id (the same id on the built-in network)."""
        return self._aliases.get(place_id, place_id)

    def has_place(self, place_id: str) -> bool:
        """Whether ``place_id`` names a place or a node."""
        return place_id in self._aliases or place_id in self.graph

    def place_id(self, node: str) -> str:
        """The place id at ``node`` if it has one, else the node id."""
        return self._place_by_node.get(node, node)

    def nearest_node(self, lat: float, lon: float) -> tuple[str, float]:
        """The node nearest to a point and its distance, km (kept, for copies too)."""
        found = self._nearest.get((lat, lon))
        if found is None:
            best, best_d = "", math.inf
            for node, data in self.graph.nodes(data=True):
                d = haversine_km(lat, lon, data["lat"], data["lon"])
                if d < best_d:
                    best, best_d = node, d
            found = self._nearest[(lat, lon)] = (best, best_d)
        return found

    def lat(self, node: str) -> float:
        """Latitude of a node."""
        return self.graph.nodes[node]["lat"]

    def lon(self, node: str) -> float:
        """Longitude of a node."""
        return self.graph.nodes[node]["lon"]

    def point_on_road(self, u: str, v: str, km_from_u: float) -> tuple[float, float]:
        """(lat, lon) of a point ``km_from_u`` along the road u→v (straight line)."""
        frac = min(max(km_from_u / self.length_km(u, v), 0.0), 1.0)
        return (self.lat(u) + frac * (self.lat(v) - self.lat(u)),
                self.lon(u) + frac * (self.lon(v) - self.lon(u)))

    # -- roads and routes ---------------------------------------------------------------

    def length_km(self, u: str, v: str) -> float:
        """Length of the road u→v, km."""
        return self.graph.edges[u, v]["length_km"]

    def minutes(self, u: str, v: str) -> float:
        """Free-flow travel time of the road u→v, minutes."""
        return self.graph.edges[u, v]["minutes"]

    def route(self, origin: str, destination: str, weight: str = MINUTES) -> Route:
        """The route of least ``weight`` (see :mod:`sim.core.routing`), planned once."""
        _, _, routes = self._routes.entry(weight)
        route = routes.get((origin, destination))
        if route is None:
            tree = self._routes.tree(self.graph, origin, weight)
            route = routes[(origin, destination)] = self.make_route(tree[destination])
        return route

    def detour(self, origin: str, destination: str, closed_roads: Set[tuple[str, str]],
               closed_nodes: Set[str], weight: str = MINUTES) -> Route | None:
        """The route of least ``weight`` avoiding closed roads and places, or None."""
        if destination in closed_nodes:
            return None
        base = cost_of(weight)

        def cost(u: str, v: str, data: dict) -> float | None:
            if v in closed_nodes or road_key(u, v) in closed_roads:
                return None
            return base(u, v, data)

        try:
            nodes = nx.dijkstra_path(self.graph, origin, destination, weight=cost)
        except nx.NetworkXNoPath:
            return None
        return self.make_route(nodes)

    def route_via(self, stops: list[str], weight: str = MINUTES) -> Route:
        """The route of least ``weight`` through ``stops`` in order."""
        nodes = [stops[0]]
        for a, b in pairwise(stops):
            nodes.extend(self.route(a, b, weight).nodes[1:])
        return self.make_route(nodes)

    def make_route(self, nodes: list[str] | tuple[str, ...]) -> Route:
        """A Route through the given nodes (consecutive nodes must be joined by roads)."""
        cum, length = [0.0], 0.0
        edges = self.graph.edges
        for u, v in pairwise(nodes):
            data = edges[u, v]
            cum.append(cum[-1] + data["minutes"])
            length += data["length_km"]
        roads = tuple(road_key(u, v) for u, v in pairwise(nodes))
        return Route(tuple(nodes), tuple(cum), roads, length)

    def drive_minutes(self, nodes: tuple[str, ...] | list[str], speed_kmh: float) -> list[float]:
        """Cumulative minutes along ``nodes`` for a vehicle no faster than ``speed_kmh``."""
        cum = [0.0]
        edges = self.graph.edges
        for u, v in pairwise(nodes):
            data = edges[u, v]
            cum.append(cum[-1] + 60.0 * data["length_km"] / min(speed_kmh, data["speed_kmh"]))
        return cum

    @cached_property
    def crossroads(self) -> frozenset[str]:
        """Nodes where three or more roads meet."""
        graph = self.graph
        return frozenset(n for n in graph
                         if len(set(graph.predecessors(n)) | set(graph.successors(n))) >= 3)

    def bbox(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) of the nodes, degrees."""
        lats = [d["lat"] for _, d in self.graph.nodes(data=True)]
        lons = [d["lon"] for _, d in self.graph.nodes(data=True)]
        return min(lats), min(lons), max(lats), max(lons)

    # -- description --------------------------------------------------------------------

    def summary(self) -> dict:
        """Headline figures: nodes, places, roads, km, classes, bounding box, dropped nodes."""
        keys = {road_key(u, v): d for u, v, d in self.graph.edges(data=True)}
        classes: dict[str, int] = {}
        for d in keys.values():
            classes[d["road_class"] or "unknown"] = classes.get(d["road_class"] or "unknown", 0) + 1
        kinds: dict[str, int] = {}
        for p in self.places.values():
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        return {
            "source": self.source,
            "nodes": self.graph.number_of_nodes(),
            "places": len(self.places),
            "places_by_kind": dict(sorted(kinds.items())),
            "roads": len(keys),
            "one_way_edges": sum(1 for u, v in self.graph.edges if not self.graph.has_edge(v, u)),
            "road_km": round(sum(d["length_km"] for d in keys.values()), 1),
            "roads_by_class": dict(sorted(classes.items())),
            "bbox": list(self.bbox()),
            "dropped_nodes": self.n_dropped,
            "unread_maxspeed": list(self.graph.graph.get("unread_maxspeed", [])),
        }
