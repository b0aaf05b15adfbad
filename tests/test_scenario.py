"""Scenario files: valid ones load; every kind of bad input gets one clear error."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.errors import InputError
from sim.scenario.binding import build_network
from sim.scenario.loading import load_scenario, read_raw, resolve_path

BASELINE = resolve_path("derik-june-2020")


def check(path):
    """Load and bind a scenario, as `sim validate` does."""
    spec, source = load_scenario(path)
    build_network(spec, source)
    return spec


def error_of(path) -> str:
    with pytest.raises(InputError) as err:
        check(path)
    return str(err.value)


def test_overrides_by_dotted_name_reach_every_level():
    """Forces, missions and top-level values can all be set by name."""
    spec, _ = load_scenario("derik-june-2020", {"forces.US.posture.block": 0.25,
                                               "missions.ru_derik.per_day": 2.0, "days": 3})
    assert spec.forces["US"].posture.block == 0.25
    assert spec.missions["ru_derik"].per_day == 2.0 and spec.days == 3


def test_a_variant_inherits_everything_it_does_not_change():
    """qasr-dib-base extends the baseline: same forces but one table, more missions."""
    base, _ = load_scenario("derik-june-2020")
    variant, _ = load_scenario("qasr-dib-base")
    assert {k: f for k, f in variant.forces.items() if k != "US"} == {
        k: f for k, f in base.forces.items() if k != "US"}
    assert variant.forces["US"].posture == base.forces["US"].posture
    assert variant.forces["US"].blocking.protect == ("derik", "qasr_dib")
    assert variant.forces["US"].blocking.hold_h == base.forces["US"].blocking.hold_h
    assert set(base.missions) < set(variant.missions)
    assert variant.villagers["qasr_dib"].block == 0.8


def test_malformed_toml_names_the_file_and_the_line(write_scenario):
    path = write_scenario("days = = 3\n")
    assert "test.toml" in error_of(path) and "line 4" in error_of(path)


def test_an_unknown_key_names_the_field_and_what_is_allowed(write_scenario):
    path = write_scenario("""
    extends = "derik-june-2020"
    [forces.US.posture]
    blok = 0.4
    """)
    message = error_of(path)
    assert "test.toml: forces.US.posture.blok is not a known key" in message
    assert "allowed here: block, give_way" in message


def test_an_unknown_place_names_the_field_and_suggests_a_fix(write_scenario):
    path = write_scenario("""
    extends = "derik-june-2020"
    [missions.ru_derik]
    target = "derrik"
    """)
    message = error_of(path)
    assert "missions.ru_derik.target = 'derrik' is not a place of the network" in message
    assert "did you mean derik" in message


@pytest.mark.parametrize(("table", "field", "value", "expect"), [
    ("missions.ru_derik", "per_day", -0.5, "missions.ru_derik.per_day = -0.5 must be >= 0"),
    ("encounters", "duration_median_h", -1.0, "encounters.duration_median_h = -1.0 must be > 0"),
    ("forces.RU.posture", "block", 1.4, "forces.RU.posture.block = 1.4 must be a probability"),
    ("villagers.derik", "duration_median_h", 0.0, "duration_median_h = 0.0 must be > 0"),
    ("civilians", "trips_per_day", -10, "civilians.trips_per_day = -10 must be >= 0"),
])
def test_a_negative_rate_or_duration_is_refused_with_its_name(write_scenario, table, field,
                                                             value, expect):
    path = write_scenario(f'extends = "derik-june-2020"\n[{table}]\n{field} = {value}\n')
    assert expect in error_of(path)


def test_every_problem_is_reported_in_one_pass(write_scenario):
    path = write_scenario("""
    extends = "derik-june-2020"
    [forces.US.posture]
    block = 2.0
    [missions.ru_derik]
    per_day = -1
    [encounters]
    force_through_ratio = 0.5
    """)
    message = error_of(path)
    assert "3 problems" in message
    for field in ("forces.US.posture.block", "missions.ru_derik.per_day",
                  "encounters.force_through_ratio"):
        assert field in message


def test_an_unknown_force_in_a_rivalry_or_mission_is_named(write_scenario):
    path = write_scenario("""
    extends = "derik-june-2020"
    rivalries = [["US", "XX"]]
    [missions.ru_derik]
    force = "YY"
    """)
    message = error_of(path)
    assert "rivalries[0][1] = 'XX' is not a force" in message
    assert "missions.ru_derik.force = 'YY' is not a force" in message


def test_an_extends_cycle_is_refused(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\nname = "a"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "b"\n')
    with pytest.raises(InputError, match="extends forms a cycle"):
        load_scenario(tmp_path / "a.toml")


def test_a_bare_name_is_a_shipped_scenario_never_a_file_nearby(tmp_path, monkeypatch):
    """A file named like a shipped scenario does not shadow it; a near miss gets suggestions."""
    (tmp_path / "derik-june-2020.toml").write_text('extends = "derik-june-2020"\nname = "x"\n'
                                                   '[civilians]\ntrips_per_day = 5\n')
    monkeypatch.chdir(tmp_path)
    assert load_scenario("derik-june-2020")[0].name == "derik-june-2020"
    assert load_scenario(tmp_path / "derik-june-2020.toml")[0].civilians.trips_per_day == 5
    with pytest.raises(InputError, match="did you mean derik-june-2020"):
        load_scenario("derik-june-2002")
    (tmp_path / "mine.toml").write_text('extends = "derik-june-2020"\nname = "mine"\n')
    with pytest.raises(InputError, match=r"for the file .*mine\.toml, write 'mine\.toml'"):
        load_scenario("mine")


def test_paths_in_a_scenario_resolve_from_its_own_folder_not_the_working_directory(
        tmp_path, monkeypatch):
    sub = tmp_path / "study" / "sub"
    sub.mkdir(parents=True)
    (sub / "parent.toml").write_text('extends = "derik-june-2020"\nname = "parent"\n'
                                     '[civilians]\ntrips_per_day = 7\n')
    (tmp_path / "study" / "child.toml").write_text('extends = "sub/parent.toml"\n'
                                                  'name = "child"\n')
    (tmp_path / "sub").mkdir()  # a decoy beside the working directory
    (tmp_path / "sub" / "parent.toml").write_text('extends = "derik-june-2020"\n'
                                                  'name = "decoy"\n')
    monkeypatch.chdir(tmp_path)
    spec, _ = load_scenario("study/child.toml")
    assert spec.name == "child" and spec.civilians.trips_per_day == 7


def test_an_override_of_a_parameter_that_does_not_exist_is_refused():
    with pytest.raises(InputError, match=re.escape(
            "forces.US.posture.blok is not a scenario parameter (did you mean "
            "forces.US.posture.block")):
        load_scenario("derik-june-2020", {"forces.US.posture.blok": 0.5})


def test_an_unknown_scenario_name_lists_the_shipped_ones():
    with pytest.raises(InputError, match="shipped: deconfliction, derik-june-2020"):
        load_scenario("no-such-scenario")


def test_a_place_far_from_a_user_network_is_refused(write_scenario):
    nodes = {"a": (37.0, 42.0), "b": (37.0, 42.01)}
    path = write_scenario("[forces.US]\n[places.far]\nlat = 37.5\nlon = 42.5\n", nodes,
                          [("a", "b", 1, 50)])
    assert "places.far lies" in error_of(path) and "km from the nearest road node" in error_of(
        path)


# -- property: any mutation of a valid scenario is either valid or one clear error --------

BASE_RAW = read_raw(BASELINE)


def numeric_leaves(tree, prefix=()):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from numeric_leaves(value, (*prefix, key))
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield prefix


LEAVES = sorted(numeric_leaves(BASE_RAW))
BAD_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5), st.booleans(),
    st.lists(st.integers(), max_size=3), st.none())
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def toml_dump(tree, prefix="") -> str:
    scalars = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in tree.items() if isinstance(v, dict)}
    lines = [f"{key} = {literal(value)}" for key, value in scalars.items()]
    if prefix and lines:
        lines.insert(0, f"[{prefix}]")
    text = "\n".join(lines) + "\n"
    for key, value in tables.items():
        name = f'"{key}"' if "+" in key else key
        text += toml_dump(value, f"{prefix}.{name}" if prefix else name)
    return text


def literal(value) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def test_the_toml_writer_of_these_tests_round_trips_the_baseline():
    assert tomllib.loads(toml_dump(BASE_RAW)) == BASE_RAW


@SETTINGS
@given(leaf=st.sampled_from(LEAVES), value=BAD_VALUES)
def test_any_mutated_value_gives_a_valid_scenario_or_a_scenario_error(tmp_path, leaf, value):
    """Never a traceback: a mutated parameter either validates or is named in the error."""
    import copy

    raw = copy.deepcopy(BASE_RAW)
    node = raw
    for key in leaf[:-1]:
        node = node[key]
    node[leaf[-1]] = value
    path = tmp_path / "mutated.toml"
    path.write_text(toml_dump(raw), encoding="utf-8")
    try:
        spec = check(path)
    except InputError as exc:
        assert "mutated.toml" in str(exc)
        assert ".".join(leaf[-1:]) in str(exc) or leaf[0] in str(exc)
    else:
        assert isinstance(spec, sim.ScenarioSpec)


@SETTINGS
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
       table=st.sampled_from(["", "forces.US", "forces.US.posture", "missions.ru_derik",
                              "encounters", "civilians", "villagers.derik"]))
def test_any_unknown_key_is_named_in_the_error(tmp_path, key, table):
    """Inserting a key the schema does not know is always refused, naming it."""
    import copy

    raw = copy.deepcopy(BASE_RAW)
    node = raw
    for part in filter(None, table.split(".")):
        node = node[part]
    if key in node:
        return
    node[key] = 1
    path = tmp_path / "extra.toml"
    path.write_text(toml_dump(raw), encoding="utf-8")
    with pytest.raises(InputError, match=f"{key} is not a known key"):
        check(Path(path))


def test_a_sweep_file_named_like_a_shipped_scenario_sweeps_that_scenario(tmp_path):
    """It used to load itself as its own base scenario."""
    path = tmp_path / "derik-june-2020.toml"
    path.write_text('name = "s"\nscenario = "derik-june-2020"\ndays = 0.25\nreplicates = 1\n'
                    '[design]\nkind = "grid"\n[parameters."forces.US.posture.block"]\n'
                    'values = [0.2, 0.8]\n')
    table = sim.sweep(path, out=tmp_path / "out", workers=0, quiet=True)
    assert len(table) == 2 and (table["status"] == "ok").all()


def test_a_sweeps_scenario_path_resolves_from_the_sweep_file_not_the_working_directory(
        tmp_path, monkeypatch):
    for folder, trips in ((tmp_path / "study" / "sub", 7), (tmp_path / "sub", 9000)):
        folder.mkdir(parents=True)
        (folder / "x.toml").write_text(f'extends = "derik-june-2020"\nname = "x{trips}"\n'
                                       f'[civilians]\ntrips_per_day = {trips}\n')
    (tmp_path / "study" / "s.toml").write_text(
        'name = "s"\nscenario = "sub/x.toml"\ndays = 0.25\nreplicates = 1\n[design]\n'
        'kind = "grid"\n[parameters."forces.US.posture.block"]\nvalues = [0.5]\n')
    monkeypatch.chdir(tmp_path)  # where the decoy sub/x.toml is
    table = sim.sweep("study/s.toml", out="out", workers=0, quiet=True)
    assert table["trips"].iloc[0] < 100  # 7 trips a day for a quarter day; the decoy has 9000
