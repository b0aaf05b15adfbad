"""Patrols: a convoy that drives to its target, holds it, and drives home, road by road.

A patrol leaves its base at a scheduled time, drives its planned route road by
road (one event per road), holds its target for ``dwell_h``, and drives home.
Routes are planned with its force's preferences (``[forces.X.routing]``). On
the way it may meet rivals or villagers (``sim.core.encounters`` decides).

When it gives way it turns back to its base or, per its posture's ``reroute``,
tries another route to its target. Either way it plans around where it was
stopped (that road, or that place) and around places its rivals hold, for the
rest of the sortie: "forced to return to their base" (``seeds/events.csv``,
E16-E17) does not lead it back into the same standoff. At a road closed by
someone else's standoff it waits, and after ``patrol_patience_min`` takes a
detour if one exists.

A patrol sees the world through a :class:`PatrolWorld` (the clock, the roads,
who is where, the encounter rules) and reports its return through ``on_home``;
it never calls into the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa

from sim.agents.base import SimAgent
from sim.core.events import Event, EventQueue
from sim.core.network import RoadNetwork, Route, road_key
from sim.core.occupancy import Gate, Occupancy, is_road
from sim.scenario.schema import Posture

if TYPE_CHECKING:
    from sim.agents.helicopters import Helicopter
    from sim.core.encounters import Encounters, Standoff


@dataclass(frozen=True, slots=True)
class PatrolWorld:
    """What a moving patrol sees and touches."""

    events: EventQueue
    network: RoadNetwork
    occupancy: Occupancy
    encounters: Encounters
    patience_min: float
    """Minutes it waits at someone else's closure before looking for a detour."""


