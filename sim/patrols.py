"""Patrol, BlockingPosition and Helicopter agents, their schedules and posture choices.

A patrol leaves its base at a drawn time, drives its route road by road (one
event per road), holds its target for ``dwell_h``, and drives home. On the way
it may meet rivals (see ``encounters.py``); when it gives way it turns back to
its base or, per its posture's ``reroute``, tries another route to its target.
At a road or place closed by someone else's standoff it waits, and after
``patrol_patience_min`` takes a detour if one exists.

A blocking position is a patrol whose target is a crossroads on a rival's
path and which always blocks that rival; a force sends one when a rival patrol
departs, with probability ``posture.deploy_blocking``, if it can be there
``lead_min`` before the rival.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.mesa_compat import SimAgent
from sim.network import Route, road_key
from sim.scenario import Posture

if TYPE_CHECKING:
    from sim.encounters import Standoff
    from sim.model import PatrolModel


class Patrol(SimAgent):
    """A convoy of one force on one sortie of a mission.

    Attributes
    ----------
    status : str
        ``"moving"``, ``"holding"`` (at its target), ``"waiting"`` (at a closure),
        ``"standoff"``, ``"at_node"`` or ``"home"``.
    version : int
        Bumped whenever its movement changes, so stale meeting events are ignored.
    """

    kind = "patrol"

    def __init__(self, model: PatrolModel, sortie_id: str, mission: str, force: str, base: str,
                 stops: list[str], vehicles: int, speed_kmh: float, posture: Posture,
                 dwell_min: float) -> None:
        super().__init__(model)
        self.sortie_id, self.mission, self.force, self.base = sortie_id, mission, force, base
        self.stops, self.vehicles, self.speed_kmh = stops, vehicles, speed_kmh
        self.posture, self.dwell_min = posture, dwell_min
        self.target = stops[-1]
        self.status, self.heading = "at_node", "out"
        self.route: Route | None = None
        self.index = 0
        self.road: tuple[str, str] = ("", "")
        self.road_from = self.road_to = ""
        self.road_enter = self.road_speed = self.road_len = 0.0
        self.halted: tuple[str, float] = ("", 0.0)
        self.event = None
        self.version = 0
        self.passed: set[int] = set()  # rivals met and passed on the current road
        self.standoff: Standoff | None = None
        self.depart = model.events.now
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
        return self.model.events.now

    def _schedule(self, time: float, callback: Any, *args: Any) -> None:
        self.event = self.model.events.schedule(time, callback, *args)

    def start(self) -> None:
        """Leave the base for the target."""
        self.model.patrol_departed(self)
        self._follow(self.model.network.route_via([self.base, *self.stops]))

    def _follow(self, route: Route, km_done: float = 0.0) -> None:
        self.route = route
        if len(route.nodes) == 1:
            self._carry_on(0)
        else:
            self._enter(0, km_done)

    def _enter(self, i: int, km_done: float = 0.0) -> None:
        """Start along road ``i`` of the route unless it, or the place it leads to, is shut."""
        u, v = self.route.nodes[i], self.route.nodes[i + 1]
        gate = self.model.occupancy.is_closed(road_key(u, v), v)
        if gate is not None and km_done == 0.0:
            self._wait(gate, i)
            return
        network = self.model.network
        self.index, self.road_from, self.road_to, self.road = i, u, v, road_key(u, v)
        self.road_len = network.length_km(u, v)
        self.road_speed = min(self.speed_kmh, network.graph.edges[u, v]["speed_kmh"]) / 60.0
        self.road_enter = self._now - km_done / self.road_speed
        self.status = "moving"
        self.version += 1
        self.model.occupancy.enter_road(self.road, self)
        self._schedule(self.road_enter + self.road_len / self.road_speed, self._reach, i + 1)
        self.model.encounters.patrol_entered_road(self)

    def _reach(self, i: int) -> None:
        """Arrive at place ``i`` of the route."""
        self.model.occupancy.leave_road(self.road, self)
        self.version += 1
        self.passed.clear()
        self.index, self.status, self.road_from = i, "at_node", ""
        node = self.route.nodes[i]
        if node in self.model.occupancy.closed_nodes:
            self._wait(node, i, arrived=True)
            return
        self._arrived(i)

    def _arrived(self, i: int) -> None:
        if self.heading == "home" and i == len(self.route.nodes) - 1:
            self._home()  # its own base: nobody stops a patrol there
            return
        came_from = self.route.nodes[i - 1] if i > 0 else None
        if not self.model.encounters.patrol_arrived(self, self.route.nodes[i], came_from):
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
        self.model.occupancy.hold(node, self)
        self._schedule(self._now + self.dwell_min, self._leave_target)

    def _leave_target(self) -> None:
        self.model.occupancy.release(self.route.nodes[-1], self)
        self._head_home(self.route.nodes[-1])

    def _head_home(self, node: str, via: list[str] | None = None, km_done: float = 0.0) -> None:
        self.heading = "home"
        route = self.model.network.route(node, self.base)
        nodes = (via or []) + list(route.nodes)
        self._follow(self.model.network.make_route(nodes), km_done)

    def _home(self) -> None:
        self.status, self.end = "home", self._now
        self.model.patrol_done(self)

    # -- waiting at someone else's closure ---------------------------------------------

    def _wait(self, gate: Any, i: int, arrived: bool = False) -> None:
        self.status, self.index = "waiting", i
        self._waiting = (gate, arrived)
        self.model.occupancy.wait(gate, self)
        patience = self.model.spec.encounters.patrol_patience_min
        self._schedule(self._now + patience, self._detour_around, gate, self.version)

    def gate_reopened(self) -> None:
        """The closure this patrol waited at has ended: go on."""
        if self.status != "waiting":
            return
        self.model.events.cancel(self.event)
        _, arrived = self._waiting
        self.status = "at_node"
        if arrived:
            self._arrived(self.index)
        else:
            self._enter(self.index)

    def _detour_around(self, gate: Any, version: int) -> None:
        if self.status != "waiting" or self.version != version:
            return
        here, goal = self.route.nodes[self.index], self.route.nodes[-1]
        detour = self._detour_avoiding(here, goal, gate)
        if detour is not None:
            self.model.occupancy.stop_waiting(gate, self)
            self.rerouted = True
            self._follow(detour)

    # -- standoffs ---------------------------------------------------------------------

    def halt(self, standoff: Standoff) -> None:
        """Stop where it is for a standoff."""
        self.model.events.cancel(self.event)
        if self.status == "moving":
            self.halted = ("moving", (self._now - self.road_enter) * self.road_speed)
            self.model.occupancy.leave_road(self.road, self)
        elif self.status == "holding":
            self.halted = ("holding", self.event.time - self._now)
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
        else:
            self.status = "at_node"
            self._carry_on(self.index)

    def give_way_now(self, standoff: Standoff, reroute: bool) -> str:
        """Yield at the end of a standoff; return the outcome label.

        Holding its target, it withdraws home. Outbound, it tries another route
        to the target if ``reroute``, else turns back to base. Homebound, it
        takes a way home round the standoff, or, if there is none, waits for
        the rival to pass and carries on.
        """
        state, km = self.halted
        self.standoff = None
        if state == "holding":
            self.model.occupancy.release(self.route.nodes[-1], self)
            self._head_home(self.route.nodes[-1])
            return "withdrew"
        if state == "moving":  # back along the road to where it entered it
            behind, start, km_back = [self.road_to], self.road_from, self.road_len - km
        else:  # back from this place to the one it came from
            behind, start, km_back = [self.route.nodes[self.index]], self.route.nodes[
                self.index - 1], 0.0
        outbound = self.heading == "out"
        if reroute or not outbound:
            goal = self.target if outbound else self.base
            detour = self._detour_avoiding(start, goal, standoff.gate)
            if detour is not None:
                self.rerouted = True
                self._follow(self.model.network.make_route(behind + list(detour.nodes)), km_back)
                return "rerouted"
        if not outbound:
            self.resume()
            return "waited"
        self.turned_back = True
        self._head_home(start, via=behind, km_done=km_back)
        return "turned_back"

    def _detour_avoiding(self, start: str, goal: str, gate: Any) -> Route | None:
        occupancy = self.model.occupancy
        roads, nodes = set(occupancy.closed_roads), set(occupancy.closed_nodes)
        (roads if isinstance(gate, tuple) else nodes).add(gate)
        return self.model.network.detour(start, goal, roads, nodes)


class BlockingPosition(Patrol):
    """A detachment sent to hold a crossroads on a rival's path; it always blocks."""

    kind = "blocking"


