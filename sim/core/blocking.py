"""Blocking deployments: when a force sends a detachment to hold a crossroads on a rival's path.

When a rival's patrol departs, each force with a ``[forces.X.blocking]`` table
draws against its posture's ``deploy_blocking``; if it has fewer than
``max_active`` positions out and can reach a crossroads on the rival's outbound
route ``lead_min`` before the rival, it sends a
:class:`~sim.agents.blocking.BlockingPosition` there, which always blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core.events import PRIORITY_MOVE, EventQueue
from sim.core.network import RoadNetwork
from sim.core.sorties import NewPatrol, Sorties
from sim.scenario.schema import Blocking, Force

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol


def choose_blocking_place(network: RoadNetwork, rival: Patrol, blocking: Blocking) -> str | None:
    """The crossroads on a rival's outbound route where a blocking position should go.

    Candidates are places on the route where three or more roads meet (other
    than the blocking base itself) that the position can reach ``lead_min``
    before the rival. Of these it takes the one nearest its own base (a force
    denies roads close to home; ``seeds/events.csv``: US forces "deployed to
    another crossroads nearby"), the rival's earlier one on a tie.
    """
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


class BlockingDeployment:
    """Decides, as rival patrols depart, whether and where each force sends a blocking position.

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
    rng : numpy.random.Generator
        The blocking stream.
    """

    def __init__(self, forces: dict[str, Force], rivals: Callable[[str, str], bool],
                 network: RoadNetwork, events: EventQueue, sorties: Sorties,
                 new_unit: NewPatrol, rng: np.random.Generator) -> None:
        self.forces, self.rivals = forces, rivals
        self.network, self.events, self.sorties = network, events, sorties
        self.new_unit = new_unit
        self.rng = rng
        self.units: dict[str, list[Patrol]] = {}

    def n_active(self, force: str) -> int:
        """A force's blocking positions out now (on the way, holding, or going home)."""
        return sum(1 for unit in self.units.get(force, ()) if unit.status != "home")

    def rival_departed(self, patrol: Patrol) -> None:
        """A sortie left its base: rival forces may send a blocking position onto its path."""
        if patrol.kind != "patrol":
            return
        for fid, force in sorted(self.forces.items()):
            blocking = force.blocking
            if blocking is None or not self.rivals(fid, patrol.force):
                continue
            if force.posture.deploy_blocking <= 0:
                continue
            if self.rng.random() >= force.posture.deploy_blocking:
                continue
            if self.n_active(fid) >= blocking.max_active:
                continue
            place = choose_blocking_place(self.network, patrol, blocking)
            if place is None:
                continue
            posture = force.posture.model_copy(update={"block": 1.0, "reroute": 0.0})
            unit = self.new_unit(self.sorties.next_id(f"{fid}-block"), f"block:{fid}", fid,
                                 self.network.node_of(blocking.base), [place], blocking.vehicles,
                                 blocking.speed_kmh, posture, 60.0 * blocking.hold_h)
            self.units.setdefault(fid, []).append(unit)
            self.events.schedule(self.events.now, self.sorties.launch, unit,
                                 priority=PRIORITY_MOVE)
