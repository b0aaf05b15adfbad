"""``PatrolModel``: the Mesa model that wires network, agents, encounters and traffic.

One ``step()`` advances the clock by one tick (``tick_min``, default one
minute) and runs every event due in it; nothing moves on a tick where nothing
is due. ``run_model()`` runs to the horizon without ticking, collecting the
time series every ``report_every_min``. Both produce the same logs.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.civilians import Demand
from sim.encounters import Encounters
from sim.errors import ScenarioError
from sim.events import PRIORITY_MOVE, EventQueue
from sim.occupancy import Occupancy
from sim.patrols import BlockingPosition, Helicopter, Patrol, choose_blocking_place, departure_times
from sim.scenario import ScenarioSpec, load_scenario
from sim.traffic import Traffic
from sim.villagers import VillagerCommunity
from sim.world import build_network

DEFAULT_SCENARIO = "derik-june-2020"

#: Model-level reporters of the DataCollector (running counters; nothing is recounted).
REPORTERS = {
    "time_min": lambda m: m.events.now,
    "standoffs": lambda m: len(m.encounters.standoffs),
    "active_standoffs": lambda m: len(m.encounters.active),
    "standoff_hours": lambda m: m.standoff_hours,
    "vehicle_hours_delay": lambda m: m.traffic.vehicle_hours_delay,
    "closed_gates": lambda m: m.occupancy.n_closed,
    "trips_under_way": lambda m: m.traffic.n_under_way,
    "queued_vehicles": lambda m: m.traffic.n_queued,
    "patrols_out": lambda m: m.n_patrols_out,
    "helicopters_up": lambda m: sum(h.status != "idle" for hs in m.helicopters.values()
                                    for h in hs),
}


def resolve_seed(seed: Any = None, rng: Any = None) -> int:
    """One integer seed from ``seed`` or ``rng`` (a fresh one, recorded, if neither is given).

    Raises
    ------
    ScenarioError
        If both are given and differ, or the value is not a non-negative integer.
    """
    if seed is not None and rng is not None and seed != rng:
        raise ScenarioError.single("PatrolModel", "seed/rng", f"= {seed!r}/{rng!r} disagree",
                                   "give the seed once, as seed= or rng=")
    value = seed if seed is not None else rng
    if value is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ScenarioError.single("PatrolModel", "seed", f"= {value!r} must be an integer >= 0",
                                   "e.g. seed=7")
    return int(value)


class PatrolModel(mesa.Model):
    """Patrols, villagers, helicopters and civilian traffic on the road network.

    Parameters
    ----------
    scenario : str, Path or ScenarioSpec
        A shipped scenario's name, a scenario file, or a validated spec.
    rng : int, optional
        The run's seed (Mesa's name for it).
    **params
        ``seed`` (an alias of ``rng``), ``days``, and any scenario parameter by
        its dotted name, e.g. ``**{"forces.US.posture.block": 0.5}``.

    Notes
    -----
    ``seed`` is deliberately not a named parameter: Mesa 3.5's ``batch_run``
    then passes its seeds as ``rng=`` and leaves a ``seed`` given in
    ``parameters`` alone, so both ways of seeding work on Mesa 3.3 and 3.5.
    """

    def __init__(self, scenario: str | Path | ScenarioSpec = DEFAULT_SCENARIO, *,
                 rng: int | None = None, **params: Any) -> None:
        seed = resolve_seed(params.pop("seed", None), rng)
        super().__init__(rng=seed)
        self.seed = seed
        self.scenario_ref = scenario if isinstance(scenario, ScenarioSpec) else str(scenario)
        days = params.pop("days", None)
        self.overrides = dict(params, **({} if days is None else {"days": days}))
        if isinstance(scenario, ScenarioSpec):
            self.spec, self.scenario_path = scenario, None
            if self.overrides:
                raise ScenarioError.single(
                    "PatrolModel", "params", "cannot override a ScenarioSpec",
                    "pass the scenario's name or path instead")
        else:
            self.spec, self.scenario_path = load_scenario(scenario, self.overrides)
        self.network = build_network(self.spec, self.scenario_path)
        self.horizon_min = self.spec.horizon_min

        self.events = EventQueue()
        self.occupancy = Occupancy()
        self.encounters = Encounters(self, self.stream("encounters"))
        self.demand = Demand(self, self.stream("demand"))
        self.traffic = Traffic(self.network, self.occupancy, self.events, self.spec.civilians,
                               self.stream("patience"), on_arrival=self.demand.arrived)
        self._blocking_rng = self.stream("blocking")
        self.n_patrols_out = 0
        self.sorties: list[Patrol] = []
        self._sortie_counts: dict[str, int] = {}

        villager_rng = self.stream("villagers")
        self.villagers_at: dict[str, list[VillagerCommunity]] = {}
        for vid, v in sorted(self.spec.villagers.items()):
            node = self.network.node_of(v.place)
            community = VillagerCommunity(self, vid, v, node, villager_rng)
            self.villagers_at.setdefault(node, []).append(community)
        self.helicopters: dict[str, list[Helicopter]] = {}
        for fid, force in sorted(self.spec.forces.items()):
            if force.helicopters:
                base = self.network.node_of(force.helicopter_base)
                self.helicopters[fid] = [Helicopter(self, fid, base, force.helicopter_speed_kmh)
                                         for _ in range(force.helicopters)]
        self._schedule_missions()
        self.demand.start()
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)

    # -- randomness --------------------------------------------------------------------

    def stream(self, name: str) -> np.random.Generator:
        """An independent random stream for one source of randomness, from the run's seed.

        Streams are keyed by name, so adding draws to one source (say, civilian
        demand) never shifts another (say, patrol schedules).
        """
        key = zlib.crc32(name.encode())
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed,
                                                                         spawn_key=(key,))))

    # -- patrols -----------------------------------------------------------------------

    def _schedule_missions(self) -> None:
        for mid, mission in sorted(self.spec.missions.items()):
            if mission.schedule_h is not None:
                times = sorted(60.0 * h for h in mission.schedule_h if 60.0 * h < self.horizon_min)
            else:
                times = departure_times(self.stream(f"missions/{mid}"), mission.per_day,
                                        mission.depart_hours, self.spec.days)
            for t in times:
                self.events.schedule(float(t), self._launch_mission, mid)

    def _next_sortie_id(self, stem: str) -> str:
        k = self._sortie_counts[stem] = self._sortie_counts.get(stem, 0) + 1
        return f"{stem}-{k:03d}"

    def _launch_mission(self, mission_id: str) -> None:
        m = self.spec.missions[mission_id]
        node = self.network.node_of
        patrol = Patrol(self, self._next_sortie_id(mission_id), mission_id, m.force, node(m.base),
                        [node(p) for p in (*m.via, m.target)], m.vehicles, m.speed_kmh,
                        self.spec.posture_of(mission_id), 60.0 * m.dwell_h)
        self._launch(patrol)

    def _launch(self, patrol: Patrol) -> None:
        self.sorties.append(patrol)
        self.n_patrols_out += 1
        patrol.start()

    def patrol_departed(self, patrol: Patrol) -> None:
        """Rival forces may send a blocking position onto a departing patrol's path."""
        if patrol.kind != "patrol":
            return
        for fid, force in sorted(self.spec.forces.items()):
            blocking = force.blocking
            if blocking is None or not self.encounters.rivals(fid, patrol.force):
                continue
            if force.posture.deploy_blocking <= 0:
                continue
            if self._blocking_rng.random() >= force.posture.deploy_blocking:
                continue
            active = sum(1 for p in self.sorties if p.kind == "blocking" and p.force == fid
                         and p.status != "home")
            if active >= blocking.max_active:
                continue
            place = choose_blocking_place(self, patrol, blocking)
            if place is None:
                continue
            posture = force.posture.model_copy(update={"block": 1.0, "reroute": 0.0})
            unit = BlockingPosition(self, self._next_sortie_id(f"{fid}-block"), f"block:{fid}",
                                    fid, self.network.node_of(blocking.base), [place],
                                    blocking.vehicles, blocking.speed_kmh, posture,
                                    60.0 * blocking.hold_h)
            self.events.schedule(self.events.now, self._launch, unit, priority=PRIORITY_MOVE)

    def patrol_done(self, patrol: Patrol) -> None:
        """A sortie is back at base."""
        self.n_patrols_out -= 1
        patrol.remove()

    def idle_helicopter(self, force: str) -> Helicopter | None:
        """A force's first idle helicopter, or None."""
        for helicopter in self.helicopters.get(force, ()):
            if helicopter.status == "idle":
                return helicopter
        return None

    # -- figures -----------------------------------------------------------------------

    @property
    def standoff_hours(self) -> float:
        """Hours of standoff so far, counting those still under way."""
        now = self.events.now
        return self.encounters.hours_ended + sum(now - s.start for s in self.encounters.active) / 60

    # -- running -----------------------------------------------------------------------

    def step(self) -> None:
        """Advance one tick, run the events due in it, and collect the reporters."""
        self.events.run_until(min(self.events.now + self.spec.tick_min, self.horizon_min))
        self.datacollector.collect(self)
        if self.events.now >= self.horizon_min:
            self.running = False

    def run_model(self) -> None:
        """Run to the horizon, collecting every ``report_every_min`` (not every tick)."""
        every = self.spec.report_every_min
        now = self.events.now
        if now == 0.0:
            self.datacollector.collect(self)
        k = math.floor(now / every + 1e-9) + 1
        while self.running:
            self.events.run_until(min(k * every, self.horizon_min))
            self.datacollector.collect(self)
            k += 1
            if self.events.now >= self.horizon_min:
                self.running = False