class Patrol(SimAgent):
    """A convoy of one force on one sortie of a mission.

    Parameters
    ----------
    model : mesa.Model
        The model it belongs to (for Mesa's agent registry only).
    world : PatrolWorld
        The clock, the roads, who is where, and the encounter rules.
    sortie_id : str
        Its id in the logs, ``<mission>-NNN`` in order of departure.
    key : str
        The name of this departure in every scenario (``<mission>/<day>/<rank>``); the
        draws about the sortie are keyed by it.
    mission, force, base : str
        Its mission, force and home node.
    stops : list of str
        The nodes it drives through, its target last.
    vehicles : int
        Convoy size.
    speed_kmh : float
        Its top speed (roads may be slower).
    posture : Posture
        How it behaves in a standoff.
    dwell_min : float
        Minutes it holds its target.
    weight : str
        The edge attribute its force plans routes with (``"minutes"``: the fastest).
    on_home : callable
        Called with the patrol when it is back at base.

    Attributes
    ----------
    status : str
        ``"leaving"`` (setting out), ``"moving"``, ``"holding"`` (at its target),
        ``"waiting"`` (at a closure), ``"standoff"``, ``"at_node"`` or ``"home"``.
    version : int
        Bumped whenever its movement changes, so stale meeting events are ignored.
    met : dict of int to float
        The units it had a standoff with on this sortie, and when each ended.
    avoid_roads, avoid_nodes : set
        Where it was stopped, and rivals' positions then: its later routes avoid them.
    """

    kind = "patrol"

    def __init__(self, model: mesa.Model, world: PatrolWorld, sortie_id: str, key: str,
                 mission: str, force: str, base: str, stops: list[str], vehicles: int,
                 speed_kmh: float, posture: Posture, dwell_min: float, *,
                 weight: str = "minutes", on_home: Callable[[Patrol], None]) -> None:
        super().__init__(model)
        self.world, self.on_home = world, on_home
        self.sortie_id, self.key, self.mission = sortie_id, key, mission
        self.force, self.base = force, base
        self.stops, self.vehicles, self.speed_kmh = stops, vehicles, speed_kmh
        self.posture, self.dwell_min, self.weight = posture, dwell_min, weight
        self.target = stops[-1]
        self.status, self.heading = "at_node", "out"
        self.route: Route | None = None
        self.index = 0
        self.road: tuple[str, str] = ("", "")
        self.road_from = self.road_to = ""
        self.road_enter = self.road_km_per_min = self.road_len_km = 0.0
        self.halted: tuple[str, float] = ("", 0.0)
        self.event: Event | None = None
        self.version = 0
        self.met: dict[int, float] = {}
        self.avoid_roads: set[tuple[str, str]] = set()
        self.avoid_nodes: set[str] = set()
        self.escorts: list[Helicopter] = []
        self.standoff: Standoff | None = None
        self.depart = world.events.now
        self.reached_at = math.nan
        self.end = math.nan
        self.turned_back = self.rerouted = False
        self.n_standoffs = 0

    # -- as a party to a standoff --------------------------------------------------------

    @property
    def strength(self) -> float:
        """Vehicles, as the outcome rule counts them."""
        return float(self.vehicles)

    @property
    def give_way(self) -> float:
        """Chance of giving way to an equally strong rival."""
        return self.posture.give_way

    # -- moving ------------------------------------------------------------------------

    @property
    def _now(self) -> float:
        return self.world.events.now

    def _schedule(self, time: float, callback: Any, *args: Any) -> None:
        self.event = self.world.events.schedule(time, callback, *args)

    def start(self) -> None:
        """Leave the base for the target (unless villagers at the base block the way out)."""
        route = self.world.network.route_via([self.base, *self.stops], self.weight)
        self.route, self.index, self.status = route, 0, "leaving"
        if len(route.nodes) > 1 and self.world.encounters.patrol_leaving(
                self, route.nodes[0], route.nodes[1]):
            return
        self._follow(route)

    def _follow(self, route: Route, km_done: float = 0.0) -> None:
        self.route = route
        if len(route.nodes) == 1:
            self._carry_on(0)
        else:
            self._enter(0, km_done)

    def _enter(self, i: int, km_done: float = 0.0) -> None:
        """Start along road ``i`` of the route unless it, or the place it leads to, is shut."""
        u, v = self.route.nodes[i], self.route.nodes[i + 1]
        gate = self.world.occupancy.is_closed(road_key(u, v), v)
        if gate is not None and km_done == 0.0:
            self._wait(gate, i)
            return
        network = self.world.network
        self.index, self.road_from, self.road_to, self.road = i, u, v, road_key(u, v)
        self.road_len_km = network.length_km(u, v)
        self.road_km_per_min = min(self.speed_kmh, network.graph.edges[u, v]["speed_kmh"]) / 60.0
        self.road_enter = self._now - km_done / self.road_km_per_min
        self.status = "moving"
        self.version += 1
        self.world.occupancy.enter_road(self.road, self)
        self._schedule(self.road_enter + self.road_len_km / self.road_km_per_min, self._reach,
                       i + 1)
        self.world.encounters.patrol_entered_road(self)

    def _reach(self, i: int) -> None:
        """Arrive at place ``i`` of the route."""
        self.world.occupancy.leave_road(self.road, self)
        self.version += 1
        self.index, self.status, self.road_from = i, "at_node", ""
        node = self.route.nodes[i]
        if node in self.world.occupancy.closed_nodes:
            self._wait(node, i, arrived=True)
            return
        self._arrived(i)

    def _arrived(self, i: int) -> None:
        came_from = self.route.nodes[i - 1] if i > 0 else None
        at_home = self.heading == "home" and i == len(self.route.nodes) - 1
        if not self.world.encounters.patrol_arrived(self, self.route.nodes[i], came_from,
                                                    at_home=at_home):
            self._carry_on(i)

    def _carry_on(self, i: int) -> None:
        if i < len(self.route.nodes) - 1:
            self._enter(i)
        elif self.heading == "out":
            self._hold_target()
        else:
            self._home()

    def _hold_target(self) -> None:
        node = self.route.nodes[-1]
        self.reached_at = self._now
        self.status = "holding"
        self.world.occupancy.hold(node, self)
        self._schedule(self._now + self.dwell_min, self._leave_target)

    def _leave_target(self) -> None:
        self.world.occupancy.release(self.route.nodes[-1], self)
        self._head_home(self.route.nodes[-1])

    def _head_home(self, node: str, via: list[str] | None = None, km_done: float = 0.0) -> None:
        """Drive home from ``node``, around the places it has learnt to avoid if it can."""
        self.heading = "home"
        network = self.world.network
        route = None
        if self.avoid_roads or self.avoid_nodes:
            route = network.detour(node, self.base, self.avoid_roads, self.avoid_nodes,
                                   self.weight)
        if route is None:
            route = network.route(node, self.base, self.weight)
        self._follow(network.make_route([*(via or []), *route.nodes]), km_done)

    def _home(self) -> None:
        self.status, self.end = "home", self._now
        self.on_home(self)

    # -- waiting at someone else's closure ---------------------------------------------

    def _wait(self, gate: Gate, i: int, arrived: bool = False) -> None:
        self.status, self.index = "waiting", i
        self._waiting = (gate, arrived)
        self.world.occupancy.wait(gate, self)
        self._schedule(self._now + self.world.patience_min, self._detour_around, gate,
                       self.version)

    def gate_reopened(self) -> None:
        """The closure this patrol waited at has ended: go on."""
        if self.status != "waiting":
            return
        self.world.events.cancel(self.event)
        _, arrived = self._waiting
        self.status = "at_node"
        if arrived:
            self._arrived(self.index)
        else:
            self._enter(self.index)

    def _detour_around(self, gate: Gate, version: int) -> None:
        if self.status != "waiting" or self.version != version:
            return
        here, goal = self.route.nodes[self.index], self.route.nodes[-1]
        detour = self._detour_avoiding(here, goal, gate)
        if detour is not None:
            self.world.occupancy.stop_waiting(gate, self)
            self.rerouted = True
            self._follow(detour)

    # -- standoffs ---------------------------------------------------------------------

    def halt(self, standoff: Standoff) -> None:
        """Stop where it is for a standoff."""
        self.world.events.cancel(self.event)
        if self.status == "moving":
            self.halted = ("moving", (self._now - self.road_enter) * self.road_km_per_min)
            self.world.occupancy.leave_road(self.road, self)
        elif self.status == "holding":
            self.halted = ("holding", self.event.time - self._now)
        elif self.status == "leaving":
            self.halted = ("leaving", 0.0)
        else:
            self.halted = ("at_node", 0.0)
        self.status, self.standoff = "standoff", standoff
        self.version += 1
        self.n_standoffs += 1

    def resume(self) -> None:
        """Carry on as before the standoff (it prevailed, or both passed)."""
        state, amount = self.halted
        self.standoff = None
        if state == "moving":
            self._enter(self.index, km_done=amount)
        elif state == "holding":
            self.status = "holding"
            self._schedule(self._now + max(amount, 0.0), self._leave_target)
        elif state == "leaving":
            self._follow(self.route)
        else:
            self.status = "at_node"
            self._carry_on(self.index)

    def give_way_now(self, standoff: Standoff, reroute: bool) -> str:
        """Yield at the end of a standoff; return the outcome label.

        Holding its target, it withdraws home. Still at its base, it stays there.
        Outbound, it tries another route to the target if ``reroute``, else turns
        back to base. Homebound, it takes a way home round the standoff, or, if
        there is none, waits for the rival to pass and carries on. Every later
        route of the sortie avoids where it was stopped and its rivals' positions.
        """
        state, km = self.halted
        self.standoff = None
        self._learn(standoff)
        if state == "holding":
            self.world.occupancy.release(self.route.nodes[-1], self)
            self._head_home(self.route.nodes[-1])
            return "withdrew"
        if state == "leaving":  # blocked at its own gate: the sortie is off
            self.turned_back = True
            self._home()
            return "turned_back"
        outbound = self.heading == "out"
        if not outbound and state == "at_node" and self.index == len(self.route.nodes) - 1:
            self.resume()  # stopped at its own base: it waits, then goes in
            return "waited"
        if state == "moving":  # back along the road to where it entered it
            behind, start, km_back = [self.road_to], self.road_from, self.road_len_km - km
        else:  # back from this place to the one it came from
            behind, start, km_back = [self.route.nodes[self.index]], self.route.nodes[
                self.index - 1], 0.0
        if reroute or not outbound:
            goal = self.target if outbound else self.base
            detour = self._detour_avoiding(start, goal, standoff.gate)
            if detour is not None:
                self.rerouted = True
                self._follow(self.world.network.make_route(behind + list(detour.nodes)),
                             km_back)
                return "rerouted"
        if not outbound:
            self.resume()
            return "waited"
        self.turned_back = True
        self._head_home(start, via=behind, km_done=km_back)
        return "turned_back"

    def _learn(self, standoff: Standoff) -> None:
        """Remember where it was stopped, and where its rivals stand now, to plan around."""
        if is_road(standoff.gate):
            self.avoid_roads.add(standoff.gate)
        if standoff.at_place:
            self.avoid_nodes.add(standoff.node)
        self.avoid_nodes |= self.world.encounters.rival_positions(self.force)
        self.avoid_nodes.discard(self.base)

    def _detour_avoiding(self, start: str, goal: str, gate: Gate) -> Route | None:
        occupancy = self.world.occupancy
        roads = set(occupancy.closed_roads) | self.avoid_roads
        nodes = set(occupancy.closed_nodes) | self.avoid_nodes
        (roads if is_road(gate) else nodes).add(gate)
        nodes.discard(start)
        return self.world.network.detour(start, goal, roads, nodes, self.weight)