class Helicopter(SimAgent):
    """A helicopter of a force, sent over standoffs its force is in.

    Attributes
    ----------
    status : str
        ``"idle"``, ``"flying"`` (to or over a standoff) or ``"returning"``.
    """

    def __init__(self, model: PatrolModel, force: str, base: str, speed_kmh: float) -> None:
        super().__init__(model)
        self.force, self.base, self.speed_kmh = force, base, speed_kmh
        self.lat, self.lon = model.network.lat(base), model.network.lon(base)
        self.status = "idle"
        self.standoff: Standoff | None = None
        self.target: tuple[float, float] | None = None  # where it flies to or from
        self.departed = self.flight_min = 0.0
        self.n_sorties = 0

    def dispatch(self, standoff: Standoff, distance_km: float) -> float:
        """Fly to a standoff; return the arrival time."""
        self.status, self.standoff = "flying", standoff
        self.target = (standoff.lat, standoff.lon)
        self.departed = self.model.events.now
        self.flight_min = 60.0 * distance_km / self.speed_kmh
        self.n_sorties += 1
        return self.departed + self.flight_min

    def recall(self) -> None:
        """The standoff is over: fly home (as far as it had flown out)."""
        now = self.model.events.now
        back = min(now - self.departed, self.flight_min)
        if back < self.flight_min:  # turned round before arriving: start home from there
            share = back / self.flight_min
            self.target = (self.lat + share * (self.target[0] - self.lat),
                           self.lon + share * (self.target[1] - self.lon))
        self.status, self.standoff = "returning", None
        self.departed, self.flight_min = now, back
        self.model.events.schedule(now + back, self._landed)

    def _landed(self) -> None:
        if self.status == "returning":
            self.status = "idle"


