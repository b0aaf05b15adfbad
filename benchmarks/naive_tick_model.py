"""A plain tick-loop Mesa model of the same civilian traffic, for comparison only.

Every vehicle is an agent created for its trip and stepped every simulated minute
(``agents.shuffle_do("step")``), advancing along its route and checking the road
ahead: the textbook way, and what ``sim`` avoids by scheduling events. It moves
the same trips on the same network (no patrols), so its time is a floor for a
tick-loop version of the full model.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.demand import demand_places, od_weights
from sim.io.networks import builtin_network
from sim.scenario import load_scenario


class Car(mesa.Agent):
    """Moves one minute along its route per step; leaves the model on arrival."""

    def __init__(self, model: NaiveTrafficModel, route) -> None:
        super().__init__(model)
        self.route, self.leg, self.minutes_on_leg = route, 0, 0.0

    def step(self) -> None:
        """Drive one minute, unless the road ahead is closed."""
        route = self.route
        u, v = route.nodes[self.leg], route.nodes[self.leg + 1]
        if (u, v) in self.model.closed:
            return
        self.minutes_on_leg += 1.0
        if self.minutes_on_leg >= route.cum_min[self.leg + 1] - route.cum_min[self.leg]:
            self.leg, self.minutes_on_leg = self.leg + 1, 0.0
            if self.leg == len(route.nodes) - 1:
                self.model.arrived += 1
                self.remove()


class NaiveTrafficModel(mesa.Model):
    """Civilian demand of a scenario, ticked minute by minute."""

    def __init__(self, scenario: str = "derik-june-2020", days: int = 30, rng: int = 1) -> None:
        super().__init__(rng=rng)
        spec, _ = load_scenario(scenario)
        self.network = builtin_network()
        rules = spec.civilians
        self.places = demand_places(self.network, rules)
        self.p_od = od_weights(self.network, rules, self.places)
        profile = np.asarray(rules.hourly_profile, float)
        self.p_hour, self.trips_per_day = profile / profile.sum(), rules.trips_per_day
        self.closed: set = set()
        self.minute, self.horizon, self.arrived = 0, days * 1440, 0
        self.departures: dict[int, list[int]] = {}

    def _draw_day(self, day: int) -> None:
        n = int(self.rng.poisson(self.trips_per_day))
        minutes = day * 1440 + self.rng.choice(24, n, p=self.p_hour) * 60 + self.rng.integers(
            0, 60, n)
        pairs = self.rng.choice(self.p_od.size, n, p=self.p_od)
        for minute, pair in zip(minutes, pairs, strict=True):
            self.departures.setdefault(int(minute), []).append(int(pair))

    def step(self) -> None:
        """Start the minute's trips, then step every car."""
        if self.minute % 1440 == 0:
            self._draw_day(self.minute // 1440)
        k = len(self.places)
        for pair in self.departures.pop(self.minute, ()):
            Car(self, self.network.route(self.places[pair // k], self.places[pair % k]))
        self.agents.shuffle_do("step")
        self.minute += 1
        self.running = self.minute < self.horizon
