"""The summary row of a run: headline figures computed once from its logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.model import PatrolModel


#: The summary's figures and their types, in order (``int`` figures are counts).
FIGURES: dict[str, type] = {
    "days": float, "standoffs": int, "standoffs_between_forces": int, "villager_blockades": int,
    "standoff_hours": float, "max_standoff_h": float, "standoff_days": int,
    "max_consecutive_standoff_days": int, "helicopters_over_standoffs": int, "trips": int,
    "trips_unfinished": int, "trips_delayed": int, "trips_rerouted": int,
    "vehicle_hours_delay": float, "mean_delay_of_delayed_min": float, "travel_time_index": float,
    "missions": int, "missions_reached": int, "missions_turned_back": int,
    "missions_rerouted": int, "blocking_positions": int,
}


def longest_run_of_days(days: pd.Series) -> int:
    """Length of the longest run of consecutive calendar days in ``days``."""
    ordinals = sorted({d.toordinal() for d in days})
    best = run = 0
    previous = None
    for day in ordinals:
        run = run + 1 if previous is not None and day == previous + 1 else 1
        best, previous = max(best, run), day
    return best


def summarise(model: PatrolModel, standoffs: pd.DataFrame, trips: pd.DataFrame,
              missions: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of a run, flat (one value per key) so sweeps can tabulate them.

    ``travel_time_index`` is the sum of actual over the sum of free-flow trip
    times; ``vehicle_hours_delay`` the sum of trip delays, hours.
    """
    between_forces = standoffs[standoffs["kind"] != "villagers"]
    patrol_missions = missions[missions["kind"] == "patrol"]
    delayed = trips[trips["delay_min"] > 0]
    free_flow = float(trips["free_flow_min"].sum())
    days = standoffs["start"].dt.date if len(standoffs) else pd.Series([], dtype=object)
    return {
        "scenario": model.spec.name,
        "seed": model.seed,
        "days": model.spec.days,
        "standoffs": len(standoffs),
        "standoffs_between_forces": len(between_forces),
        "villager_blockades": int((standoffs["kind"] == "villagers").sum()),
        "standoff_hours": round(float(standoffs["duration_h"].sum()), 6),
        "max_standoff_h": round(float(standoffs["duration_h"].max()), 6) if len(standoffs) else 0.0,
        "standoff_days": int(days.nunique()),
        "max_consecutive_standoff_days": longest_run_of_days(days),
        "helicopters_over_standoffs": int(standoffs["helicopters"].sum()),
        "trips": len(trips),
        "trips_unfinished": int(model.traffic.n_under_way),
        "trips_delayed": len(delayed),
        "trips_rerouted": int(trips["rerouted"].sum()),
        "vehicle_hours_delay": round(float(trips["delay_min"].sum()) / 60.0, 6),
        "mean_delay_of_delayed_min": round(float(delayed["delay_min"].mean()), 6)
        if len(delayed) else 0.0,
        "travel_time_index": round(float(trips["actual_min"].sum()) / free_flow, 9)
        if free_flow > 0 else float(np.nan),
        "missions": len(patrol_missions),
        "missions_reached": int((patrol_missions["outcome"] == "reached").sum()),
        "missions_turned_back": int((patrol_missions["outcome"] == "turned_back").sum()),
        "missions_rerouted": int(patrol_missions["rerouted"].sum()),
        "blocking_positions": int((missions["kind"] == "blocking").sum()),
    }