# -- schedules and deployments ------------------------------------------------------------


def departure_times(rng: np.random.Generator, per_day: float, hours: tuple[float, float],
                    days: float) -> np.ndarray:
    """Sorted departure minutes over ``days``: Poisson counts per day, uniform in ``hours``."""
    n_days = math.ceil(days)
    counts = rng.poisson(per_day, size=n_days)
    day = np.repeat(np.arange(n_days), counts)
    times = day * 1440.0 + (hours[0] + (hours[1] - hours[0]) * rng.random(day.size)) * 60.0
    times.sort()
    return times[times < days * 1440.0]


def choose_blocking_place(model: PatrolModel, rival: Patrol, blocking: Any) -> str | None:
    """The crossroads on a rival's outbound route where a blocking position should go.

    Candidates are places on the route where three or more roads meet (other
    than the blocking base itself) that the position can reach ``lead_min``
    before the rival. Of these it takes the one nearest its own base (a force
    denies roads close to home; ``seeds/events.csv``: US forces "deployed to
    another crossroads nearby"), the rival's earlier one on a tie.
    """
    network = model.network
    route = network.route_via([rival.base, *rival.stops])
    rival_cum = network.drive_minutes(route.nodes, rival.speed_kmh)
    base = network.node_of(blocking.base)
    best, best_min = None, math.inf
    for node, rival_min in zip(route.nodes[1:], rival_cum[1:], strict=True):
        if node == base or node not in network.crossroads:
            continue
        ours = network.drive_minutes(network.route(base, node).nodes, blocking.speed_kmh)[-1]
        if ours + blocking.lead_min <= rival_min and ours < best_min:
            best, best_min = node, ours
    return best
