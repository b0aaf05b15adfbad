"""Villager communities: when they block the road to a patrol of a force they oppose.

When a patrol of an opposed force reaches the community's place, the villagers
block the road it came in on with probability ``block`` (unless they are
already blocking, or blocked less than ``cooldown_h`` ago). The blockade is a
standoff like any other (``sim.core.encounters``): it closes that road to everyone,
and ends with the patrol turning back, or the crowd dispersing, or the patrol
pushing through. The rule follows the Derik villagers who blocked a Russian
patrol in June 2020 (``seeds/events.csv``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.base import SimAgent
from sim.core.events import EventQueue
from sim.scenario.schema import Posture, Villagers

if TYPE_CHECKING:
    from sim.core.encounters import Standoff


class VillagerCommunity(SimAgent):
    """The people of one place who may block opposed patrols.

    Parameters
    ----------
    model : mesa.Model
        The model.
    community_id : str
        The community's id in the scenario (``[villagers.<id>]``).
    spec : Villagers
        Its parameters.
    node : str
        The node of its place.
    rng : numpy.random.Generator
        The villagers' stream.
    events : EventQueue
        The clock.
    """

    kind = "villagers"
    vehicles = 0

    def __init__(self, model: mesa.Model, community_id: str, spec: Villagers, node: str,
                 rng: np.random.Generator, events: EventQueue) -> None:
        super().__init__(model)
        self.events = events
        self.community_id, self.spec, self.node = community_id, spec, node
        self.stream = rng  # the villagers' own stream, not Mesa's model.rng
        self.force = f"villagers:{community_id}"
        self.sortie_id = community_id
        self.posture = Posture(block=spec.block, give_way=spec.give_way)
        self.strength = spec.strength
        self.give_way = spec.give_way
        self.blocking = False
        self.halted = ("holding", 0.0)  # they stand where they live
        self.ready_at = 0.0
        self.n_blockades = 0

    def will_block(self, force: str) -> bool:
        """Decide whether to block an arriving patrol of ``force`` (draws only if opposed)."""
        if force not in self.spec.oppose or self.blocking:
            return False
        if self.events.now < self.ready_at:
            return False
        return bool(self.stream.random() < self.spec.block)

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
