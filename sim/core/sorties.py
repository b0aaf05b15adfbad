"""Sorties: each mission's departures, drawn so that scenarios stay paired, and the patrols sent.

A mission departs ``per_day`` times a day on average (Poisson counts per day,
uniform in ``depart_hours``) or at fixed ``schedule_h``, only inside its
``start``–``end`` window. Every departure launches one
:class:`~sim.agents.patrols.Patrol`, and whoever listens on ``on_depart`` (a
rival's blocking deployment) hears of it first.

**Paired by construction.** Each mission and day has its own random
generator, and a day's departures are the points of a Poisson process in the
(level, time) plane kept while their level is below ``per_day``: raising a
mission's rate keeps every earlier departure and adds new ones; changing one
mission, or a window, leaves every other departure where it was. A sortie's
*key* (``mission/day/rank``) names the same departure in every scenario, and the
draws about it (its convoy, its escort, the dice of its meetings) are keyed by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.core.draws import Streams
from sim.core.events import EventQueue
from sim.core.network import RoadNetwork
from sim.scenario.schema import Mission, ScenarioSpec

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol

#: Makes a patrol agent: (sortie_id, sortie_key, mission_id, force, base node, stop nodes,
#: vehicles, speed_kmh, posture, dwell_min) -> Patrol. The model supplies it.
NewPatrol = Callable[..., "Patrol"]


@dataclass(frozen=True, slots=True)
class Departure:
    """One departure of a mission: when, and the key that names it in every scenario."""

    time_min: float
    key: str


def day_departures(streams: Streams, mission_id: str, day: int, per_day: float,
                   hours: tuple[float, float]) -> list[Departure]:
    """A day's departures: Poisson(``per_day``) of them, uniform between ``hours``.

    Points of a unit-rate Poisson process in levels are drawn from the mission-day's
    own generator until the level passes ``per_day``; the k-th point's key is
    ``<mission>/<day>/<k>``, whatever the rate.
    """
    rng = streams.generator("missions", mission_id, day)
    out, level, rank = [], 0.0, 0
    while True:
        level += rng.exponential()
        if level >= per_day:
            return out
        minute = 60.0 * (hours[0] + (hours[1] - hours[0]) * rng.random())
        out.append(Departure(day * 1440.0 + minute, f"{mission_id}/{day}/{rank}"))
        rank += 1


def mission_departures(streams: Streams, mission_id: str, mission: Mission,
                       spec: ScenarioSpec) -> list[Departure]:
    """Every departure of a mission over the run, in time order, inside its window."""
    horizon = spec.horizon_min
    if mission.schedule_h is not None:
        times = [Departure(60.0 * h, f"{mission_id}/fixed/{k}")
                 for k, h in enumerate(mission.schedule_h)]
    else:
        times = [d for day in range(math.ceil(spec.days))
                 for d in day_departures(streams, mission_id, day, mission.per_day,
                                         mission.depart_hours)]
    low, high = spec.window_min(mission)
    return sorted((d for d in times if low <= d.time_min < min(high, horizon)),
                  key=lambda d: d.time_min)


def draw_vehicles(streams: Streams, vehicles: int | tuple[int, int], key: str) -> int:
    """A sortie's convoy size: fixed, or uniform over ``[low, high]`` (keyed by the sortie)."""
    if isinstance(vehicles, int):
        return vehicles
    low, high = vehicles
    return low + min(int(streams.uniform("vehicles", key) * (high - low + 1)), high - low)


class Sorties:
    """Schedules every mission's departures, launches their patrols, and keeps them all.

    Parameters
    ----------
    spec : ScenarioSpec
        The missions, their forces' postures, and the run's length.
    network, events
        The roads and the clock.
    streams : Streams
        The run's random streams and keyed draws.
    new_patrol : callable
        Makes a mission's patrol agent (see :data:`NewPatrol`).

    Attributes
    ----------
    all : list of Patrol
        Every sortie launched, in launch order (blocking positions included).
    n_out : int
        Sorties not yet back at base.
    on_depart : list of callable
        Called with each sortie as it leaves, before it moves.
    on_home : list of callable
        Called with each sortie when it is back at base.
    """

    def __init__(self, spec: ScenarioSpec, network: RoadNetwork, events: EventQueue,
                 streams: Streams, new_patrol: NewPatrol) -> None:
        self.spec, self.network, self.events = spec, network, events
        self.streams = streams
        self.new_patrol = new_patrol
        self.all: list[Patrol] = []
        self.n_out = 0
        self.on_depart: list[Callable[[Patrol], None]] = []
        self.on_home: list[Callable[[Patrol], None]] = []
        self._counts: dict[str, int] = {}

    def schedule(self) -> None:
        """Schedule every mission's departures over the run."""
        for mid, mission in sorted(self.spec.missions.items()):
            for departure in mission_departures(self.streams, mid, mission, self.spec):
                self.events.schedule(departure.time_min, self._launch_mission, mid,
                                     departure.key)

    def next_id(self, stem: str) -> str:
        """The next sortie id of ``stem`` (a mission id): ``<stem>-001``, ``<stem>-002``, ..."""
        k = self._counts[stem] = self._counts.get(stem, 0) + 1
        return f"{stem}-{k:03d}"

    def _launch_mission(self, mission_id: str, key: str) -> None:
        m = self.spec.missions[mission_id]
        node = self.network.node_of
        patrol = self.new_patrol(self.next_id(mission_id), key, mission_id, m.force,
                                 node(m.base), [node(p) for p in (*m.via, m.target)],
                                 draw_vehicles(self.streams, m.vehicles, key), m.speed_kmh,
                                 self.spec.posture_of(mission_id), 60.0 * m.dwell_h)
        self.launch(patrol)

    def launch(self, patrol: Patrol) -> None:
        """Send a sortie out now: listeners hear of it, then it moves."""
        self.all.append(patrol)
        self.n_out += 1
        for listener in self.on_depart:
            listener(patrol)
        patrol.start()

    def home(self, patrol: Patrol) -> None:
        """A sortie is back at base: listeners hear of it, and it leaves the model."""
        self.n_out -= 1
        for listener in self.on_home:
            listener(patrol)
        patrol.remove()
