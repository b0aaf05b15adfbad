"""Tiny real networks and scenarios on disk, for tests with hand-computable answers.

Networks are written as GraphML in the shape OSMnx exports (string attributes,
``x``/``y`` in degrees, ``length`` in metres), so every test also exercises the
loader users rely on. Nodes sit 0.01 degrees apart (about 1 km); lengths and
speeds are chosen so that travel times are round numbers.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import networkx as nx
import pytest

LAT0, LON0 = 37.0, 42.0


def write_graphml(path: Path, nodes: dict[str, tuple[float, float]],
                  roads: list[tuple], one_way: bool = False) -> Path:
    """Write an OSMnx-style GraphML: nodes {id: (lat, lon)}, roads (u, v, km, km/h[, class])."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (lat, lon) in nodes.items():
        graph.add_node(node, x=str(lon), y=str(lat), street_count="2")
    for u, v, km, kmh, *rest in roads:
        attrs = dict(length=str(km * 1000.0), maxspeed=str(int(kmh)),
                     highway=rest[0] if rest else "primary", oneway=str(one_way),
                     name=f"{u}-{v} road")
        graph.add_edge(u, v, **attrs)
        if not one_way:
            graph.add_edge(v, u, **attrs)
    nx.write_graphml(graph, path)
    return path


def line_nodes(names: str) -> dict[str, tuple[float, float]]:
    """Nodes on an east-west line, 0.01 degrees apart."""
    return {n: (LAT0, LON0 + 0.01 * i) for i, n in enumerate(names)}


def places_toml(nodes: dict[str, tuple[float, float]], kinds: dict[str, str] | None = None,
                population: int = 1000) -> str:
    """``[places.X]`` tables snapping every node as a place."""
    kinds = kinds or {}
    lines = []
    for node, (lat, lon) in nodes.items():
        lines += [f"[places.{node}]", f"lat = {lat}", f"lon = {lon}",
                  f'kind = "{kinds.get(node, "village")}"', f"population = {population}", ""]
    return "\n".join(lines)


QUIET_CIVILIANS = """
[civilians]
trips_per_day = 0
"""

TWO_FORCES = """
rivalries = [["US", "RU"]]

[forces.US.posture]
block = 1.0
give_way = 0.5

[forces.RU.posture]
block = 1.0
give_way = 0.5

[encounters]
duration_median_h = 2.0
duration_sigma = 0.0
helicopter_stakes = 0.0
"""


@pytest.fixture
def write_scenario(tmp_path: Path):
    """Write a scenario (and its network) into ``tmp_path``; return the scenario's path."""

    def write(body: str, nodes: dict | None = None, roads: list | None = None,
              name: str = "test", kinds: dict | None = None, one_way: bool = False) -> Path:
        header = f'name = "{name}"\ndays = 1\nstart = 2020-06-01T00:00:00\n'
        body = textwrap.dedent(body)
        if nodes is not None:
            write_graphml(tmp_path / f"{name}.graphml", nodes, roads or [], one_way)
            header += f'network = "{name}.graphml"\n'
            body = body + "\n" + places_toml(nodes, kinds)
        path = tmp_path / f"{name}.toml"
        path.write_text(header + body, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def baseline_run():
    """The baseline, 7 days, seed 7 (shared by read-only tests)."""
    import sim

    return sim.run("derik-june-2020", seed=7, days=7)


def toml_value(value) -> str:
    """A Python value as a TOML literal."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def toml_tables(tables: dict[str, dict]) -> str:
    """``{"forces.US.posture": {"block": 1.0}}`` → TOML tables (``None`` values left out)."""
    out = []
    for name, fields in tables.items():
        out.append(f"[{name}]")
        out += [f"{key} = {toml_value(value)}" for key, value in fields.items()
                if value is not None]
        out.append("")
    return "\n".join(out)


def two_patrols(us=None, ru=None, us_posture=None, ru_posture=None, encounters=None,
                tables=None, civilians=None) -> str:
    """US from a to d and RU from d to a, both leaving at 01:00 at 60 km/h, both blocking.

    Keyword dicts update the defaults; ``tables`` adds more TOML tables.
    """
    body = {
        "forces.US.posture": {"block": 1.0, **(us_posture or {})},
        "forces.RU.posture": {"block": 1.0, **(ru_posture or {})},
        "missions.us": {"force": "US", "base": "a", "target": "d", "schedule_h": [1.0],
                        "speed_kmh": 60.0, "dwell_h": 0.5, **(us or {})},
        "missions.ru": {"force": "RU", "base": "d", "target": "a", "schedule_h": [1.0],
                        "speed_kmh": 60.0, "dwell_h": 0.5, **(ru or {})},
        "encounters": {"duration_median_h": 2.0, "duration_sigma": 0.0,
                       "helicopter_stakes": 0.0, **(encounters or {})},
        "civilians": {"trips_per_day": 0, **(civilians or {})},
        **(tables or {}),
    }
    return 'rivalries = [["US", "RU"]]\n' + toml_tables(body)


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """The ``sim`` command in this process: ``run_cli(*args, cwd=...)`` → (status, out, err)."""
    from sim.cli import main

    def run(*args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
