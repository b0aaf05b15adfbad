"""Encounters: detect meetings of rivals, open and close standoffs, decide their outcomes.

**Where a standoff is decided.** A meeting is detected when ``occupancy``
reports a rival on the same road heading the other way (:meth:`Encounters.
patrol_entered_road`, which schedules the meeting at the point where the two
cross) or holding the place a patrol reaches (:meth:`Encounters.patrol_arrived`).
It becomes a standoff if either side blocks (each draws against its posture's
``block``). The standoff closes its road or place to everyone for a drawn
duration, after which :func:`decide_outcome`, a pure function, picks the
result from the sides' postures and strengths (vehicles plus helicopters
overhead).

Every meeting draws the same number of uniforms from the encounter stream, so
two scenarios that differ only in a posture face the same dice (common random
numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import count
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.events import PRIORITY_OPEN
from sim.network import haversine_km, road_key
from sim.occupancy import Gate, is_road

if TYPE_CHECKING:
    from sim.model import PatrolModel

#: Uniforms per meeting: block a, block b, helicopter a, helicopter b, duration,
#: give way a, give way b, tie, reroute.
N_UNIFORMS = 9
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Side:
    """One party to a standoff, as the outcome rule sees it."""

    strength: float
    """Vehicles, plus helicopters overhead times ``helicopter_strength``."""
    give_way: float
    """Chance of giving way against an equally strong rival."""
    blocks: bool
    """Whether this side blocked."""
    passing: bool = True
    """Whether it is on its way somewhere (not villagers, not a patrol holding its place)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a standoff ended: ``kind`` and which side (0 or 1) prevailed or yielded."""

    kind: str  # "turned_back", "both_passed" or "forced_through"
    prevailing: int | None
    yielding: int | None


def give_way_probability(side: Side, other: Side) -> float:
    """A side's chance of giving way, scaled by the rival's share of their strength.

    Against an equal rival it is ``side.give_way``; against one twice as strong,
    4/3 of it; capped at 1.
    """
    total = side.strength + other.strength
    if total <= 0:
        return side.give_way
    return min(1.0, side.give_way * 2.0 * other.strength / total)


def decide_outcome(a: Side, b: Side, u_a: float, u_b: float, u_tie: float,
                   force_through_ratio: float) -> Outcome:
    """Decide how a standoff ends.

    Parameters
    ----------
    a, b : Side
        The two parties.
    u_a, u_b, u_tie : float
        Uniform draws in [0, 1).
    force_through_ratio : float
        How many times stronger a side must be to force its way through.

    Returns
    -------
    Outcome
        * one side gives way (``u < give_way_probability``): it turns back;
        * both give way: both pass;
        * neither: a side at least ``force_through_ratio`` times stronger gets
          its way: if it is passing, it forces through (both carry on); if it
          holds its ground (villagers, a patrol at its place), the other turns
          back. Failing that, the side that did not block withdraws, or, if both
          blocked, the weaker (a fair coin ``u_tie`` if equal).
    """
    a_gives = u_a < give_way_probability(a, b)
    b_gives = u_b < give_way_probability(b, a)
    if a_gives and b_gives:
        return Outcome("both_passed", None, None)
    if a_gives or b_gives:
        yielding = 0 if a_gives else 1
        return Outcome("turned_back", 1 - yielding, yielding)
    for strong, weak in ((a, b), (b, a)):
        if strong.strength > 0 and strong.strength >= force_through_ratio * weak.strength:
            winner = 0 if strong is a else 1
            kind = "forced_through" if strong.passing else "turned_back"
            return Outcome(kind, winner, 1 - winner)
    if a.blocks != b.blocks:
        yielding = 1 if a.blocks else 0
    elif a.strength != b.strength:
        yielding = 0 if a.strength < b.strength else 1
    else:
        yielding = 0 if u_tie < 0.5 else 1
    return Outcome("turned_back", 1 - yielding, yielding)


def standoff_minutes(median_h: float, sigma: float, z: float, strength_a: float,
                     strength_b: float, give_way_a: float, give_way_b: float,
                     n_helicopters: int, helicopter_stakes: float) -> float:
    """A standoff's duration, minutes: lognormal, longer when even, stubborn and watched.

    ``median_h * exp(sigma * z)`` is scaled by three factors of the parties:

    * evenness ``2 * min(s) / (s_a + s_b)`` (1 for equal strengths, floored at 0.25):
      a lopsided standoff is settled sooner;
    * resolve ``2 * (1 - mean give_way)`` (1 when both give way half the time,
      floored at 0.1): stubborn sides hold out longer;
    * stakes ``1 + helicopter_stakes * n_helicopters`` for helicopters called in.

    So ``median_h`` is the median for evenly matched sides of middling resolve
    with no helicopters.
    """
    total = strength_a + strength_b
    evenness = max(0.25, 2.0 * min(strength_a, strength_b) / total) if total > 0 else 1.0
    resolve = max(0.1, 2.0 * (1.0 - (give_way_a + give_way_b) / 2.0))
    stakes = 1.0 + helicopter_stakes * n_helicopters
    return 60.0 * median_h * math.exp(sigma * z) * evenness * resolve * stakes


def meeting_time(length_km: float, enter_a: float, speed_a: float, enter_b: float,
                 speed_b: float) -> float:
    """When two vehicles entering a road from opposite ends meet (minutes).

    ``enter_*`` are the times each was (or would have been) at its end of the
    road and ``speed_*`` their speeds in km per minute.
    """
    return (length_km + enter_a * speed_a + enter_b * speed_b) / (speed_a + speed_b)


class Standoff:
    """A standoff under way or ended; also the closure of its road or place."""

    __slots__ = ("blocks", "end", "gate", "helicopters", "kind", "lat", "lon", "outcome",
                 "parties", "place", "prevailed", "road", "standoff_id", "start", "u", "yielded")

    def __init__(self, standoff_id: str, kind: str, gate: Gate, parties: tuple[Any, Any],
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
    model : PatrolModel
        Supplies network, occupancy, traffic, events, helicopters and the scenario.
    rng : numpy.random.Generator
        The encounter stream.
    """

    def __init__(self, model: PatrolModel, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng
        self.rules = model.spec.encounters
        self._rivals = model.spec.rival_pairs()
        self._ids = count(1)
        self.standoffs: list[Standoff] = []
        self.active: list[Standoff] = []
        self.n_meetings = 0
        self.hours_ended = 0.0

    def rivals(self, force_a: str, force_b: str) -> bool:
        """Whether two forces are rivals in this scenario."""
        return frozenset((force_a, force_b)) in self._rivals

    # -- detection ---------------------------------------------------------------------

    def patrol_entered_road(self, patrol: Any) -> None:
        """Schedule a meeting with each rival coming the other way on the patrol's road."""
        now = self.model.events.now
        for other in self.model.occupancy.patrols_on(patrol.road):
            if other is patrol or other.road_from != patrol.road_to:
                continue
            if other.unique_id in patrol.passed:
                continue  # they settled a standoff on this road and have passed each other
            if not self.rivals(patrol.force, other.force):
                continue
            t = meeting_time(patrol.road_len, patrol.road_enter, patrol.road_speed,
                             other.road_enter, other.road_speed)
            if t >= now:
                self.model.events.schedule(t, self._meet_on_road, patrol, other,
                                           patrol.version, other.version)

    def _meet_on_road(self, a: Any, b: Any, version_a: int, version_b: int) -> None:
        if a.version != version_a or b.version != version_b:
            return  # one of them stopped or left the road before they met
        u = self._draw()
        blocks = (u[0] < a.posture.block, u[1] < b.posture.block)
        if not any(blocks):
            return
        now = self.model.events.now
        km = (now - a.road_enter) * a.road_speed
        lat, lon = self.model.network.point_on_road(a.road_from, a.road_to, km)
        nearest = a.road_from if km <= a.road_len / 2 else a.road_to
        self._open("patrols", a.road, (a, b), blocks, u, nearest, lat, lon)

    def patrol_arrived(self, patrol: Any, node: str, came_from: str | None) -> bool:
        """Check the place a patrol reaches for villagers or a rival; True if a standoff began."""
        model = self.model
        if came_from is not None:
            for community in model.villagers_at.get(node, ()):
                if community.will_block(patrol.force):
                    u = self._draw()
                    self._open("villagers", road_key(came_from, node), (patrol, community),
                               (False, True), u, node, model.network.lat(node),
                               model.network.lon(node),
                               community.spec.duration_median_h, community.spec.duration_sigma)
                    return True
        for holder in model.occupancy.holders(node):
            if holder.status != "holding" or not self.rivals(patrol.force, holder.force):
                continue
            u = self._draw()
            blocks = (u[0] < patrol.posture.block, u[1] < holder.posture.block)
            if not any(blocks):
                continue
            kind = "blocking_position" if holder.kind == "blocking" else "patrols"
            self._open(kind, node, (patrol, holder), blocks, u, node,
                       model.network.lat(node), model.network.lon(node))
            return True
        return False

    def _draw(self) -> np.ndarray:
        self.n_meetings += 1
        return self.rng.random(N_UNIFORMS)

    # -- standoffs ---------------------------------------------------------------------

    def _open(self, kind: str, gate: Gate, parties: tuple[Any, Any], blocks: tuple[bool, bool],
              u: np.ndarray, place: str, lat: float, lon: float,
              median_h: float | None = None, sigma: float | None = None) -> Standoff:
        model = self.model
        now = model.events.now
        network = model.network
        road = "--".join(gate) if is_road(gate) else ""
        standoff = Standoff(f"S{next(self._ids)}", kind, gate, parties, blocks,
                            network.place_id(place), road, lat, lon, now, u)
        for party in parties:
            party.halt(standoff)
        for side, party in enumerate(parties):
            if u[2 + side] < party.posture.helicopter:
                helicopter = model.idle_helicopter(party.force)
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
        model.events.schedule(now + minutes, self._close, standoff, priority=PRIORITY_OPEN)
        self.standoffs.append(standoff)
        self.active.append(standoff)
        model.occupancy.close(gate, standoff)
        model.traffic.gate_closed(gate)
        return standoff

    def _close(self, standoff: Standoff) -> None:
        model = self.model
        now = model.events.now
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
        if model.occupancy.reopen(standoff.gate, standoff):
            model.traffic.gate_opened(standoff.gate)
            for waiting in model.occupancy.take_waiting(standoff.gate):
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
