"""The scenario schema: every parameter, its default, its bounds and its meaning.

A scenario names its forces and their postures, which pairs of forces are
rivals, the patrol missions, the villager communities, the encounter rules and
the civilian demand. ``ScenarioSpec`` is the validated, frozen whole; reading
files into it is ``sim.scenario.loading``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from sim.scenario.bounds import (
    Days,
    Factor,
    FolderName,
    Hours,
    HoursOrZero,
    Km,
    Minutes,
    MinutesOrZero,
    PerDay,
    Population,
    PosFactor,
    PosPopulation,
    PosUnits,
    Prob,
    Ratio,
    ReportMinutes,
    Seconds,
    Sigma,
    Speed,
    Start,
    StartHours,
    Strength,
    TickMinutes,
    Trips,
    Units,
    run_size_problem,
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Posture(_Spec):
    """How a force behaves when it meets a rival (all probabilities)."""

    block: Prob = 0.0
    """Chance of blocking a rival patrol it meets."""
    give_way: Prob = 0.5
    """Chance of giving way at the end of a standoff against an equally strong rival."""
    helicopter: Prob = 0.0
    """Chance of calling helicopters over a standoff it is in."""
    reroute: Prob = 0.0
    """When it gives way, chance of trying another route rather than returning to base."""
    deploy_blocking: Prob = 0.0
    """Chance of sending a blocking position when one of its ``blocking.triggers`` happens."""


PostureOverride = create_model(
    "PostureOverride", __base__=_Spec,
    __doc__="A mission's departures from its force's posture; unset fields inherit.",
    **{name: (Prob | None, None) for name in Posture.model_fields},
)

#: A number of vehicles: fixed, or ``[low, high]`` drawn uniformly (whole numbers) per sortie.
Vehicles = PosUnits | tuple[PosUnits, PosUnits]


def _check_vehicles(value: int | tuple[int, int]) -> None:
    if isinstance(value, tuple) and not value[0] <= value[1]:
        raise ValueError(f"vehicles = {list(value)} must be [low, high] with low <= high")


def _check_window(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start is not None and end is not None and not start < end:
        raise ValueError(f"start = {start} must come before end = {end}")


#: Where a force's blocking positions are sent from, on what cue.
Trigger = Literal["approach", "villagers"]


class Blocking(_Spec):
    """Blocking positions: a detachment sent to hold a crossroads on a rival's approach."""

    base: str
    vehicles: Vehicles = 4
    hold_h: Hours = 4.0
    speed_kmh: Speed = 50.0
    block: Prob | None = None
    """Chance that the position blocks a rival reaching it (unset: the force's ``block``)."""
    protect: tuple[str, ...] = ()
    """Places whose approaches the force guards; a trigger concerns one of them."""
    triggers: tuple[Trigger, ...] = ("approach", "villagers")
    """``approach``: a rival patrol sets out on a route into a protected place;
    ``villagers``: villagers block a rival patrol at a protected place."""
    within_km: Km = 30.0
    """The crossroads must lie within this road distance of the protected place."""
    lead_min: MinutesOrZero = 10.0
    """On ``approach``: minutes the position must be in place before the rival arrives."""
    max_active: PosUnits = 1

    @model_validator(mode="after")
    def _check(self) -> Blocking:
        _check_vehicles(self.vehicles)
        return self


class Routing(_Spec):
    """How a force chooses its patrols' routes: cost factors on free-flow time.

    A factor below 1 makes a road look shorter to the planner, above 1 longer;
    actual driving times are unchanged. Roads are named by class (``track``,
    ``secondary``, ...) or by their ``road`` name; a name's factor wins over its class's.
    """

    road_class: dict[str, PosFactor] = {}
    road_name: dict[str, PosFactor] = {}


