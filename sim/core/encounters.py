"""Encounters: detect meetings of rivals, open and close standoffs, apply the outcome.

**Where a standoff is decided.** A meeting is detected when ``occupancy``
reports a rival on the same road heading the other way (:meth:`Encounters.
patrol_entered_road`, which schedules the meeting at the point where the two
cross) or holding the place a patrol reaches (:meth:`Encounters.patrol_arrived`).
It becomes a standoff if either side blocks (each draws against its posture's
``block``). The standoff closes its road or place to everyone for a drawn
duration (:func:`sim.core.rules.standoff_minutes`), after which
:func:`sim.core.rules.decide_outcome`, a pure function, picks the result from
the sides' postures and strengths (vehicles plus helicopters overhead).

Every meeting draws the same number of uniforms from the encounter stream, so
two scenarios that differ only in a posture face the same dice (common random
numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import count
from statistics import NormalDist
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sim.core.events import PRIORITY_OPEN, EventQueue
from sim.core.network import RoadNetwork, haversine_km, road_key
from sim.core.occupancy import Gate, Occupancy, is_road
from sim.core.rules import Side, decide_outcome, meeting_time, standoff_minutes
from sim.core.traffic import Traffic
from sim.scenario.schema import EncounterRules, Posture

if TYPE_CHECKING:
    from sim.agents.helicopters import HelicopterPool
    from sim.agents.patrols import Patrol
    from sim.agents.villagers import VillagerCommunity

#: Uniforms per meeting: block a, block b, helicopter a, helicopter b, duration,
#: give way a, give way b, tie, reroute.
N_UNIFORMS = 9
_NORMAL = NormalDist()


class Party(Protocol):
    """What a side of a standoff must offer: a patrol, a blocking position or villagers."""

    kind: str
    """``"patrol"``, ``"blocking"`` or ``"villagers"``."""
    force: str
    sortie_id: str
    vehicles: int
    posture: Posture
    halted: tuple[str, float]
    """What it was doing when the standoff began (``"moving"``, ``"holding"``, ...)."""

    @property
    def strength(self) -> float:
        """Its weight in the outcome rule, vehicle-equivalents."""

    @property
    def give_way(self) -> float:
        """Its chance of giving way against an equally strong rival."""

    def halt(self, standoff: Standoff) -> None:
        """Stop for the standoff."""

    def resume(self) -> None:
        """Carry on as before (it prevailed, both passed, or it was forced past)."""

    def give_way_now(self, standoff: Standoff, reroute: bool) -> str:
        """Yield; return what it did (``turned_back``, ``rerouted``, ``withdrew``, ...)."""


class Standoff:
    """A standoff under way or ended; also the closure of its road or place."""

    __slots__ = ("blocks", "end", "gate", "helicopters", "kind", "lat", "lon", "outcome",
                 "parties", "place", "prevailed", "road", "standoff_id", "start", "u", "yielded")

    def __init__(self, standoff_id: str, kind: str, gate: Gate, parties: tuple[Party, Party],
                 blocks: tuple[bool, bool], place: str, road: str, lat: float, lon: float,
                 start: float, u: np.ndarray) -> None:
        self.standoff_id = standoff_id
        self.kind = kind
        self.gate = gate
        self.parties = parties
        self.blocks = blocks
        self.place, self.road, self.lat, self.lon = place, road, lat, lon
        self.start = start
        self.end = math.nan
        self.u = u
        self.helicopters: tuple[list, list] = ([], [])  # (helicopter, arrival time) per side
        self.outcome = ""
        self.prevailed = ""
        self.yielded = ""

    def helicopters_overhead(self, side: int, now: float) -> int:
        """Helicopters of a side that have arrived by ``now``."""
        return sum(1 for _, arrival in self.helicopters[side] if arrival <= now)


class Encounters:
    """Finds meetings, runs standoffs and keeps their log.

    Parameters
    ----------
    events, network, occupancy
        The clock, the roads, and who is where.
    traffic : Traffic
        Told when a standoff closes or reopens a road or place.
    rules : EncounterRules
        The scenario's ``[encounters]`` table.
    rivals : frozenset of frozenset
        The pairs of forces that are rivals.
    villagers_at : mapping of node to communities
        Who may block a patrol arriving at a place.
    helicopters : HelicopterPool
        Where a side's helicopter comes from when it calls one.
    rng : numpy.random.Generator
        The encounter stream.
    """

    def __init__(self, events: EventQueue, network: RoadNetwork, occupancy: Occupancy,
                 traffic: Traffic, rules: EncounterRules, rivals: frozenset[frozenset[str]],
                 villagers_at: Mapping[str, list[VillagerCommunity]],
                 helicopters: HelicopterPool, rng: np.random.Generator) -> None:
        self.events, self.network, self.occupancy = events, network, occupancy
        self.traffic = traffic
        self.rules = rules
        self._rivals = rivals
        self.villagers_at = villagers_at
        self.helicopters = helicopters
        self.rng = rng
        self._ids = count(1)
        self.standoffs: list[Standoff] = []
        self.active: list[Standoff] = []
        self.n_meetings = 0
        self.hours_ended = 0.0

    def rivals(self, force_a: str, force_b: str) -> bool:
        """Whether two forces are rivals in this scenario."""
        return frozenset((force_a, force_b)) in self._rivals

    @property
    def standoff_hours(self) -> float:
        """Hours of standoff so far, counting those still under way."""
        now = self.events.now
        return self.hours_ended + sum(now - s.start for s in self.active) / 60.0

    # -- detection ---------------------------------------------------------------------

    def patrol_entered_road(self, patrol: Patrol) -> None:
        """Schedule a meeting with each rival coming the other way on the patrol's road."""
        now = self.events.now
        for other in self.occupancy.patrols_on(patrol.road):
            if other is patrol or other.road_from != patrol.road_to:
                continue
            if other.unique_id in patrol.passed:
                continue  # they settled a standoff on this road and have passed each other
            if not self.rivals(patrol.force, other.force):
                continue
            t = meeting_time(patrol.road_len_km, patrol.road_enter, patrol.road_km_per_min,
                             other.road_enter, other.road_km_per_min)
            if t >= now:
                self.events.schedule(t, self._meet_on_road, patrol, other, patrol.version,
                                     other.version)

    def _meet_on_road(self, a: Patrol, b: Patrol, version_a: int, version_b: int) -> None:
        if a.version != version_a or b.version != version_b:
            return  # one of them stopped or left the road before they met
        u = self._draw()
        blocks = (u[0] < a.posture.block, u[1] < b.posture.block)
        if not any(blocks):
            return
        km = (self.events.now - a.road_enter) * a.road_km_per_min
        lat, lon = self.network.point_on_road(a.road_from, a.road_to, km)
        nearest = a.road_from if km <= a.road_len_km / 2 else a.road_to
        self._open("patrols", a.road, (a, b), blocks, u, nearest, lat, lon)

    def patrol_arrived(self, patrol: Patrol, node: str, came_from: str | None) -> bool:
        """Check the place a patrol reaches for villagers or a rival; True if a standoff began."""
        network = self.network
        if came_from is not None:
            for community in self.villagers_at.get(node, ()):
                if community.will_block(patrol.force):
                    u = self._draw()
                    self._open("villagers", road_key(came_from, node), (patrol, community),
                               (False, True), u, node, network.lat(node), network.lon(node),
                               community.spec.duration_median_h, community.spec.duration_sigma)
                    return True
        for holder in self.occupancy.holders(node):
            if holder.status != "holding" or not self.rivals(patrol.force, holder.force):
                continue
            u = self._draw()
            blocks = (u[0] < patrol.posture.block, u[1] < holder.posture.block)
            if not any(blocks):
                continue
            kind = "blocking_position" if holder.kind == "blocking" else "patrols"
            self._open(kind, node, (patrol, holder), blocks, u, node, network.lat(node),
                       network.lon(node))
            return True
        return False

    def _draw(self) -> np.ndarray:
        self.n_meetings += 1
        return self.rng.random(N_UNIFORMS)

    # -- standoffs ---------------------------------------------------------------------

    def _open(self, kind: str, gate: Gate, parties: tuple[Party, Party],
              blocks: tuple[bool, bool], u: np.ndarray, place: str, lat: float, lon: float,
              median_h: float | None = None, sigma: float | None = None) -> Standoff:
        """Start a standoff at ``gate`` and schedule its end.

        The order matters:

        1. the parties halt first (cancelling their pending moves), so nothing
           of theirs runs while the standoff lasts;
        2. helicopters are called next, because their number sets the duration
           (``helicopter_stakes``);
        3. the end is scheduled at ``PRIORITY_OPEN``, so a road that reopens at
           minute t is open to every vehicle that reaches it at t;
        4. the gate is closed in ``occupancy`` *before* traffic is told, because
           traffic asks occupancy which closure holds each trip it stops.
        """
        now = self.events.now
        road = "--".join(gate) if is_road(gate) else ""
        standoff = Standoff(f"S{next(self._ids)}", kind, gate, parties, blocks,
                            self.network.place_id(place), road, lat, lon, now, u)
        for party in parties:
            party.halt(standoff)
        for side, party in enumerate(parties):
            if u[2 + side] < party.posture.helicopter:
                helicopter = self.helicopters.idle(party.force)
                if helicopter is not None:
                    distance = haversine_km(helicopter.lat, helicopter.lon, lat, lon)
                    standoff.helicopters[side].append((helicopter, helicopter.dispatch(
                        standoff, distance)))
        median = self.rules.duration_median_h if median_h is None else median_h
        spread = self.rules.duration_sigma if sigma is None else sigma
        z = _NORMAL.inv_cdf(min(max(float(u[4]), 1e-12), 1 - 1e-12))
        n_called = len(standoff.helicopters[0]) + len(standoff.helicopters[1])
        a, b = parties
        minutes = standoff_minutes(median, spread, z, a.strength, b.strength, a.give_way,
                                   b.give_way, n_called, self.rules.helicopter_stakes)
        self.events.schedule(now + minutes, self._close, standoff, priority=PRIORITY_OPEN)
        self.standoffs.append(standoff)
        self.active.append(standoff)
        self.occupancy.close(gate, standoff)
        self.traffic.gate_closed(gate)
        return standoff

    def _close(self, standoff: Standoff) -> None:
        """End a standoff: decide the outcome, reopen the gate, then move the parties.

        The order matters:

        1. strengths are taken *before* the helicopters are recalled (those
           overhead at the end count);
        2. the gate reopens, and traffic and patrols queued there are released,
           *before* the parties move: a party that carries on re-enters the road
           and must not find it shut by its own standoff;
        3. two patrols that settled a standoff on a road remember each other, so
           they do not meet again as they drive on past each other;
        4. last, the side that yields gives way (its outcome label becomes what
           it did) and the other resumes.
        """
        now = self.events.now
        standoff.end = now
        self.active.remove(standoff)
        self.hours_ended += (now - standoff.start) / 60.0
        a, b = standoff.parties
        u = standoff.u
        sides = [
            Side(party.strength + self.rules.helicopter_strength
                 * standoff.helicopters_overhead(i, now), party.give_way, standoff.blocks[i],
                 passing=party.kind != "villagers" and party.halted[0] != "holding")
            for i, party in enumerate((a, b))
        ]
        outcome = decide_outcome(sides[0], sides[1], float(u[5]), float(u[6]), float(u[7]),
                                 self.rules.force_through_ratio)
        for side in standoff.helicopters:
            for helicopter, _ in side:
                helicopter.recall()
        if self.occupancy.reopen(standoff.gate, standoff):
            self.traffic.gate_opened(standoff.gate)
            for waiting in self.occupancy.take_waiting(standoff.gate):
                waiting.gate_reopened()
        standoff.outcome = outcome.kind
        if is_road(standoff.gate) and standoff.kind == "patrols":
            a.passed.add(b.unique_id)
            b.passed.add(a.unique_id)
        if outcome.prevailing is not None:
            standoff.prevailed = standoff.parties[outcome.prevailing].force
        for i, party in enumerate(standoff.parties):
            if i == outcome.yielding:
                standoff.yielded = party.force
            if i == outcome.yielding and outcome.kind == "turned_back":
                # the label becomes what it did: turned_back, rerouted, withdrew, dispersed...
                standoff.outcome = party.give_way_now(standoff, float(u[8]) < party.posture.reroute)
            else:  # it prevailed, both passed, or it was forced past: carry on
                party.resume()
