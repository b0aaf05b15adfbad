"""Bind a scenario to its road network: load it, attach places, check every reference."""

from __future__ import annotations

import difflib
from pathlib import Path

from sim.core.network import BUILTIN, Place, RoadNetwork
from sim.errors import InputError, Problem
from sim.io.networks import load_network
from sim.scenario.schema import ScenarioSpec


def network_path(spec: ScenarioSpec, scenario_path: Path | None) -> str:
    """The network a scenario names: ``"builtin"``, or a file's absolute path.

    A relative ``network`` is relative to the scenario file (not to the working
    folder), so a run records a path that works from anywhere.
    """
    if spec.network == BUILTIN:
        return BUILTIN
    path = Path(spec.network).expanduser()
    if not path.is_absolute() and scenario_path is not None:
        path = scenario_path.parent / path
    return str(path.resolve())


def build_network(spec: ScenarioSpec, scenario_path: Path | None = None) -> RoadNetwork:
    """The scenario's network with its ``[places]`` snapped on and all references checked.

    Raises
    ------
    InputError
        If the network is broken, or the scenario names a place or force that
        does not exist; all such problems are listed together.
    """
    source = scenario_path or spec.name
    network = load_network(network_path(spec, scenario_path))
    problems = []
    for pid, p in sorted(spec.places.items()):
        try:
            network.add_place(Place(pid, p.name or pid, p.kind, p.lat, p.lon, p.population,
                                    p.force, p.country))
        except InputError as exc:
            problems.extend(exc.problems)
    problems += check_references(spec, network)
    if problems:
        raise InputError(source, problems)
    return network


def check_references(spec: ScenarioSpec, network: RoadNetwork) -> list[Problem]:
    """Problems with the places and forces a scenario names (empty if none)."""
    problems: list[Problem] = []
    known_places = sorted(network.places) or sorted(network.graph)

    def place(field: str, value: str | None) -> None:
        if value is None or network.has_place(value):
            return
        close = difflib.get_close_matches(value, known_places, n=3)
        fix = f"did you mean {' or '.join(close)}?" if close else (
            "name a place of the network, or add it under [places] with lat and lon")
        problems.append(Problem(field, f"= {value!r} is not a place of the network", fix))

    def force(field: str, value: str) -> None:
        if value not in spec.forces:
            problems.append(Problem(field, f"= {value!r} is not a force of this scenario",
                                    f"forces: {', '.join(spec.forces)}"))

    for fid, f in spec.forces.items():
        place(f"forces.{fid}.helicopter_base", f.helicopter_base)
        if f.blocking is not None:
            place(f"forces.{fid}.blocking.base", f.blocking.base)
    for i, pair in enumerate(spec.rivalries):
        for j, fid in enumerate(pair):
            force(f"rivalries[{i}][{j}]", fid)
        if pair[0] == pair[1]:
            problems.append(Problem(f"rivalries[{i}]", "pairs a force with itself",
                                    "name two different forces"))
    for mid, m in spec.missions.items():
        force(f"missions.{mid}.force", m.force)
        place(f"missions.{mid}.base", m.base)
        place(f"missions.{mid}.target", m.target)
        for k, stop in enumerate(m.via):
            place(f"missions.{mid}.via[{k}]", stop)
    for vid, v in spec.villagers.items():
        place(f"villagers.{vid}.place", v.place)
        for k, fid in enumerate(v.oppose):
            force(f"villagers.{vid}.oppose[{k}]", fid)
    for k, pid in enumerate(spec.civilians.exclude):
        place(f"civilians.exclude[{k}]", pid)
    return problems
