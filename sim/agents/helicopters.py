"""Helicopters: each force's pool, and the helicopter sent over a standoff its force is in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.agents.base import SimAgent
from sim.core.events import EventQueue

if TYPE_CHECKING:
    from sim.core.encounters import Standoff


class Helicopter(SimAgent):
    """A helicopter of a force, sent over standoffs its force is in.

    Parameters
    ----------
    model : mesa.Model
        The model it belongs to (for Mesa's agent registry only).
    force : str
        Its force.
    base : str
        The node it flies from.
    lat, lon : float
        The base's coordinates.
    speed_kmh : float
        Cruising speed.
    events : EventQueue
        The clock.

    Attributes
    ----------
    status : str
        ``"idle"``, ``"flying"`` (to or over a standoff) or ``"returning"``.
    """

    def __init__(self, model: mesa.Model, force: str, base: str, lat: float, lon: float,
                 speed_kmh: float, events: EventQueue) -> None:
        super().__init__(model)
        self.force, self.base, self.speed_kmh = force, base, speed_kmh
        self.lat, self.lon = lat, lon
        self.events = events
        self.status = "idle"
        self.standoff: Standoff | None = None
        self.target: tuple[float, float] | None = None  # where it flies to or from
        self.departed = self.flight_min = 0.0
        self.n_sorties = 0

    def dispatch(self, standoff: Standoff, distance_km: float) -> float:
        """Fly to a standoff; return the arrival time."""
        self.status, self.standoff = "flying", standoff
        self.target = (standoff.lat, standoff.lon)
        self.departed = self.events.now
        self.flight_min = 60.0 * distance_km / self.speed_kmh
        self.n_sorties += 1
        return self.departed + self.flight_min

    def recall(self) -> None:
        """The standoff is over: fly home (as far as it had flown out)."""
        now = self.events.now
        back = min(now - self.departed, self.flight_min)
        if back < self.flight_min:  # turned round before arriving: start home from there
            share = back / self.flight_min
            self.target = (self.lat + share * (self.target[0] - self.lat),
                           self.lon + share * (self.target[1] - self.lon))
        self.status, self.standoff = "returning", None
        self.departed, self.flight_min = now, back
        self.events.schedule(now + back, self._landed)

    def _landed(self) -> None:
        if self.status == "returning":
            self.status = "idle"


class HelicopterPool:
    """Each force's helicopters; a standoff asks it for an idle one.

    Parameters
    ----------
    by_force : dict of str to list of Helicopter
        The helicopters of each force, in the order they are sent.
    """

    def __init__(self, by_force: dict[str, list[Helicopter]]) -> None:
        self.by_force = by_force

    def idle(self, force: str) -> Helicopter | None:
        """A force's first idle helicopter, or None."""
        for helicopter in self.by_force.get(force, ()):
            if helicopter.status == "idle":
                return helicopter
        return None

    def __iter__(self):
        """Every helicopter, force by force."""
        return (h for helicopters in self.by_force.values() for h in helicopters)

    @property
    def n_up(self) -> int:
        """Helicopters flying now (out, over a standoff, or home)."""
        return sum(h.status != "idle" for h in self)