class Force(_Spec):
    """A force (a faction, or a joint patrol of several) and its assets."""

    name: str = ""
    posture: Posture = Posture()
    helicopters: Units = 0
    helicopter_base: str | None = None
    helicopter_speed_kmh: Speed = 200.0
    helicopters_per_call: PosUnits = 1
    """Helicopters sent over a standoff when the force calls (as many as are idle)."""
    helicopters_from: str | None = None
    """Another force whose helicopters serve this one (a joint patrol's escort, say)."""
    routing: Routing = Routing()
    blocking: Blocking | None = None

    @model_validator(mode="after")
    def _helicopters_need_a_base(self) -> Force:
        if self.helicopters > 0 and not self.helicopter_base:
            raise ValueError("helicopters > 0 needs a helicopter_base (a place id)")
        return self


class Escort(_Spec):
    """Helicopters that fly with a sortie from departure to return."""

    helicopters: PosUnits = 2
    p: Prob = 1.0
    """Chance that a sortie has its escort (if enough helicopters are idle)."""


class Mission(_Spec):
    """A recurring patrol: from a base to a target (through ``via``), then home."""

    force: str
    base: str
    target: str
    via: tuple[str, ...] = ()
    vehicles: Vehicles = 4
    per_day: PerDay = 1.0
    """Mean departures per day (Poisson)."""
    depart_hours: tuple[float, float] = (8.0, 12.0)
    """Departures fall uniformly between these hours of the day."""
    schedule_h: tuple[StartHours, ...] | None = None
    """Fixed departures, hours since the start (``[]``: none); if given, ``per_day`` is unused."""
    start: dt.datetime | None = None
    """No departure before this moment (e.g. a base not yet set up)."""
    end: dt.datetime | None = None
    """No departure from this moment on (e.g. a base abandoned)."""
    dwell_h: HoursOrZero = 1.0
    speed_kmh: Speed = 50.0
    escort: Escort | None = None
    posture: PostureOverride = PostureOverride()

    @model_validator(mode="after")
    def _check(self) -> Mission:
        a, b = self.depart_hours
        if not 0 <= a < b <= 24:
            hours = list(self.depart_hours)
            raise ValueError(f"depart_hours = {hours} must satisfy 0 <= a < b <= 24")
        if self.base == self.target:
            raise ValueError("base and target must differ")
        _check_vehicles(self.vehicles)
        _check_window(self.start, self.end)
        return self


class Villagers(_Spec):
    """A community that may block the road when a patrol of a force it opposes arrives or leaves."""

    place: str
    oppose: tuple[str, ...]
    block: Prob = 0.3
    """Chance of blocking an opposed patrol that arrives at, or sets out from, its place."""
    give_way: Prob = 0.2
    strength: Strength = 4.0
    """Weight of the crowd in vehicle-equivalents when a standoff is decided."""
    duration_median_h: Hours = 1.5
    duration_sigma: Sigma = 0.5
    cooldown_h: HoursOrZero = 12.0
    """Hours after a blockade before the community blocks again."""
    start: dt.datetime | None = None
    """It blocks from this moment on (unset: from the start)."""
    end: dt.datetime | None = None
    """It no longer blocks from this moment on (unset: to the end)."""

    @model_validator(mode="after")
    def _check(self) -> Villagers:
        _check_window(self.start, self.end)
        return self


class EncounterRules(_Spec):
    """Rules for standoffs between patrols (the ``[encounters]`` table)."""

    duration_median_h: Hours = 1.5
    """Median duration for evenly matched sides of middling resolve, no helicopters."""
    duration_sigma: Sigma = 0.6
    helicopter_stakes: Factor = 0.3
    """Each helicopter called multiplies the standoff's duration by (1 + this)."""
    helicopter_strength: Strength = 2.0
    """A helicopter overhead counts as this many vehicles."""
    force_through_ratio: Ratio = 2.0
    """When neither side gives way, a side this many times stronger forces through."""
    patrol_patience_min: MinutesOrZero = 30.0
    """Minutes a patrol waits at someone else's closure before trying another route."""
    rematch_after_h: HoursOrZero | None = None
    """Two units that had a standoff may have another only this many hours after it ended;
    unset: never on the same sortie."""


