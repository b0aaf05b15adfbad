"""Validation against the record: observations, the statistics, and ``sim patterns``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import InputError
from sim.experiments.observations import (
    STATISTICS,
    Observation,
    load_observations,
    measure,
)
from sim.experiments.patterns import patterns
from tests.conftest import line_nodes, two_patrols

LINE = line_nodes("abcd")
LINE_ROADS = [("a", "b", 10, 60), ("b", "c", 10, 60), ("c", "d", 10, 60)]
HEADER = ("pattern,description,reported,low,high,unit,window,area,statistic,model_scale,"
          "measured_as,use,incidents,sources,reasoning\n")


def test_the_shipped_record_holds_out_at_least_a_third_of_its_patterns():
    observations = load_observations()
    held = [o for o in observations if o.use == "hold_out"]
    assert len(observations) >= 10 and 3 * len(held) >= len(observations)
    assert all(o.statistic in STATISTICS and o.low <= o.high for o in observations)


@pytest.mark.parametrize(("row", "message"), [
    ("p,,,1,x,,,,usru_standoffs_per_month,1,,calibrate,,,", "is not a number"),
    ("p,,,3,1,,,,usru_standoffs_per_month,1,,calibrate,,,", "is not a range"),
    ("p,,,1,2,,,,standoffs_ever,1,,calibrate,,,", "statistic = 'standoffs_ever' is unknown"),
    ("p,,,1,2,,,,usru_standoffs_per_month,1,,fit,,,", "use = 'fit'"),
])
def test_a_bad_observations_row_is_refused_naming_the_row_and_the_fix(tmp_path, row, message):
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(InputError, match=r"obs\.csv") as err:
        load_observations(path)
    assert message in str(err.value) and "row 2 (p)" in str(err.value)


def test_the_distance_is_zero_inside_the_range_and_counts_widths_outside():
    """Range [4, 8]: 6 is inside; 10 is half a width out; a point value uses a quarter."""
    o = Observation("p", "", 4.0, 8.0, "usru_standoffs_per_month", 1.0, "calibrate")
    assert (o.distance(6.0), o.distance(10.0), o.distance(2.0)) == (0.0, 0.5, 0.5)
    point = Observation("q", "", 2.0, 2.0, "usru_standoffs_per_month", 1.0, "calibrate")
    assert point.distance(3.0) == pytest.approx(2.0)  # width 0.5
    assert o.distance(float("nan")) == o.distance(np.array(np.nan)) == o.distance(None) == 2.0


def test_the_statistics_of_a_run_with_one_known_standoff(write_scenario):
    """One day, one 2-hour US-RU standoff on a road in which RU gives way and turns back."""
    text = two_patrols(us_posture={"give_way": 0.0}, ru_posture={"give_way": 1.0},
                       civilians={"trips_per_day": 0})
    run = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    values = measure(run, list(STATISTICS))
    assert values["usru_standoffs_per_month"] == 30.0  # one a day
    assert values["usru_standoff_days_per_month"] == 30.0
    assert values["usru_duration_median_h"] == values["usru_duration_max_h"] == 2.0
    assert values["ru_yield_share"] == 1.0 and values["ru_turned_back_per_month"] == 30.0
    assert values["ru_only_blocked_share"] == 0.0  # both blocked
    assert values["villager_blockades_per_month"] == 0.0
    assert values["usru_longest_delay_h"] == 0.0  # nobody on the roads


def _tiny_record(tmp_path):
    path = tmp_path / "record.csv"
    path.write_text(HEADER
                    + "one_a_day,,,30,30,,,,usru_standoffs_per_month,1,,calibrate,,,\n"
                    + "two_hours,,,1.5,2.5,,,,usru_duration_median_h,1,,hold_out,,,\n"
                    + "many,,,100,200,,,,usru_standoffs_per_month,1,,hold_out,,,\n")
    return path


def test_patterns_set_each_observation_against_the_models_distribution(write_scenario,
                                                                      tmp_path):
    """With one standoff a day in every run, 30 a month is matched and 100-200 is not."""
    scenario = write_scenario(two_patrols(civilians={"trips_per_day": 0}), LINE, LINE_ROADS)
    table = patterns(scenario, replicates=3, observations=_tiny_record(tmp_path),
                     out=tmp_path / "report", workers=0).set_index("pattern")
    assert table.loc["one_a_day", ["model_median", "matched", "consistent"]].tolist() == [
        30.0, True, True]
    assert table.loc["two_hours", "matched"] and table.loc["two_hours", "use"] == "hold_out"
    assert not table.loc["many", "consistent"]
    folder = tmp_path / "report"
    assert {p.name for p in folder.iterdir()} == {"patterns.json", "patterns.csv",
                                                   "report.md", "runs.parquet"}
    assert len(pd.read_parquet(folder / "runs.parquet")) == 3
    manifest = json.loads((folder / "patterns.json").read_text())
    assert manifest["replicates"] == 3 and "mesa" in manifest["versions"]
    assert "| many | hold_out | 100-200 |" in (folder / "report.md").read_text()


def test_sim_patterns_writes_the_report_and_its_figure(write_scenario, tmp_path, run_cli):
    scenario = write_scenario(two_patrols(civilians={"trips_per_day": 0}), LINE, LINE_ROADS)
    status, out, err = run_cli("patterns", scenario, "--replicates", 2, "--observations",
                               _tiny_record(tmp_path), "--out", tmp_path / "r", "--workers",
                               0, "-q")
    assert status == 0, err
    assert "calibrate  1 of 1 patterns matched" in out and "OUTSIDE" in out
    assert (tmp_path / "r" / "figures" / "patterns.png").stat().st_size > 10_000
    status, out, _ = run_cli("plot", tmp_path / "r", "--out", tmp_path / "again")
    assert status == 0 and (tmp_path / "again" / "patterns.png").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--replicates", "0"], "--replicates = 0 must be >= 1"),
    (["--observations", "nowhere.csv"], "nowhere.csv: observations does not exist"),
])
def test_bad_pattern_options_exit_2_and_write_nothing(tmp_path, run_cli, args, message):
    status, _, err = run_cli("patterns", "derik-june-2020", *args, "--out", tmp_path / "r",
                             cwd=tmp_path)
    assert status == 2 and message in err
    assert not (tmp_path / "r").exists()
