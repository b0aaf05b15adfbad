"""The summary row of a run: headline numbers computed once from its logs, from one table.

:data:`SUMMARY_FIELDS` lists every number with its type, how it is computed and,
for those ``sim run`` prints, its label. The summary, the sweep tables' columns
and the CLI's printout are all built from it, so a number cannot be listed in
one and missing from another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Logs:
    """A run's logs and the figures the model counted itself, as ``summarise`` reads them.

    The views below are computed once and kept (a summary asks for each several
    times), and they take only the columns they need, never a filtered copy of a
    whole log.
    """

    standoffs: pd.DataFrame
    trips: pd.DataFrame
    missions: pd.DataFrame
    days: float
    trips_under_way: int
    blocking_forces: tuple[str, ...] = ()
    """Forces that may deploy blocking positions (counted per force, zeros included)."""

    @cached_property
    def n_villager_blockades(self) -> int:
        """Standoffs that are villagers' blockades."""
        return int((self.standoffs["kind"].to_numpy() == "villagers").sum())

    @cached_property
    def patrol_missions(self) -> pd.DataFrame:
        """Outcome and rerouting of the patrols' missions (blocking positions are apart)."""
        missions = self.missions
        return missions.loc[missions["kind"].to_numpy() == "patrol", ["outcome", "rerouted"]]

    @cached_property
    def blocking_positions(self) -> np.ndarray:
        """The force of each blocking position deployed."""
        missions = self.missions
        return missions["force"].to_numpy()[missions["kind"].to_numpy() == "blocking"]

    @cached_property
    def delays(self) -> np.ndarray:
        """The delays of delayed trips (minutes, all positive)."""
        delay = self.trips["delay_min"].to_numpy()
        return delay[delay > 0]

    @cached_property
    def standoff_dates(self) -> pd.Series:
        """The calendar day of each standoff's start."""
        s = self.standoffs
        return s["start"].dt.date if len(s) else pd.Series([], dtype=object)


@dataclass(frozen=True, slots=True)
class SummaryField:
    """One headline number: its name, type, how it is computed, and its printed label."""

    name: str
    kind: type
    compute: Callable[[Logs], Any]
    label: str = ""
    """The line ``sim run`` prints it on (empty: not printed)."""
    fmt: str = "{}"


def longest_run_of_days(days: pd.Series) -> int:
    """Length of the longest run of consecutive calendar days in ``days``."""
    ordinals = sorted({d.toordinal() for d in days})
    best = run = 0
    previous = None
    for day in ordinals:
        run = run + 1 if previous is not None and day == previous + 1 else 1
        best, previous = max(best, run), day
    return best


def _max_hours(logs: Logs) -> float:
    return round(float(logs.standoffs["duration_h"].max()), 6) if len(logs.standoffs) else 0.0


def _mean_delay(logs: Logs) -> float:
    delays = logs.delays
    return round(float(delays.mean()), 6) if len(delays) else 0.0


def _travel_time_index(logs: Logs) -> float:
    free_flow = float(logs.trips["free_flow_min"].sum())
    if free_flow <= 0:
        return float(np.nan)
    return round(float(logs.trips["actual_min"].sum()) / free_flow, 9)


def _outcomes(logs: Logs, outcome: str) -> int:
    return int((logs.patrol_missions["outcome"] == outcome).sum())


