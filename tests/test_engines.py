"""The column engine gives the reference engine's answers, row for row.

Both engines run the same scenario and seed; every log (standoffs, trips,
missions, time series) and the summary must be equal exactly, not
approximately: the project promises bit-identical logs for a scenario and seed,
whichever engine made them. ``PATROL_SIM_ENGINE_SEEDS=10`` widens the slow check
to ten seeds of every shipped scenario.
"""

from __future__ import annotations

import os

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.core.model import PatrolModel
from sim.errors import InputError
from sim.io.results import RunResult
from sim.scenario.loading import shipped_scenarios
from sim.viz.positions import snapshot
from tests.conftest import line_nodes, two_patrols

LOGS = ("standoffs", "trips", "missions", "timeseries")


def run(engine: str, scenario, seed: int, **params) -> RunResult:
    model = PatrolModel(scenario, rng=seed, traffic_engine=engine, **params)
    model.run_model()
    return RunResult.from_model(model)


def assert_same_answers(scenario, seed: int, **params) -> RunResult:
    """Run both engines; every log and the summary must be equal. Returns the column run."""
    reference = run("reference", scenario, seed, **params)
    columns = run("columns", scenario, seed, **params)
    for name in LOGS:
        pd.testing.assert_frame_equal(getattr(reference, name), getattr(columns, name),
                                      check_exact=True, obj=name)
    assert columns.summary == reference.summary
    return columns


@pytest.mark.parametrize(("scenario", "seed"), [("derik-june-2020", 1), ("villagers-resist", 2),
                                                ("qasr-dib-base", 3)])
def test_the_column_engine_logs_what_the_reference_engine_logs(scenario, seed):
    """Ten days of shipped scenarios with standoffs: the same logs, row for row."""
    result = assert_same_answers(scenario, seed, days=10)
    assert (result.trips["delay_min"] > 0).any()  # closures did stop trips


def test_the_engines_agree_at_ten_times_the_demand():
    """24,000 trips a day: more trips meet each closure; still the same logs."""
    result = assert_same_answers("derik-june-2020", 1, days=3,
                                 **{"civilians.trips_per_day": 24000})
    assert (result.trips["delay_min"] > 0).sum() > 100


def test_the_engines_agree_where_trips_are_held_on_the_road_and_detour(write_scenario):
    """A standoff on b-c of a short line and a loop around it: holds, queues and detours."""
    nodes = {**line_nodes("abcd"), "e": (37.01, 42.015)}
    roads = [("a", "b", 10, 60), ("b", "c", 10, 60), ("c", "d", 10, 60),
             ("b", "e", 12, 60), ("e", "c", 12, 60)]
    text = two_patrols(us={"dwell_h": 30.0}, ru={"dwell_h": 30.0},
                       civilians={"trips_per_day": 3000, "village_population": 1000,
                                   "patience_median_min": 20.0})
    result = assert_same_answers(write_scenario(text, nodes, roads), 3)
    assert result.trips["rerouted"].any() and (result.trips["delay_min"] > 0).any()


@pytest.mark.parametrize("params", [{"days": 1.6}, {"days": 2, "civilians.trips_per_day": 0},
                                    {"days": 0.01}])
def test_the_engines_agree_at_the_edges(params):
    """A horizon in mid-day (trips still under way), no demand, and a run too short for any."""
    result = assert_same_answers("villagers-resist", 5, **params)
    assert result.summary["trips_unfinished"] >= 0


def test_asking_for_the_log_mid_run_changes_nothing():
    """The column log is built when asked for; asking early, twice, then at the end is fine."""
    model = PatrolModel("villagers-resist", rng=6, days=5, traffic_engine="columns")
    for until in (1.5 * 1440, 1.5 * 1440, 3.2 * 1440):
        model.events.run_until(until)
        early = RunResult.from_model(model).trips
        assert len(early) == len(model.traffic.log) > 0
        assert (early["arrive"] <= early["depart"].min() + pd.Timedelta(minutes=until)).all()
    model.run_model()
    late = RunResult.from_model(model)
    reference = run("reference", "villagers-resist", 6, days=5)
    pd.testing.assert_frame_equal(reference.trips, late.trips, check_exact=True)


def test_the_engines_agree_tick_by_tick():
    """step() one minute at a time (as batch_run and the app run it): every tick's counters."""
    models = {engine: PatrolModel("derik-june-2020", rng=2, days=1, traffic_engine=engine)
              for engine in ("reference", "columns")}
    for model in models.values():
        while model.running:
            model.step()
    frames = {e: m.datacollector.get_model_vars_dataframe() for e, m in models.items()}
    pd.testing.assert_frame_equal(frames["reference"], frames["columns"], check_exact=True)
    assert frames["columns"]["trips_under_way"].max() > 0


def test_civilian_vehicles_are_where_the_reference_engine_puts_them():
    """Positions on demand: the same civilian positions (held or moving) at any moment."""
    models = {engine: PatrolModel("villagers-resist", rng=2, days=2, traffic_engine=engine)
              for engine in ("reference", "columns")}
    seen_held, seen = False, 0
    for minute in range(60, 2 * 1440, 97):
        spots = {}
        for engine, model in models.items():
            model.events.run_until(float(minute))
            s = snapshot(model)
            spots[engine] = sorted(zip(s.civilian_lat.round(9), s.civilian_lon.round(9),
                                       s.civilian_held, strict=True))
            seen_held |= bool(s.civilian_held.any())
        assert spots["columns"] == spots["reference"]
        seen += len(spots["columns"])
    assert seen_held and seen > 1000


def test_an_unknown_engine_is_refused_naming_the_choices():
    """traffic_engine is checked like any input."""
    with pytest.raises(InputError, match="columns, reference"):
        PatrolModel("derik-june-2020", rng=1, days=1, traffic_engine="fast")


def test_batch_run_can_choose_the_engine():
    """mesa.batch_run passes traffic_engine like any parameter; both give the same rows."""
    rows = mesa.batch_run(PatrolModel, parameters={"seed": 3, "days": 1,
                                                   "traffic_engine": ["reference", "columns"]},
                          max_steps=1440, display_progress=False, number_processes=1)
    keep = ("standoffs", "vehicle_hours_delay", "trips_under_way", "queued_vehicles")
    assert [rows[0][k] for k in keep] == [rows[1][k] for k in keep]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(shipped_scenarios()))
def test_every_shipped_scenario_gives_the_same_answers(scenario):
    """30 days of every shipped scenario, several seeds (PATROL_SIM_ENGINE_SEEDS, default 2)."""
    for seed in range(1, int(os.environ.get("PATROL_SIM_ENGINE_SEEDS", "2")) + 1):
        result = assert_same_answers(scenario, seed)
        assert np.isfinite(result.summary["travel_time_index"])
