"""Where road networks come from: the built-in tables shipped with the package, or GraphML."""

from __future__ import annotations

import csv
import hashlib
import logging
import threading
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


#: Networks read by this process, by source and content (see load_network), the latest last.
_LOADED: dict[tuple, RoadNetwork] = {}
_LOCK = threading.Lock()

#: How many networks a process keeps read.
KEEP_NETWORKS = 4


def load_network(source: str | Path) -> RoadNetwork:
    """The built-in network for ``"builtin"``, else the GraphML file at ``source``.

    A network is read once a process (again if its file's content changes): each call
    returns a copy with its own places that shares the read-only graph and its
    planned routes (:meth:`RoadNetwork.copy`), so a sweep's runs neither re-read
    the file nor plan the same routes again.
    """
    if str(source) == BUILTIN:
        key: tuple = (BUILTIN,)
    else:
        path = Path(source).resolve()
        try:
            key = (str(path), hashlib.sha256(path.read_bytes()).hexdigest())
        except OSError:  # read_graphml names the problem
            return read_graphml(source)
    with _LOCK:  # a Dask worker runs several runs at once, in threads
        network = _LOADED.pop(key, None)
        if network is None:
            network = builtin_network() if key[0] == BUILTIN else read_graphml(source)
        _LOADED[key] = network
        while len(_LOADED) > KEEP_NETWORKS:
            del _LOADED[next(iter(_LOADED))]
    return network.copy()
