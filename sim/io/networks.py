"""Where road networks come from: the built-in tables shipped with the package, or GraphML."""

from __future__ import annotations

import csv
import logging
from importlib import resources
from pathlib import Path

from sim.core.network import BUILTIN, RoadNetwork
from sim.io.graphml import read_osm_graphml

log = logging.getLogger(__name__)


def builtin_network() -> RoadNetwork:
    """The al-Malikiyah corner network shipped with the package (derived from ``seeds/``)."""
    data = resources.files("sim.data")
    tables = {}
    for name in ("places", "roads", "borders"):
        with (data / f"{name}.csv").open(encoding="utf-8") as f:
            tables[name] = list(csv.DictReader(f))
    return RoadNetwork.from_tables(tables["places"], tables["roads"], tables["borders"],
                                   source=BUILTIN)


def read_graphml(path: str | Path, min_component_share: float = 0.5) -> RoadNetwork:
    """Load a GraphML road network as exported by OSMnx.

    Node ``x``/``y`` are longitude/latitude and edge ``length`` is in metres;
    ``maxspeed`` ("50", "25 mph", a list, or missing) falls back to a speed by
    ``highway`` class. Parallel edges collapse to the fastest. Only the largest
    strongly connected component is kept; how many nodes were dropped is
    recorded in ``n_dropped`` and logged.

    Raises
    ------
    InputError
        If the file is missing, not GraphML, empty, lacks coordinates or
        lengths, or if its largest component holds no more than
        ``min_component_share`` of its nodes.
    """
    graph, n_dropped = read_osm_graphml(Path(path), min_component_share)
    if n_dropped:
        log.warning("%s: dropped %d nodes outside the largest strongly connected component",
                    path, n_dropped)
    network = RoadNetwork(graph, str(path), n_dropped=n_dropped)
    network.check()
    return network


def load_network(source: str | Path) -> RoadNetwork:
    """The built-in network for ``"builtin"``, else the GraphML file at ``source``."""
    return builtin_network() if str(source) == BUILTIN else read_graphml(source)
