"""Blocking deployments: a force sends a detachment to hold a crossroads on a rival's approach.

A force with a ``[forces.X.blocking]`` table guards the approaches to the places
it names in ``protect``. It responds, with probability ``posture.deploy_blocking``,
to the triggers it lists:

* ``approach``: a rival patrol sets out on a route into a protected place (the
  rival's route is known in advance: patrols were notified to the other side
  for deconfliction, ``seeds/events.csv`` E23);
* ``villagers``: villagers block a rival patrol at a protected place (after the
  Derik villagers blocked a Russian patrol, "US forces deployed to another
  crossroads nearby", E15).

The position goes to the crossroads on the rival's approach nearest the
protected place (within ``within_km`` of it by road, never the place itself), if
it can be there ``lead_min`` before the rival (on ``approach``), and holds it for
``hold_h``, stopping rivals on their way in with probability ``blocking.block``.
At most ``max_active`` positions of a force are out at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sim.core.draws import Streams
from sim.core.events import PRIORITY_MOVE, EventQueue
from sim.core.network import RoadNetwork
from sim.core.sorties import NewPatrol, Sorties, draw_vehicles
from sim.scenario.schema import Blocking, Force

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol
    from sim.core.encounters import Standoff


def approach_crossroads(network: RoadNetwork, approach: Sequence[str], protected: str,
                        blocking: Blocking, rival_min: Sequence[float] | None = None,
                        now: float = 0.0) -> str | None:
    """The crossroads on an approach where a blocking position should go, or None.

    Parameters
    ----------
    approach : sequence of str
        The rival's route up to and including ``protected``.
    protected : str
        The place guarded.
    blocking : Blocking
        The force's blocking table (base, speed, ``within_km``, ``lead_min``).
    rival_min : sequence of float, optional
        Minutes from now until the rival reaches each node of ``approach``; when
        given, the position must be there ``lead_min`` before it.

    Walks back from the protected place along the approach: the first crossroads
    (three or more roads meet) within ``within_km`` that the position can reach in
    time is chosen.
    """
    base = network.node_of(blocking.base)
    end = list(approach).index(protected)
    km = 0.0
    for i in range(end, 0, -1):
        km += network.length_km(approach[i - 1], approach[i])
        node = approach[i - 1]
        if km > blocking.within_km:
            return None
        if node not in network.crossroads:
            continue
        if rival_min is not None:
            ours = network.drive_minutes(network.route(base, node).nodes, blocking.speed_kmh)[-1]
            if ours + blocking.lead_min > rival_min[i - 1]:
                continue
        return node
    return None


class BlockingDeployment:
    """Decides, on a force's triggers, whether and where it sends a blocking position.

    Parameters
    ----------
    forces : dict of str to Force
        The scenario's forces (their ``blocking`` tables and postures).
    rivals : callable
        Whether two forces are rivals.
    network, events
        The roads and the clock.
    sorties : Sorties
        Where positions get their ids and are launched.
    new_unit : callable
        Makes a blocking-position agent (arguments as :data:`~sim.core.sorties.NewPatrol`).
    streams : Streams
        For the keyed draws of each decision and each position's convoy.
    """

    def __init__(self, forces: dict[str, Force], rivals: Callable[[str, str], bool],
                 network: RoadNetwork, events: EventQueue, sorties: Sorties,
                 new_unit: NewPatrol, streams: Streams) -> None:
        self.forces, self.rivals = forces, rivals
        self.network, self.events, self.sorties = network, events, sorties
        self.new_unit = new_unit
        self.streams = streams
        self.units: dict[str, list[Patrol]] = {}
        self._protected = {fid: {network.node_of(p) for p in f.blocking.protect}
                           for fid, f in forces.items() if f.blocking is not None}

    def n_active(self, force: str) -> int:
        """A force's blocking positions out now (on the way, holding, or going home)."""
        return sum(1 for unit in self.units.get(force, ()) if unit.status != "home")

    def _guards(self, patrol: Patrol, trigger: str) -> list[tuple[str, Force]]:
        """The forces that respond to ``trigger`` about this rival patrol."""
        return [(fid, force) for fid, force in sorted(self.forces.items())
                if force.blocking is not None and trigger in force.blocking.triggers
                and force.posture.deploy_blocking > 0 and self.rivals(fid, patrol.force)]

    def rival_departed(self, patrol: Patrol) -> None:
        """``approach``: a rival patrol sets out on a route into a protected place."""
        if patrol.kind != "patrol":
            return
        guards = self._guards(patrol, "approach")
        if not guards:
            return
        route = self.network.route_via([patrol.base, *patrol.stops], patrol.weight)
        rival_min = self.network.drive_minutes(route.nodes, patrol.speed_kmh)
        for fid, force in guards:
            protected = next((n for n in route.nodes[1:] if n in self._protected[fid]), None)
            if protected is None or not self._decides(fid, force, "approach", patrol):
                continue
            place = approach_crossroads(self.network, route.nodes, protected, force.blocking,
                                        rival_min)
            if place is not None:
                self._send(fid, force, place, f"{fid}/approach/{patrol.key}")

    def standoff_began(self, standoff: Standoff) -> None:
        """``villagers``: villagers block a rival patrol at a protected place."""
        if standoff.kind != "villagers":
            return
        patrol = standoff.parties[0]
        approach = patrol.route.nodes[:patrol.index + 1] if patrol.route else ()
        for fid, force in self._guards(patrol, "villagers"):
            if standoff.node not in self._protected[fid] or standoff.node not in approach:
                continue
            if not self._decides(fid, force, "villagers", patrol):
                continue
            place = approach_crossroads(self.network, approach, standoff.node, force.blocking)
            if place is not None:
                self._send(fid, force, place, f"{fid}/villagers/{patrol.key}")

    def _decides(self, fid: str, force: Force, trigger: str, patrol: Patrol) -> bool:
        u = self.streams.uniform("blocking", fid, trigger, patrol.key)
        return u < force.posture.deploy_blocking and self.n_active(fid) < (
            force.blocking.max_active)

    def _send(self, fid: str, force: Force, place: str, key: str) -> None:
        b = force.blocking
        block = force.posture.block if b.block is None else b.block
        posture = force.posture.model_copy(update={"block": block, "reroute": 0.0})
        unit = self.new_unit(self.sorties.next_id(f"{fid}-block"), key, f"block:{fid}", fid,
                             self.network.node_of(b.base), [place],
                             draw_vehicles(self.streams, b.vehicles, key), b.speed_kmh, posture,
                             60.0 * b.hold_h)
        self.units.setdefault(fid, []).append(unit)
        self.events.schedule(self.events.now, self.sorties.launch, unit, priority=PRIORITY_MOVE)