#: Every headline number of a run, in table order (``int`` ones are counts).
SUMMARY_FIELDS: tuple[SummaryField, ...] = (
    SummaryField("days", float, lambda g: g.days),
    SummaryField("standoffs", int, lambda g: len(g.standoffs), "standoffs"),
    SummaryField("standoffs_between_forces", int,
                 lambda g: len(g.standoffs) - g.n_villager_blockades, "  between forces"),
    SummaryField("villager_blockades", int, lambda g: g.n_villager_blockades,
                 "  villager blockades"),
    SummaryField("standoff_hours", float,
                 lambda g: round(float(g.standoffs["duration_h"].sum()), 6),
                 "standoff hours", "{:.1f}"),
    SummaryField("max_standoff_h", float, _max_hours),
    SummaryField("standoff_days", int, lambda g: int(g.standoff_dates.nunique())),
    SummaryField("max_consecutive_standoff_days", int,
                 lambda g: longest_run_of_days(g.standoff_dates),
                 "most consecutive days with a standoff"),
    SummaryField("helicopters_over_standoffs", int,
                 lambda g: int(g.standoffs["helicopters"].sum())),
    SummaryField("trips", int, lambda g: len(g.trips), "civilian trips", "{:,}"),
    SummaryField("trips_unfinished", int, lambda g: int(g.trips_under_way)),
    SummaryField("trips_delayed", int, lambda g: len(g.delays), "  delayed", "{:,}"),
    SummaryField("trips_rerouted", int, lambda g: int(g.trips["rerouted"].sum()),
                 "  rerouted", "{:,}"),
    SummaryField("vehicle_hours_delay", float,
                 lambda g: round(float(g.trips["delay_min"].sum()) / 60.0, 6),
                 "vehicle-hours of civilian delay", "{:,.1f}"),
    SummaryField("mean_delay_of_delayed_min", float, _mean_delay),
    SummaryField("travel_time_index", float, _travel_time_index, "travel-time index",
                 "{:.4f}"),
    SummaryField("missions", int, lambda g: len(g.patrol_missions), "patrol missions"),
    SummaryField("missions_reached", int, lambda g: _outcomes(g, "reached")),
    SummaryField("missions_turned_back", int, lambda g: _outcomes(g, "turned_back"),
                 "  turned back"),
    SummaryField("missions_rerouted", int, lambda g: int(g.patrol_missions["rerouted"].sum())),
    SummaryField("blocking_positions", int, lambda g: len(g.blocking_positions),
                 "blocking positions deployed"),
)

#: Prefix of the per-force counts of blocking positions (``blocking_positions_US``, ...),
#: which follow the fields in a summary (their names depend on the scenario's forces).
BY_FORCE = "blocking_positions_"

#: Name → type of every headline number (the columns sweeps tabulate).
SUMMARY_TYPES: dict[str, type] = {f.name: f.kind for f in SUMMARY_FIELDS}


def summarise(logs: Logs, scenario: str, seed: int) -> dict[str, Any]:
    """Headline numbers of a run, flat (one value per key) so sweeps can tabulate them.

    ``travel_time_index`` is the sum of actual over the sum of free-flow trip
    times; ``vehicle_hours_delay`` the sum of trip delays, hours.
    """
    out: dict[str, Any] = {"scenario": scenario, "seed": seed}
    out.update({f.name: f.compute(logs) for f in SUMMARY_FIELDS})
    blocking = logs.blocking_positions
    for force in sorted({*logs.blocking_forces, *blocking}):
        out[f"{BY_FORCE}{force}"] = int((blocking == force).sum())
    return out


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The lines ``sim run`` prints: each labelled field, formatted."""
    lines = []
    for f in SUMMARY_FIELDS:
        if f.label:
            lines.append(f"  {f.label:<40} {f.fmt.format(summary[f.name])}")
        if f.name == "blocking_positions":
            lines += [f"    {name.removeprefix(BY_FORCE):<38} {n}"
                      for name, n in summary.items() if name.startswith(BY_FORCE)]
    return lines


def delay_by_gate(standoffs: pd.DataFrame) -> tuple[dict[tuple[str, str], float],
                                                     dict[str, float]]:
    """Vehicle-hours of civilian delay by the road (``(u, v)``) or place each standoff closed."""
    roads: dict[tuple[str, str], float] = {}
    places: dict[str, float] = {}
    for row in standoffs.itertuples():
        if row.road:
            u, v = row.road.split("--")
            roads[(u, v)] = roads.get((u, v), 0.0) + row.delay_vehicle_h
        else:
            places[row.place] = places.get(row.place, 0.0) + row.delay_vehicle_h
    return roads, places
