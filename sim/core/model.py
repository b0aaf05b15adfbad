"""``PatrolModel``: the Mesa model. It wires the components together and runs the clock.

Nothing is decided here. The components each receive what they need and talk
through callbacks:

* :class:`~sim.core.sorties.Sorties` launches each mission's patrols;
* :class:`~sim.core.blocking.BlockingDeployment` listens to departures and may
  send blocking positions;
* :class:`~sim.core.encounters.Encounters` turns meetings into standoffs (with
  helicopters from a :class:`~sim.agents.helicopters.HelicopterPool`);
* :class:`~sim.core.demand.Demand` draws civilian trips, which
  :class:`~sim.core.traffic.Traffic` moves, queues, reroutes and logs.

One ``step()`` advances the clock by one tick (``tick_min``, default one
minute) and runs every event due in it; nothing moves on a tick where nothing
is due. ``run_model()`` runs to the horizon without ticking, collecting the
time series every ``report_every_min``. Both produce the same logs.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.agents.blocking import BlockingPosition
from sim.agents.civilians import CivilianVehicle
from sim.agents.helicopters import Helicopter, HelicopterPool
from sim.agents.patrols import Patrol, PatrolWorld
from sim.agents.villagers import VillagerCommunity
from sim.core.blocking import BlockingDeployment
from sim.core.draws import Streams
from sim.core.encounters import Encounters
from sim.core.engines import civilian_traffic
from sim.core.events import EventQueue
from sim.core.occupancy import Occupancy
from sim.core.routing import weight_name
from sim.core.sorties import Sorties
from sim.errors import InputError
from sim.scenario.binding import build_network
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario
from sim.scenario.schema import ScenarioSpec

#: Model-level reporters of the DataCollector (running counters; nothing is recounted).
REPORTERS = {
    "time_min": lambda m: m.events.now,
    "standoffs": lambda m: len(m.encounters.standoffs),
    "active_standoffs": lambda m: len(m.encounters.active),
    "standoff_hours": lambda m: m.encounters.standoff_hours,
    "vehicle_hours_delay": lambda m: m.traffic.vehicle_hours_delay,
    "closed_gates": lambda m: m.occupancy.n_closed,
    "trips_under_way": lambda m: m.traffic.n_under_way,
    "queued_vehicles": lambda m: m.traffic.n_queued,
    "patrols_out": lambda m: m.sorties.n_out,
    "helicopters_up": lambda m: m.helicopters.n_up,
}


def resolve_seed(seed: Any = None, rng: Any = None) -> int:
    """One integer seed from ``seed`` or ``rng`` (a fresh one, recorded, if neither is given).

    Raises
    ------
    InputError
        If both are given and differ, or the value is not a non-negative integer.
    """
    if seed is not None and rng is not None and seed != rng:
        raise InputError.single("PatrolModel", "seed/rng", f"= {seed!r}/{rng!r} disagree",
                                "give the seed once, as seed= or rng=")
    value = seed if seed is not None else rng
    if value is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError.single("PatrolModel", "seed", f"= {value!r} must be an integer >= 0",
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
        ``seed`` (an alias of ``rng``), ``days``, ``traffic_engine`` (``"columns"``
        or ``"reference"``, :mod:`sim.core.engines`), and any scenario parameter by
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
        engine = params.pop("traffic_engine", None)  # sim.core.engines; not a scenario field
        super().__init__(rng=seed)
        self.seed = seed
        days = params.pop("days", None)
        self.overrides = dict(params, **({} if days is None else {"days": days}))
        if isinstance(scenario, ScenarioSpec):
            self.spec, self.scenario_path = scenario, None
            self.scenario_ref = scenario.name
            if self.overrides:
                raise InputError.single(
                    "PatrolModel", "params", "cannot override a ScenarioSpec",
                    "pass the scenario's name or path instead")
        else:
            self.spec, self.scenario_path = load_scenario(scenario, self.overrides)
            self.scenario_ref = str(scenario)
        spec = self.spec
        self.network = network = build_network(spec, self.scenario_path)
        self.horizon_min = spec.horizon_min
        self.streams = streams = Streams(seed)

        self.events = events = EventQueue()
        self.occupancy = occupancy = Occupancy()
        self.fleet, self.traffic, self.demand = civilian_traffic(
            engine, network, occupancy, events, spec.civilians, self.horizon_min, streams,
            partial(CivilianVehicle, self))
        self.villagers_at: dict[str, list[VillagerCommunity]] = {}
        for vid, v in sorted(spec.villagers.items()):
            node = network.node_of(v.place)
            community = VillagerCommunity(self, vid, v, node, spec.window_min(v), streams,
                                          events)
            self.villagers_at.setdefault(node, []).append(community)
        helicopters: dict[str, list[Helicopter]] = {}
        for fid, force in sorted(spec.forces.items()):
            if force.helicopters:
                base = network.node_of(force.helicopter_base)
                helicopters[fid] = [
                    Helicopter(self, fid, base, network.lat(base), network.lon(base),
                               force.helicopter_speed_kmh, events)
                    for _ in range(force.helicopters)]
        self.helicopters = HelicopterPool(
            helicopters, {fid: f.helicopters_from for fid, f in spec.forces.items()
                          if f.helicopters_from},
            {fid: f.helicopters_per_call for fid, f in spec.forces.items()},
            {mid: m.escort for mid, m in spec.missions.items() if m.escort is not None},
            streams, lambda node: (network.lat(node), network.lon(node)))
        self.encounters = Encounters(events, network, occupancy, self.traffic, spec.encounters,
                                     spec.rival_pairs(), self.villagers_at, self.helicopters,
                                     streams)
        self.world = PatrolWorld(events, network, occupancy, self.encounters,
                                 spec.encounters.patrol_patience_min)
        self.route_weights = {fid: weight_name(f.routing.road_class, f.routing.road_name)
                              for fid, f in spec.forces.items()}
        self.sorties = Sorties(spec, network, events, streams, partial(self._new_patrol, Patrol))
        self.blocking = BlockingDeployment(spec.forces, self.encounters.rivals, network, events,
                                           self.sorties, partial(self._new_patrol,
                                                                 BlockingPosition), streams)
        self.sorties.on_depart += [self.blocking.rival_departed,
                                   self.helicopters.escort_departing]
        self.sorties.on_home.append(self.helicopters.sortie_home)
        self.encounters.on_standoff.append(self.blocking.standoff_began)
        self.sorties.schedule()
        self.demand.start()
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)

    def register_agent(self, agent: mesa.Agent) -> None:
        """Mesa registers each new agent; the fleet hears of it (vehicle ids count agents)."""
        super().register_agent(agent)
        self.fleet.agent_joined(self.events.now)

    def _new_patrol(self, kind: type[Patrol], *args: Any) -> Patrol:
        """A patrol agent of this model, in its world, reporting home to the sorties."""
        force = args[3]
        return kind(self, self.world, *args, weight=self.route_weights[force],
                    on_home=self.sorties.home)

    # -- randomness --------------------------------------------------------------------

    def stream(self, name: str) -> np.random.Generator:
        """An independent random stream for one source of randomness, from the run's seed.

        Streams are keyed by name, so adding draws to one source (say, civilian
        demand) never shifts another (say, patrol schedules). See ``sim.core.draws``.
        """
        return self.streams.stream(name)

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
