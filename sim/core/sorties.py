"""Sorties: each mission's departures, drawn from its own random stream, and the patrols sent.

A mission departs ``per_day`` times a day on average (Poisson counts per day,
uniform in ``depart_hours``) or at fixed ``schedule_h``; every departure
launches one :class:`~sim.agents.patrols.Patrol`, and whoever listens on
``on_depart`` (a rival's blocking deployment) hears of it first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core.events import EventQueue
from sim.core.network import RoadNetwork
from sim.scenario.schema import ScenarioSpec

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol

#: Makes a patrol agent: (sortie_id, mission_id, mission's force, base node, stop nodes,
#: vehicles, speed_kmh, posture, dwell_min) -> Patrol. The model supplies it.
NewPatrol = Callable[..., "Patrol"]


def departure_times(rng: np.random.Generator, per_day: float, hours: tuple[float, float],
                    days: float) -> np.ndarray:
    """Sorted departure minutes over ``days``: Poisson counts per day, uniform in ``hours``."""
    n_days = math.ceil(days)
    counts = rng.poisson(per_day, size=n_days)
    day = np.repeat(np.arange(n_days), counts)
    times = day * 1440.0 + (hours[0] + (hours[1] - hours[0]) * rng.random(day.size)) * 60.0
    times.sort()
    return times[times < days * 1440.0]


class Sorties:
    """Schedules every mission's departures, launches their patrols, and keeps them all.

    Parameters
    ----------
    spec : ScenarioSpec
        The missions, their forces' postures, and the run's length.
    network, events
        The roads and the clock.
    stream : callable
        A named random stream of the run (one per mission: ``missions/<id>``).
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
    """

    def __init__(self, spec: ScenarioSpec, network: RoadNetwork, events: EventQueue,
                 stream: Callable[[str], np.random.Generator], new_patrol: NewPatrol) -> None:
        self.spec, self.network, self.events = spec, network, events
        self.stream = stream
        self.new_patrol = new_patrol
        self.all: list[Patrol] = []
        self.n_out = 0
        self.on_depart: list[Callable[[Patrol], None]] = []
        self._counts: dict[str, int] = {}

    def schedule(self) -> None:
        """Schedule every mission's departures over the run."""
        horizon = self.spec.horizon_min
        for mid, mission in sorted(self.spec.missions.items()):
            if mission.schedule_h is not None:
                times = sorted(60.0 * h for h in mission.schedule_h if 60.0 * h < horizon)
            else:
                times = departure_times(self.stream(f"missions/{mid}"), mission.per_day,
                                        mission.depart_hours, self.spec.days)
            for t in times:
                self.events.schedule(float(t), self._launch_mission, mid)

    def next_id(self, stem: str) -> str:
        """The next sortie id of ``stem`` (a mission id): ``<stem>-001``, ``<stem>-002``, ..."""
        k = self._counts[stem] = self._counts.get(stem, 0) + 1
        return f"{stem}-{k:03d}"

    def _launch_mission(self, mission_id: str) -> None:
        m = self.spec.missions[mission_id]
        node = self.network.node_of
        patrol = self.new_patrol(self.next_id(mission_id), mission_id, m.force, node(m.base),
                                 [node(p) for p in (*m.via, m.target)], m.vehicles, m.speed_kmh,
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
        """A sortie is back at base: it leaves the model."""
        self.n_out -= 1
        patrol.remove()