DEFAULT_HOURLY_PROFILE = (
    0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.6, 3.0, 4.2, 4.4, 4.2, 4.0,
    3.8, 3.8, 4.0, 4.2, 4.4, 4.0, 3.2, 2.2, 1.4, 0.9, 0.5, 0.3,
)


class CivilianRules(_Spec):
    """Civilian trip demand (a gravity model) and driver behaviour (the ``[civilians]`` table)."""

    trips_per_day: Trips = 2400.0
    hourly_profile: tuple[Factor, ...] = DEFAULT_HOURLY_PROFILE
    distance_decay: Factor = 1.0
    """Exponent of distance in the gravity model (trips ∝ P_i P_j / d_ij^decay)."""
    village_population: PosPopulation = 1000
    """Population assumed where a place's is not known."""
    countries: tuple[str, ...] = ("SY",)
    kinds: tuple[str, ...] = ("town", "village")
    exclude: tuple[str, ...] = ()
    patience_median_min: Minutes = 30.0
    patience_sigma: Sigma = 0.5
    max_detour_factor: Ratio = 2.5
    """A detour is taken only if its free-flow time is at most this times the direct one."""
    queue_headway_s: Seconds = 2.0
    """Seconds between queued vehicles leaving when a road reopens."""

    @model_validator(mode="after")
    def _profile(self) -> CivilianRules:
        if len(self.hourly_profile) != 24 or sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile must have 24 non-negative values, not all zero")
        return self


class PlaceSpec(_Spec):
    """A place given by coordinates, snapped to the nearest node of a user network."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    name: str = ""
    kind: str = "village"
    population: Population | None = None
    country: str = "SY"
    force: str = ""


class ScenarioSpec(_Spec):
    """A whole scenario, validated. Build it with :func:`load_scenario`."""

    name: FolderName
    title: str = ""
    description: str = ""
    start: Start = dt.datetime(2020, 6, 1)
    days: Days = 30.0
    tick_min: TickMinutes = 1.0
    report_every_min: ReportMinutes = 60.0
    network: str = "builtin"
    places: dict[str, PlaceSpec] = {}
    forces: dict[str, Force]
    rivalries: tuple[tuple[str, str], ...] = ()
    missions: dict[str, Mission] = {}
    villagers: dict[str, Villagers] = {}
    encounters: EncounterRules = EncounterRules()
    civilians: CivilianRules = CivilianRules()

    @model_validator(mode="after")
    def _fits(self) -> ScenarioSpec:
        problem = run_size_problem(self.civilians.trips_per_day, self.days)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def horizon_min(self) -> float:
        """Length of the run, minutes."""
        return self.days * 1440.0

    def minutes_since_start(self, moment: dt.datetime | None, default: float) -> float:
        """A moment as minutes since the scenario's start (``default`` if unset)."""
        return default if moment is None else (moment - self.start).total_seconds() / 60.0

    def window_min(self, item: Mission | Villagers) -> tuple[float, float]:
        """An item's ``start``–``end`` window, minutes since the start (open ends: the run's)."""
        return (self.minutes_since_start(item.start, -math.inf),
                self.minutes_since_start(item.end, math.inf))

    def rival_pairs(self) -> frozenset[frozenset[str]]:
        """The rivalries as a set of unordered force pairs."""
        return frozenset(frozenset(pair) for pair in self.rivalries)

    def posture_of(self, mission_id: str) -> Posture:
        """A mission's posture: its force's, with the mission's overrides applied."""
        mission = self.missions[mission_id]
        base = self.forces[mission.force].posture
        changes = mission.posture.model_dump(exclude_none=True)
        return base.model_copy(update=changes) if changes else base

    def content_hash(self) -> str:
        """SHA-256 of the resolved scenario's canonical JSON."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()


def canonical_json(spec: ScenarioSpec) -> str:
    """The resolved scenario as sorted, compact JSON."""
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
