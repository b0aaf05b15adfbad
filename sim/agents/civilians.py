"""Civilian vehicles: cars and trucks of local traffic, reused across trips.

A vehicle's journeys are moved by ``sim.core.traffic`` (one departure and one
arrival event each); the agent only records where it is and what it is doing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.agents.base import SimAgent

if TYPE_CHECKING:
    from sim.core.traffic import Trip


class CivilianVehicle(SimAgent):
    """A car or truck of local traffic; ``trip`` is its journey under way, if any."""

    def __init__(self, model: mesa.Model, place: str) -> None:
        super().__init__(model)
        self.place = place
        self.trip: Trip | None = None
        self.n_trips = 0
