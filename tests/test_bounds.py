"""Every number a scenario holds is bounded: any value is refused up front or runs to the end.

A hypothesis test draws extreme values (infinities, NaN, huge, tiny, negative) for
every numeric parameter of the baseline and checks each is either an InputError
(exit 2 from the CLI) before anything runs, or a run that ends with strict JSON.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.errors import InputError
from sim.scenario.loading import load_scenario
from sim.scenario.overrides import leaf_names, parameter_value

BASELINE = load_scenario("derik-june-2020")[0].model_dump()
NUMERIC = [n for n in leaf_names(BASELINE)
           if isinstance(parameter_value(BASELINE, n), int | float)
           and not isinstance(parameter_value(BASELINE, n), bool)]
EXTREMES = st.sampled_from([math.inf, -math.inf, math.nan, 0, -1, 1e-300, 1e-9, 0.5, 1, 2,
                            1e3, 1e6, 1e9, 1e300, 10**8, 10**18])
VALUES = st.one_of(EXTREMES, st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(min_value=-10**12, max_value=10**12))


def _no_constants(text: str) -> dict:
    """Parse JSON refusing NaN and Infinity, as strict readers do."""
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_every_numeric_parameter_of_the_baseline_is_drawn():
    assert len(NUMERIC) > 90 and "forces.US.helicopters" in NUMERIC and "days" in NUMERIC


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(NUMERIC), value=VALUES)
def test_any_value_is_refused_by_validation_or_runs_to_completion(tmp_path, name, value):
    days = value if name == "days" else 0.25
    try:
        load_scenario("derik-june-2020", {name: value, "days": days})
    except InputError as exc:
        assert name.split(".")[-1] in str(exc) or "run would log" in str(exc)
        return
    if name == "days" and value > 1:
        return  # valid and long: running it here would only cost time
    result = sim.run("derik-june-2020", seed=1, overrides={name: value, "days": days})
    folder = result.write(tmp_path / "run")
    record = _no_constants((folder / "run.json").read_text())
    assert record["summary"]["days"] == pytest.approx(days)


@pytest.mark.parametrize(("setting", "message"), [
    ("days=inf", "days = inf must be a finite number"),
    ("encounters.duration_median_h=1e309", "must be a finite number"),
    ("forces.US.helicopters=100000000", "forces.US.helicopters = 100000000 must be at most 1000"),
    ("report_every_min=1e-7", "report_every_min = 1e-07 must be >= 1"),
    ("tick_min=1e-9", "tick_min = 1e-09 must be >= 0.1"),
    ("villagers.derik.duration_sigma=1000", "must be at most 5"),
    ("civilians.trips_per_day=900000", "the run would log about 27,000,000 civilian trips"),
    ("start=9999-12-01T00:00:00", "start = 9999-12-01 00:00:00 must be a date between 1900"),
    ('name="../../x"', "must be a plain name"),
])
def test_the_cli_refuses_values_that_would_crash_or_hang_with_exit_2(tmp_path, run_cli, setting,
                                                                    message):
    status, _, err = run_cli("run", "derik-june-2020", "--seed", 1, "--set", setting,
                               cwd=tmp_path)
    assert status == 2 and message in err, err
    assert not (tmp_path / "runs").exists()
    status, _, err = run_cli("validate", "derik-june-2020", "--set", setting, cwd=tmp_path)
    assert status == 2 and message in err


def test_run_json_is_strict_json_even_when_a_figure_is_undefined(tmp_path):
    """A run with no civilian trips has no mean delay: null, never NaN."""
    result = sim.run("derik-june-2020", seed=1, days=0.25,
                     overrides={"civilians.trips_per_day": 0})
    record = _no_constants((result.write(tmp_path / "run") / "run.json").read_text())
    assert record["summary"]["trips"] == 0


def test_a_toml_file_nested_too_deeply_is_refused_not_a_traceback(tmp_path, run_cli):
    path = tmp_path / "deep.toml"
    path.write_text('name = "deep"\nx = ' + "[" * 20000 + "]" * 20000 + "\n")
    status, _, err = run_cli("validate", path)
    assert status == 2 and "deep.toml: is nested too deeply to read" in err
