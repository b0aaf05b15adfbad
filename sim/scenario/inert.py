"""Settings that validate but can never take effect, found before a run.

A scenario can be valid field by field and still hold a number that changes
nothing: a force told to deploy blocking positions with no ``blocking`` table,
or whose rivals never drive towards what it protects, or whose crossroads it
can never reach ahead of them. Only what a scenario fixes in advance is
judged: a setting that might act on a detour is never reported. ``sim validate``
prints these as warnings; they are not errors, since a scenario may switch a
mechanism off on purpose.
"""

from __future__ import annotations

from sim.core.blocking import approach_crossroads
from sim.core.network import RoadNetwork, Route
from sim.core.routing import weight_name
from sim.scenario.schema import Force, ScenarioSpec


def inert_settings(spec: ScenarioSpec, network: RoadNetwork) -> list[str]:
    """Warnings, one a line, about settings of ``spec`` that cannot take effect on ``network``."""
    warnings: list[str] = []
    rivalries = spec.rival_pairs()
    for fid, force in sorted(spec.forces.items()):
        deploy = force.posture.deploy_blocking
        where = f"forces.{fid}"
        if deploy > 0 and force.blocking is None:
            warnings.append(f"{where}.posture.deploy_blocking = {deploy:g} has no effect: the "
                            f"force has no [{where}.blocking] table (base, protect)")
        elif force.blocking is not None and deploy == 0:
            warnings.append(f"[{where}.blocking] has no effect: {where}.posture."
                            "deploy_blocking is 0")
        elif force.blocking is not None and not _can_deploy(spec, network, fid, force,
                                                            rivalries):
            warnings.append(
                f"{where}.posture.deploy_blocking = {deploy:g} can never take effect: no rival "
                f"mission's route into {', '.join(force.blocking.protect) or '(nothing)'} has "
                f"a crossroads within {force.blocking.within_km:g} km of it that a position "
                f"from {force.blocking.base} reaches {force.blocking.lead_min:g} min ahead "
                "(widen within_km, lower lead_min, move the base, or protect another place)")
    return warnings


def _route(spec: ScenarioSpec, network: RoadNetwork, fid: str, base: str,
           stops: tuple[str, ...]) -> Route:
    routing = spec.forces[fid].routing
    return network.route_via([network.node_of(p) for p in (base, *stops)],
                             weight_name(routing.road_class, routing.road_name))


def _can_deploy(spec: ScenarioSpec, network: RoadNetwork, fid: str, force: Force,
                rivalries: frozenset[frozenset[str]]) -> bool:
    """Whether this force's blocking can ever go out, on any of its triggers.

    ``approach`` is decided on a rival mission's planned route, so it is checked
    exactly. ``villagers`` can fire on any road a rival drives (detours and
    routes home included), so it counts as possible whenever villagers who
    oppose a rival may block at a protected place.
    """
    blocking = force.blocking
    rivals = {f for pair in rivalries if fid in pair for f in pair if f != fid}
    protected = {network.node_of(p) for p in blocking.protect}
    if "villagers" in blocking.triggers and any(
            v.block > 0 and network.node_of(v.place) in protected and rivals & set(v.oppose)
            for v in spec.villagers.values()):
        return True
    if "approach" not in blocking.triggers:
        return False
    for m in spec.missions.values():
        if m.force not in rivals:
            continue
        route = _route(spec, network, m.force, m.base, (*m.via, m.target))
        hit = next((n for n in route.nodes[1:] if n in protected), None)
        if hit is not None and approach_crossroads(
                network, route.nodes, hit, blocking,
                network.drive_minutes(route.nodes, m.speed_kmh)) is not None:
            return True
    return False
