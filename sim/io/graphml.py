"""Read a GraphML road network in the shape OSMnx exports it.

OSMnx writes every attribute as a string: node ``x`` (longitude) and ``y``
(latitude), edge ``length`` in metres, ``maxspeed`` as "50", "25 mph", a
stringified list such as "['30', '50']", or nothing; ``highway`` likewise.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import networkx as nx

from sim.errors import InputError, Problem

#: Free-flow speed by OSM ``highway`` class when ``maxspeed`` is missing, km/h (assumed).
DEFAULT_SPEED_KMH = {
    "motorway": 100.0, "trunk": 80.0, "primary": 70.0, "secondary": 60.0, "tertiary": 50.0,
    "unclassified": 40.0, "residential": 30.0, "living_street": 10.0, "service": 20.0,
    "track": 20.0, "road": 40.0,
}
FALLBACK_SPEED_KMH = 40.0
#: Above this a ``maxspeed`` is taken as a tagging error (km/h).
MAX_SPEED_KMH = 300.0
#: Above this an edge's ``length`` is taken as an error (km): no road link is this long.
MAX_EDGE_KM = 1000.0
MPH_TO_KMH = 1.609344
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _first(value: object) -> str:
    """The first item of an OSM tag that may be a stringified list."""
    text = str(value).strip()
    if text.startswith("["):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return str(items[0]) if items else ""
    return text


def maxspeed_kmh(value: object) -> float | None:
    """Speed in km/h from an OSM ``maxspeed`` tag, or None if it holds no usable speed.

    Takes "50", "25 mph", a list (``"['30', '50']"``: their mean) and malformed
    lists (``"[30"``: the numbers in it); a tag with no number, or none between 0
    and :data:`MAX_SPEED_KMH`, gives None.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value)
    parts: list = [text]
    if text.strip().startswith("["):
        try:
            parsed = ast.literal_eval(text)
            parts = list(parsed) if isinstance(parsed, (list, tuple)) else [parsed]
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parts = text.strip("[]").split(",")
    speeds = []
    for part in parts:
        numbers = _NUMBER.findall(str(part))
        if numbers:
            speed = float(numbers[0])
            speeds.append(speed * MPH_TO_KMH if "mph" in str(part) else speed)
    speeds = [v for v in speeds if 0 < v <= MAX_SPEED_KMH]
    return round(sum(speeds) / len(speeds), 4) if speeds else None


def parse_maxspeed(value: object, highway: object = "") -> float:
    """Speed in km/h from an OSM ``maxspeed`` tag, falling back on ``highway`` class.

    Examples
    --------
    >>> parse_maxspeed("25 mph")
    40.2336
    >>> parse_maxspeed("['30', '50']")
    40.0
    >>> parse_maxspeed("[30")
    30.0
    >>> parse_maxspeed(None, "primary")
    70.0
    """
    speed = maxspeed_kmh(value)
    return speed if speed is not None else DEFAULT_SPEED_KMH.get(_first(highway),
                                                                 FALLBACK_SPEED_KMH)


def read_osm_graphml(path: Path, min_component_share: float) -> tuple[nx.DiGraph, int]:
    """Parse and check a GraphML file; return (graph, nodes dropped).

    The graph keeps the largest strongly connected component, with node
    attributes ``lat``, ``lon``, ``name`` and edge attributes ``length_km``,
    ``speed_kmh``, ``road``, ``road_class``.
    """
    if not path.is_file():
        raise InputError.single(path, "network", "does not exist",
                                "give the path of a GraphML file, or 'builtin'")
    try:
        raw = nx.read_graphml(path)
    except (ElementTree.ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise InputError.single(path, "network", f"is not readable GraphML ({exc})",
                                "export the network with osmnx.save_graphml") from None
    if raw.number_of_nodes() == 0:
        raise InputError.single(path, "network", "is empty", "the file has no nodes")
    problems: list[Problem] = []
    graph = nx.DiGraph()
    for node, data in raw.nodes(data=True):
        try:
            lon, lat = float(data["x"]), float(data["y"])
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(f"node {node}", "lacks numeric x/y coordinates",
                                    "x = longitude, y = latitude in degrees"))
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(Problem(f"node {node}", f"has coordinates out of range ({lat}, {lon})",
                                    "x = longitude, y = latitude in degrees (not projected)"))
            continue
        graph.add_node(str(node), lat=lat, lon=lon, name=_first(data.get("name", "")) or str(node))
    edges = raw.edges(data=True)
    unread: list[tuple[str, str, str]] = []  # maxspeed tags with no usable speed
    for u, v, data in edges:
        try:
            length_km = float(data["length"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(f"edge {u}->{v}", "lacks a numeric 'length'",
                                    "length in metres, as OSMnx writes it"))
            continue
        if not 0 < length_km <= MAX_EDGE_KM:
            problems.append(Problem(f"edge {u}->{v}", f"length = {data['length']} must be > 0 "
                                    f"and at most {MAX_EDGE_KM * 1000:g} m",
                                    "length in metres, as OSMnx writes it"))
            continue
        u, v = str(u), str(v)
        if u == v or u not in graph or v not in graph:
            continue
        speed = parse_maxspeed(data.get("maxspeed"), data.get("highway", ""))
        if data.get("maxspeed") not in (None, "") and maxspeed_kmh(data["maxspeed"]) is None:
            unread.append((u, v, str(data["maxspeed"])))
        minutes = 60.0 * length_km / speed
        old = graph.get_edge_data(u, v)
        if old is not None and 60.0 * old["length_km"] / old["speed_kmh"] <= minutes:
            continue  # parallel edge: keep the fastest
        attrs = dict(length_km=length_km, speed_kmh=speed, road=_first(data.get("name", "")),
                     road_class=_first(data.get("highway", "")))
        graph.add_edge(u, v, **attrs)
        if not raw.is_directed():
            graph.add_edge(v, u, **attrs)
    if problems:
        raise InputError(path, problems[:20] + (
            [Problem("", f"... and {len(problems) - 20} more")] if len(problems) > 20 else []))
    if graph.number_of_edges() == 0:
        raise InputError.single(path, "network", "has no usable roads",
                                "the file needs edges with a length between distinct nodes")
    largest = max(nx.strongly_connected_components(graph), key=len)
    n_all = graph.number_of_nodes()
    if len(largest) <= min_component_share * n_all:
        raise InputError.single(
            path, "network", f"is disconnected: its largest strongly connected part holds "
            f"{len(largest)} of {n_all} nodes", "export one connected area (e.g. osmnx "
            "graph_from_place with retain_all=False)")
    graph = graph.subgraph(largest).copy()
    graph.graph["unread_maxspeed"] = unread
    return graph, n_all - len(largest)
