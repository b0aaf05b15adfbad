"""Villager communities: when they block the road to a patrol of a force they oppose.

When a patrol of an opposed force reaches the community's place, or sets out
from it (a base in their village), the villagers block the road it is on with
probability ``block``, unless they are already blocking, blocked less than
``cooldown_h`` ago, or are outside their ``start``–``end`` window. The blockade is
a standoff like any other (``sim.core.encounters``): it closes that road to
everyone, and ends with the patrol turning back, or the crowd dispersing, or the
patrol pushing through. The rule follows the Derik villagers who blocked a Russian
patrol in June 2020, and the residents of Qasr Dib who protested against the
Russian post in their village (``seeds/events.csv``, E15, E18).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.agents.base import SimAgent
from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.scenario.schema import Posture, Villagers

if TYPE_CHECKING:
    from sim.core.encounters import Standoff


class VillagerCommunity(SimAgent):
    """The people of one place who may block opposed patrols.

    Parameters
    ----------
    model : mesa.Model
        The model (for Mesa's agent registry only).
    community_id : str
        The community's id in the scenario (``[villagers.<id>]``).
    spec : Villagers
        Its parameters.
    node : str
        The node of its place.
    window_min : tuple of float
        When it may block, minutes since the start (its ``start``–``end``).
    streams : Streams
        For its keyed decisions.
    events : EventQueue
        The clock.
    """

    kind = "villagers"
    vehicles = 0

    def __init__(self, model: mesa.Model, community_id: str, spec: Villagers, node: str,
                 window_min: tuple[float, float], streams: Streams, events: EventQueue) -> None:
        super().__init__(model)
        self.community_id, self.spec, self.node = community_id, spec, node
        self.window_min = window_min
        self.streams, self.events = streams, events
        self.force = f"villagers:{community_id}"
        self.sortie_id = community_id
        self.key = f"villagers:{community_id}"
        self.posture = Posture(block=spec.block, give_way=spec.give_way)
        self.strength = spec.strength
        self.give_way = spec.give_way
        self.blocking = False
        self.halted = ("holding", 0.0)  # they stand where they live
        self.ready_at = 0.0
        self.n_blockades = 0
        self._asked: dict[str, int] = {}

    def will_block(self, force: str, sortie_key: str) -> bool:
        """Decide whether to block a patrol of ``force`` (a keyed draw, only if it could)."""
        if force not in self.spec.oppose or self.blocking:
            return False
        now = self.events.now
        if now < self.ready_at or not self.window_min[0] <= now < self.window_min[1]:
            return False
        n = self._asked[sortie_key] = self._asked.get(sortie_key, -1) + 1
        return self.streams.uniform("villagers", self.community_id, sortie_key, n) < (
            self.spec.block)

    def halt(self, standoff: Standoff) -> None:
        """Start blocking."""
        self.blocking = True
        self.n_blockades += 1

    def resume(self) -> None:
        """The blockade is over (the patrol gave way or got through): go home."""
        self.blocking = False
        self.ready_at = self.events.now + 60.0 * self.spec.cooldown_h

    def give_way_now(self, standoff: Standoff, reroute: bool) -> str:
        """Clear the road."""
        self.resume()
        return "dispersed"
