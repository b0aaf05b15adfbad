"""Helicopters: each force's pool, called over standoffs or flying escort with a sortie.

A force calls helicopters over a standoff it is in (``posture.helicopter``,
``helicopters_per_call`` of them if idle); a mission may have an escort that flies
with each sortie from departure to return (``[missions.X.escort]``; joint patrols were
escorted by Russian helicopters, ``seeds/events.csv``). A force without helicopters
may be served by another's (``helicopters_from``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import mesa

from sim.agents.base import SimAgent
from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.core.network import haversine_km
from sim.scenario.schema import Escort

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol
    from sim.core.encounters import Standoff


class Helicopter(SimAgent):
    """A helicopter of a force, sent over standoffs its force is in, or flying escort.

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
        ``"idle"``, ``"flying"`` (to or over a standoff), ``"escorting"`` (with a
        sortie) or ``"returning"``.
    """

    def __init__(self, model: mesa.Model, force: str, base: str, lat: float, lon: float,
                 speed_kmh: float, events: EventQueue) -> None:
        super().__init__(model)
        self.force, self.base, self.speed_kmh = force, base, speed_kmh
        self.lat, self.lon = lat, lon
        self.events = events
        self.status = "idle"
        self.standoff: Standoff | None = None
        self.escorting: Patrol | None = None
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
        self._fly_home(back)

    def escort(self, patrol: Patrol) -> None:
        """Fly with a sortie until it is home."""
        self.status, self.escorting = "escorting", patrol
        self.departed = self.events.now
        self.n_sorties += 1

    def release(self, lat: float, lon: float) -> None:
        """The escorted sortie is home at (lat, lon): fly back to base from there."""
        self.escorting = None
        self.target = (lat, lon)
        self._fly_home(60.0 * haversine_km(self.lat, self.lon, lat, lon) / self.speed_kmh)

    def _fly_home(self, minutes: float) -> None:
        now = self.events.now
        self.status, self.standoff = "returning", None
        self.departed, self.flight_min = now, minutes
        self.events.schedule(now + minutes, self._landed)

    def _landed(self) -> None:
        if self.status == "returning":
            self.status = "idle"


class HelicopterPool:
    """Each force's helicopters: called over standoffs, or escorting sorties.

    Parameters
    ----------
    by_force : dict of str to list of Helicopter
        The helicopters of each force, in the order they are sent.
    providers : mapping of str to str
        For a force without helicopters of its own, the force whose serve it.
    per_call : mapping of str to int
        How many helicopters a force sends when it calls.
    escorts : mapping of str to Escort
        Each escorted mission's escort.
    streams : Streams
        For the keyed draw of whether a sortie gets its escort.
    node_position : callable
        (lat, lon) of a node.
    """

    def __init__(self, by_force: dict[str, list[Helicopter]], providers: Mapping[str, str],
                 per_call: Mapping[str, int], escorts: Mapping[str, Escort], streams: Streams,
                 node_position) -> None:
        self.by_force = by_force
        self.providers, self.per_call, self.escorts = providers, per_call, escorts
        self.streams = streams
        self.node_position = node_position

    def idle(self, force: str, n: int = 1) -> list[Helicopter]:
        """Up to ``n`` idle helicopters serving ``force``, in order."""
        pool = self.by_force.get(self.providers.get(force, force), ())
        return [h for h in pool if h.status == "idle"][:n]

    def call(self, force: str) -> list[Helicopter]:
        """The helicopters a force sends over a standoff when it calls (as many as are idle)."""
        return self.idle(force, self.per_call.get(force, 1))

    def escort_departing(self, patrol: Patrol) -> None:
        """A sortie sets out: its mission's escort flies with it, if drawn and available."""
        escort = self.escorts.get(patrol.mission)
        if escort is None or self.streams.uniform("escort", patrol.key) >= escort.p:
            return
        helicopters = self.idle(patrol.force, escort.helicopters)
        if len(helicopters) < escort.helicopters:
            return  # not enough idle helicopters: no escort this time
        for helicopter in helicopters:
            helicopter.escort(patrol)
        patrol.escorts = helicopters

    def sortie_home(self, patrol: Patrol) -> None:
        """An escorted sortie is home: its helicopters fly back to their base."""
        lat, lon = self.node_position(patrol.base)
        for helicopter in patrol.escorts:
            helicopter.release(lat, lon)
        patrol.escorts = []

    def __iter__(self) -> Iterator[Helicopter]:
        """Every helicopter, force by force."""
        return (h for helicopters in self.by_force.values() for h in helicopters)

    @property
    def n_up(self) -> int:
        """Helicopters in the air now (out, over a standoff, escorting, or home)."""
        return sum(h.status != "idle" for h in self)
