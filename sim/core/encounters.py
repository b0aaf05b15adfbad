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

**Where a standoff happens, and what it closes.** Head-on on a road, the road.
At a place, the road the arriving patrol came in on: the approach is shut, not
the whole town (traffic on its other roads goes on).

**Once is enough.** Two units that had a standoff do not start another on the
same sortie (or not before ``rematch_after_h``), on a road or at a place; a
blocking position stops rivals on their way in, not on their way home.

**Paired dice.** Every meeting's nine uniforms are keyed by the two sorties
and how often they met before (``sim.core.draws``), so two scenarios under the
same seed face the same dice for the same meeting, whatever else differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from itertools import count
from statistics import NormalDist
from typing import TYPE_CHECKING, Protocol

from sim.core.draws import Streams
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
    unique_id: int
    force: str
    sortie_id: str
    key: str
    """What its keyed draws are named by (a sortie's key, or ``villagers:<id>``)."""
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
    """A standoff under way or ended; also the closure of its road (or place)."""

    __slots__ = ("at_place", "blocks", "end", "gate", "helicopters", "kind", "lat", "lon",
                 "n_escorts", "node", "outcome", "parties", "place", "prevailed", "road",
                 "standoff_id", "start", "u", "yielded")

    def __init__(self, standoff_id: str, kind: str, gate: Gate, parties: tuple[Party, Party],
                 blocks: tuple[bool, bool], node: str, at_place: bool, place: str,
                 lat: float, lon: float, start: float, u: list[float]) -> None:
        self.standoff_id = standoff_id
        self.kind = kind
        self.gate = gate
        self.parties = parties
        self.blocks = blocks
        self.node, self.at_place = node, at_place
        self.place = place
        self.road = "--".join(gate) if is_road(gate) else ""
        self.lat, self.lon = lat, lon
        self.start = start
        self.end = math.nan
        self.u = u
        self.helicopters: tuple[list, list] = ([], [])  # (helicopter, arrival time) per side
        self.n_escorts = 0  # of those, escorts that came with the parties
        self.outcome = ""
        self.prevailed = ""
        self.yielded = ""

    def helicopters_overhead(self, side: int, now: float) -> int:
        """Helicopters of a side that have arrived by ``now`` (escorts from the start)."""
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
        Who may block a patrol arriving at, or leaving, a place.
    helicopters : HelicopterPool
        Where a side's helicopters come from when it calls them.
    streams : Streams
        The run's keyed draws.

    Attributes
    ----------
    on_standoff : list of callable
        Called with each standoff as it begins (a blocking deployment listens).
    """

    def __init__(self, events: EventQueue, network: RoadNetwork, occupancy: Occupancy,
                 traffic: Traffic, rules: EncounterRules, rivals: frozenset[frozenset[str]],
                 villagers_at: Mapping[str, list[VillagerCommunity]],
                 helicopters: HelicopterPool, streams: Streams) -> None:
        self.events, self.network, self.occupancy = events, network, occupancy
        self.traffic = traffic
        self.rules = rules
        self._rivals = rivals
        self.villagers_at = villagers_at
        self.helicopters = helicopters
        self.streams = streams
        self.on_standoff: list[Callable[[Standoff], None]] = []
        self._ids = count(1)
        self._pair_meetings: dict[tuple[str, str], int] = {}
        self.standoffs: list[Standoff] = []
        self.active: list[Standoff] = []
        self.n_meetings = 0
        self.hours_ended = 0.0

    def rivals(self, force_a: str, force_b: str) -> bool:
        """Whether two forces are rivals in this scenario."""
        return frozenset((force_a, force_b)) in self._rivals

    def rival_positions(self, force: str) -> set[str]:
        """Places held now (a patrol at its target, a blocking position) by ``force``'s rivals."""
        return {node for node, holders in self.occupancy.holders_by_node()
                if any(h.status == "holding" and self.rivals(force, h.force) for h in holders)}

    @property
    def standoff_hours(self) -> float:
        """Hours of standoff so far, counting those still under way."""
        now = self.events.now
        return self.hours_ended + sum(now - s.start for s in self.active) / 60.0

    def may_meet(self, a: Party, b: Party) -> bool:
        """False if the two had a standoff this sortie (and ``rematch_after_h`` has not passed)."""
        ended = a.met.get(b.unique_id) if hasattr(a, "met") else None
        if ended is None:
            ended = b.met.get(a.unique_id) if hasattr(b, "met") else None
        if ended is None:
            return True
        after = self.rules.rematch_after_h
        return after is not None and self.events.now >= ended + 60.0 * after

    # -- detection ---------------------------------------------------------------------

    def patrol_entered_road(self, patrol: Patrol) -> None:
        """Schedule a meeting with each rival coming the other way on the patrol's road."""
        now = self.events.now
        for other in self.occupancy.patrols_on(patrol.road):
            if other is patrol or other.road_from != patrol.road_to:
                continue
            if not self.rivals(patrol.force, other.force) or not self.may_meet(patrol, other):
                continue
            t = meeting_time(patrol.road_len_km, patrol.road_enter, patrol.road_km_per_min,
                             other.road_enter, other.road_km_per_min)
            if t >= now:
                self.events.schedule(t, self._meet_on_road, patrol, other, patrol.version,
                                     other.version)

    def _meet_on_road(self, a: Patrol, b: Patrol, version_a: int, version_b: int) -> None:
        if a.version != version_a or b.version != version_b or not self.may_meet(a, b):
            return  # one of them stopped or left the road before they met
        u = self._draw(a, b)
        blocks = (u[0] < a.posture.block, u[1] < b.posture.block)
        if not any(blocks):
            return
        km = (self.events.now - a.road_enter) * a.road_km_per_min
        lat, lon = self.network.point_on_road(a.road_from, a.road_to, km)
        nearest = a.road_from if km <= a.road_len_km / 2 else a.road_to
        self._open("patrols", a.road, (a, b), blocks, u, nearest, False, lat, lon)

    def patrol_arrived(self, patrol: Patrol, node: str, came_from: str | None,
                       at_home: bool = False) -> bool:
        """Check the place a patrol reaches for villagers or a rival; True if a standoff began.

        At its own base (``at_home``) only villagers may stop it.
        """
        if came_from is not None and self._villagers_block(patrol, node,
                                                           road_key(came_from, node)):
            return True
        if at_home:
            return False
        gate = road_key(came_from, node) if came_from is not None else node
        for holder in self.occupancy.holders(node):
            if holder.status != "holding" or not self.rivals(patrol.force, holder.force):
                continue
            if holder.kind == "blocking" and patrol.heading != "out":
                continue  # a blocking position denies the way in, not the way home
            if not self.may_meet(patrol, holder):
                continue
            u = self._draw(patrol, holder)
            blocks = (u[0] < patrol.posture.block, u[1] < holder.posture.block)
            if not any(blocks):
                continue
            kind = "blocking_position" if holder.kind == "blocking" else "patrols"
            self._open(kind, gate, (patrol, holder), blocks, u, node, True,
                       self.network.lat(node), self.network.lon(node))
            return True
        return False

    def patrol_leaving(self, patrol: Patrol, node: str, next_node: str) -> bool:
        """Check a patrol setting out from its base for villagers; True if they block it."""
        return self._villagers_block(patrol, node, road_key(node, next_node))

    def _villagers_block(self, patrol: Patrol, node: str, road: tuple[str, str]) -> bool:
        for community in self.villagers_at.get(node, ()):
            if self.may_meet(patrol, community) and community.will_block(patrol.force,
                                                                         patrol.key):
                spec = community.spec
                self._open("villagers", road, (patrol, community), (False, True),
                           self._draw(patrol, community), node, True, self.network.lat(node),
                           self.network.lon(node), spec.duration_median_h, spec.duration_sigma)
                return True
        return False

    def _draw(self, a: Party, b: Party) -> list[float]:
        """The nine uniforms of a meeting, keyed by the two parties and their past meetings."""
        self.n_meetings += 1
        pair = (a.key, b.key) if a.key <= b.key else (b.key, a.key)
        k = self._pair_meetings[pair] = self._pair_meetings.get(pair, -1) + 1
        u = self.streams.uniforms("meeting", *pair, k, n=N_UNIFORMS)
        if pair[0] != a.key:  # each side keeps its own dice whichever comes first
            u[0], u[1], u[2], u[3], u[5], u[6] = u[1], u[0], u[3], u[2], u[6], u[5]
        return u

    # -- standoffs ---------------------------------------------------------------------

    def _open(self, kind: str, gate: Gate, parties: tuple[Party, Party],
              blocks: tuple[bool, bool], u: list[float], node: str, at_place: bool,
              lat: float, lon: float, median_h: float | None = None,
              sigma: float | None = None) -> Standoff:
        """Start a standoff at ``gate`` and schedule its end.

        The order matters:

        1. the parties halt first (cancelling their pending moves), so nothing
           of theirs runs while the standoff lasts;
        2. helicopters come next (escorts are overhead at once; called ones fly
           in), because their number sets the duration (``helicopter_stakes``);
        3. the end is scheduled at ``PRIORITY_OPEN``, so a road that reopens at
           minute t is open to every vehicle that reaches it at t;
        4. the gate is closed in ``occupancy`` *before* traffic is told, because
           traffic asks occupancy which closure holds each trip it stops;
        5. listeners (a force deciding to send a blocking position) hear last,
           once the standoff is in place.
        """
        now = self.events.now
        standoff = Standoff(f"S{next(self._ids)}", kind, gate, parties, blocks, node, at_place,
                            self.network.place_id(node), lat, lon, now, u)
        for party in parties:
            party.halt(standoff)
        for side, party in enumerate(parties):
            flying = standoff.helicopters[side]
            flying.extend((helicopter, now) for helicopter in getattr(party, "escorts", ()))
            standoff.n_escorts += len(flying)
            if u[2 + side] < party.posture.helicopter:
                for helicopter in self.helicopters.call(party.force):
                    distance = haversine_km(helicopter.lat, helicopter.lon, lat, lon)
                    flying.append((helicopter, helicopter.dispatch(standoff, distance)))
        median = self.rules.duration_median_h if median_h is None else median_h
        spread = self.rules.duration_sigma if sigma is None else sigma
        z = _NORMAL.inv_cdf(min(max(float(u[4]), 1e-12), 1 - 1e-12))
        n_helicopters = len(standoff.helicopters[0]) + len(standoff.helicopters[1])
        a, b = parties
        minutes = standoff_minutes(median, spread, z, a.strength, b.strength, a.give_way,
                                   b.give_way, n_helicopters, self.rules.helicopter_stakes)
        self.events.schedule(now + minutes, self._close, standoff, priority=PRIORITY_OPEN)
        self.standoffs.append(standoff)
        self.active.append(standoff)
        self.occupancy.close(gate, standoff)
        self.traffic.gate_closed(gate)
        for listener in self.on_standoff:
            listener(standoff)
        return standoff

    def _close(self, standoff: Standoff) -> None:
        """End a standoff: decide the outcome, reopen the gate, then move the parties.

        The order matters:

        1. strengths are taken *before* the called helicopters are recalled
           (those overhead at the end count; escorts stay with their sortie);
        2. the gate reopens, and traffic and patrols queued there are released,
           *before* the parties move: a party that carries on re-enters the road
           and must not find it shut by its own standoff;
        3. the two parties remember each other for the rest of their sorties, so
           they do not meet again as they drive on;
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
        outcome = decide_outcome(sides[0], sides[1], u[5], u[6], u[7],
                                 self.rules.force_through_ratio)
        for side in standoff.helicopters:
            for helicopter, _ in side:
                if helicopter.standoff is standoff:
                    helicopter.recall()
        if self.occupancy.reopen(standoff.gate, standoff):
            self.traffic.gate_opened(standoff.gate)
            for waiting in self.occupancy.take_waiting(standoff.gate):
                waiting.gate_reopened()
        standoff.outcome = outcome.kind
        for party, other in ((a, b), (b, a)):
            if hasattr(party, "met"):
                party.met[other.unique_id] = now
        if outcome.prevailing is not None:
            standoff.prevailed = standoff.parties[outcome.prevailing].force
        for i, party in enumerate(standoff.parties):
            if i == outcome.yielding:
                standoff.yielded = party.force
            if i == outcome.yielding and outcome.kind == "turned_back":
                # the label becomes what it did: turned_back, rerouted, withdrew, dispersed...
                standoff.outcome = party.give_way_now(standoff, u[8] < party.posture.reroute)
            else:  # it prevailed, both passed, or it was forced past: carry on
                party.resume()
