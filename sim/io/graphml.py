"""Read a GraphML road network in the shape OSMnx exports it.

OSMnx writes every attribute as a string: node ``x`` (longitude) and ``y``
(latitude), edge ``length`` in metres, ``maxspeed`` as "50", "25 mph", a
stringified list such as "['30', '50']", or nothing; ``highway`` likewise.
"""

from __future__ import annotations

import ast
import math
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
MPH_TO_KMH = 1.609344
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


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


def parse_maxspeed(value: object, highway: object = "") -> float:
    """Speed in km/h from an OSM ``maxspeed`` tag, falling back on ``highway`` class.

    Examples
    --------
    >>> parse_maxspeed("25 mph")
    40.2336
    >>> parse_maxspeed("['30', '50']")
    40.0
    >>> parse_maxspeed(None, "primary")
    70.0
    """
    speeds = []
    if value is not None and str(value).strip():
        text = str(value)
        for part in ast.literal_eval(text) if text.strip().startswith("[") else [text]:
            numbers = _NUMBER.findall(str(part))
            if numbers:
                speed = float(numbers[0])
                speeds.append(speed * MPH_TO_KMH if "mph" in str(part) else speed)
    speeds = [s for s in speeds if s > 0]
    if speeds:
        return round(sum(speeds) / len(speeds), 4)
    return DEFAULT_SPEED_KMH.get(_first(highway), FALLBACK_SPEED_KMH)


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
    for u, v, data in edges:
        try:
            length_km = float(data["length"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(f"edge {u}->{v}", "lacks a numeric 'length'",
                                    "length in metres, as OSMnx writes it"))
            continue
        if not length_km > 0 or math.isinf(length_km):
            problems.append(Problem(f"edge {u}->{v}", f"length = {data['length']} must be > 0"))
            continue
        u, v = str(u), str(v)
        if u == v or u not in graph or v not in graph:
            continue
        speed = parse_maxspeed(data.get("maxspeed"), data.get("highway", ""))
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
    return graph, n_all - len(largest)
