"""Run results: stable columns, simulated datetimes, provenance, atomic writing."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim.errors import InputError
from sim.io.results import LOGS, RunResult

REQUIRED = {
    "standoffs": ["standoff_id", "start", "end", "duration_h", "place", "lat", "lon", "road",
                  "force_a", "force_b", "vehicles_a", "vehicles_b", "helicopters", "outcome"],
    "trips": ["trip_id", "origin", "destination", "depart", "arrive", "free_flow_min",
              "actual_min", "delay_min", "cause", "rerouted"],
    "missions": ["mission_id", "force", "base", "target", "depart", "end", "outcome"],
}


def test_every_log_has_the_documented_columns(baseline_run):
    for name, columns in REQUIRED.items():
        frame = getattr(baseline_run, name)
        assert [c for c in frame.columns if c in columns] == columns, name
        assert len(frame) > 0, name


def test_an_empty_log_has_the_columns_and_types_of_a_full_one(baseline_run):
    """A run too short for any standoff or mission: the same columns, the same types."""
    empty = sim.run("derik-june-2020", seed=1, days=0.1)
    for name in ("standoffs", "missions"):
        frame = getattr(empty, name)
        assert len(frame) == 0 and len(getattr(baseline_run, name)) > 0, name
        pd.testing.assert_series_equal(frame.dtypes, getattr(baseline_run, name).dtypes)


def test_a_missing_time_is_not_a_time_and_others_keep_the_second():
    """``reached`` of a mission that never got there is NaT; times round to the second."""
    from sim.io.results import _clock

    start = pd.Timestamp("2020-06-01").to_pydatetime()
    times = pd.Series(_clock(start, [0.0, float("nan"), 1.4 / 60, 1440.0]))
    assert times[1] is pd.NaT and times[0] == pd.Timestamp("2020-06-01")
    assert times[2] == pd.Timestamp("2020-06-01 00:00:00") + pd.Timedelta(seconds=1)
    assert times[3] == pd.Timestamp("2020-06-02")


def test_times_are_simulated_datetimes_from_the_scenario_start(baseline_run):
    start, horizon = pd.Timestamp("2020-06-01"), pd.Timestamp("2020-06-08")
    for frame, column in ((baseline_run.standoffs, "start"), (baseline_run.trips, "depart"),
                          (baseline_run.missions, "depart"), (baseline_run.timeseries, "time")):
        assert pd.api.types.is_datetime64_any_dtype(frame[column])
        assert frame[column].min() >= start and frame[column].max() <= horizon
    assert set(baseline_run.missions["outcome"]) <= {"reached", "turned_back", "unfinished"}


def test_the_summary_agrees_with_the_logs(baseline_run):
    s, standoffs, trips = baseline_run.summary, baseline_run.standoffs, baseline_run.trips
    assert s["standoffs"] == len(standoffs)
    assert s["standoff_hours"] == pytest.approx(standoffs["duration_h"].sum())
    assert s["vehicle_hours_delay"] == pytest.approx(trips["delay_min"].sum() / 60)
    assert s["travel_time_index"] == pytest.approx(
        trips["actual_min"].sum() / trips["free_flow_min"].sum())
    assert s["trips"] == len(trips)


def test_the_run_records_how_it_was_made(baseline_run):
    p = baseline_run.provenance
    assert (p["scenario"], p["seed"], p["days"]) == ("derik-june-2020", 7, 7)
    assert len(p["scenario_sha256"]) == 64
    assert p["scenario_content"]["forces"]["US"]["posture"]["block"] == 0.55
    assert {"patrol-sim", "mesa", "python", "numpy", "pandas"} <= set(p["versions"])
    assert p["overrides"] == {"days": 7}


def test_overrides_change_the_recorded_scenario_hash():
    a = sim.run(seed=1, days=1).provenance
    b = sim.run(seed=1, days=1, overrides={"forces.US.posture.block": 0.1}).provenance
    assert a["scenario_sha256"] != b["scenario_sha256"]


def test_a_written_run_reads_back_unchanged(baseline_run, tmp_path):
    folder = baseline_run.write(tmp_path / "run", csv=True)
    again = RunResult.read(folder)
    for name in LOGS:
        pd.testing.assert_frame_equal(getattr(baseline_run, name), getattr(again, name))
    assert again.summary == baseline_run.summary
    assert pd.read_csv(folder / "trips.csv").shape == baseline_run.trips.shape


def test_a_failure_while_writing_leaves_nothing_behind(baseline_run, tmp_path):
    """A log that cannot be written: no output folder, no temporary folder left."""
    broken = RunResult(baseline_run.standoffs, baseline_run.trips,
                       pd.DataFrame({"bad": [object()]}), baseline_run.timeseries)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever pyarrow raises
        broken.write(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_rewriting_a_run_folder_replaces_it_but_other_folders_are_never_overwritten(
        baseline_run, tmp_path):
    target = tmp_path / "run"
    baseline_run.write(target)
    baseline_run.write(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("...")
    with pytest.raises(InputError, match="exists and is not a run folder"):
        baseline_run.write(precious)
    assert (precious / "chapter1.tex").read_text() == "..."


def test_a_run_of_a_scenario_spec_records_its_name_not_its_repr():
    """``sim.run(spec)`` names the scenario in the provenance as a reader would."""
    spec = sim.load_scenario("derik-june-2020", {"days": 0.5})[0]
    result = sim.run(spec, seed=1)
    assert result.provenance["scenario_ref"] == "derik-june-2020"
    assert result.provenance["scenario_sha256"] == spec.content_hash()


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_every_file_written_follows_the_users_umask(baseline_run, tmp_path, mask):
    """Sweep, run and GeoJSON files are readable by whom the umask allows, not owner-only."""
    import os
    import stat

    from sim.io.geojson import export_geojson

    old = os.umask(mask)
    try:
        baseline_run.write(tmp_path / "run")
        export_geojson(tmp_path / "run")
        spec = tmp_path / "s.toml"
        spec.write_text('name = "s"\nscenario = "derik-june-2020"\ndays = 0.25\n'
                        'replicates = 2\n[design]\nkind = "grid"\n'
                        '[parameters."forces.US.posture.block"]\nvalues = [0.2, 0.8]\n')
        sim.sweep(spec, out=tmp_path / "sweep", workers=0, quiet=True)
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.name != "s.toml"]
    assert len(files) > 10
    for path in files:
        want = (0o777 if path.is_dir() else 0o666) & ~mask
        assert stat.S_IMODE(path.stat().st_mode) == want, path
