"""The mechanisms taken from the record: each rule on a tiny network, against a worked answer.

Roads are 10 km at 60 km/h (10 minutes) unless said otherwise; standoffs between sides of
middling resolve last exactly 2 h (median 2, no spread, no helicopters), and 12 minutes
between two sides that both always give way (resolve floored at 0.1). Times are minutes
since the start.
"""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim.core.draws import Streams
from sim.core.sorties import mission_departures
from tests.conftest import line_nodes, two_patrols

T0 = pd.Timestamp("2020-06-01")
LINE = line_nodes("abcd")
LINE_ROADS = [("a", "b", 10, 60), ("b", "c", 10, 60), ("c", "d", 10, 60)]


def minutes(stamp) -> float:
    return (stamp - T0).total_seconds() / 60.0


def mission(result, name: str) -> pd.Series:
    return result.missions.set_index("mission").loc[name]


# -- 1. turned back, a patrol goes home around where it was stopped ------------------------

LOOP = {"a": (37.0, 42.0), "c": (37.0, 42.01), "b": (37.01, 42.01), "d": (37.0, 42.02)}
LOOP_ROADS = [("a", "c", 10, 60), ("c", "b", 10, 60), ("c", "d", 10, 60), ("b", "a", 100, 60)]


def test_a_patrol_turned_back_goes_home_around_the_place_that_stopped_it(write_scenario):
    """RU (a → b → d, through c twice) is stopped at c on its second pass, by US holding c.

    RU: a→c 01:10, c→b 01:20, b→c 01:30: US (from d at 01:15, at c 01:25) holds c; the
    standoff runs 01:30-03:30 and RU yields. Fastest home from b is back through c (20 min);
    around it, b→a direct (100 km). So RU drives c→b, b→a and is home at 03:30 + 110 min.
    """
    text = two_patrols(
        ru={"base": "a", "via": ["b"], "target": "d"},
        us={"base": "d", "target": "c", "schedule_h": [1.25], "dwell_h": 6.0},
        us_posture={"give_way": 0.0}, ru_posture={"give_way": 1.0})
    result = sim.run(write_scenario(text, LOOP, LOOP_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.place, row.road, minutes(row.start), row.outcome) == ("c", "b--c", 90.0,
                                                                       "turned_back")
    ru = mission(result, "ru")
    assert (ru["outcome"], ru["n_standoffs"]) == ("turned_back", 1)
    assert minutes(ru["end"]) == pytest.approx(210.0 + 110.0)


# -- 2. two units have one standoff a sortie ----------------------------------------------

def test_two_units_that_had_a_standoff_at_a_place_do_not_have_another(write_scenario):
    """US holds c from 00:10 for 5 h; RU meets it there at 01:20; both pass at 01:32.

    RU reaches d 01:42, holds 30 min, and drives home through c at 02:22 while US still holds
    it (to 05:22): no second standoff. RU is home at 02:42.
    """
    text = two_patrols(us={"base": "d", "target": "c", "schedule_h": [0.0], "dwell_h": 5.0},
                       us_posture={"give_way": 1.0}, ru_posture={"give_way": 1.0},
                       ru={"base": "a", "target": "d"})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    assert result.standoffs["outcome"].tolist() == ["both_passed"]
    ru = mission(result, "ru")
    assert (ru["outcome"], minutes(ru["end"])) == ("reached", pytest.approx(162.0))


def _head_on_twice(write_scenario, **encounters):
    """US a→d and RU d→a meet on b-c at 01:15, both pass at 01:27; home, they cross at 02:27."""
    text = two_patrols(us_posture={"give_way": 1.0}, ru_posture={"give_way": 1.0},
                       encounters=encounters)
    return sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)


def test_two_units_that_had_a_standoff_on_a_road_do_not_have_another_on_the_way_home(
        write_scenario):
    """Unless ``rematch_after_h`` is set, the second crossing is no standoff."""
    result = _head_on_twice(write_scenario)
    assert len(result.standoffs) == 1
    assert [minutes(t) for t in result.missions["end"]] == [162.0, 162.0]


def test_rematch_after_h_lets_them_meet_again_once_it_has_passed(write_scenario):
    """With half an hour's grace after the first standoff (ended 01:27), 02:27 is a new one."""
    result = _head_on_twice(write_scenario, rematch_after_h=0.5)
    assert [minutes(t) for t in result.standoffs["start"]] == [75.0, 147.0]


# -- 3. blocking positions answer a trigger, at a crossroads on the approach ---------------

CROSS = {"a": (37.0, 42.0), "x": (37.0, 42.01), "d": (37.0, 42.02), "u": (37.01, 42.01),
         "z": (37.02, 42.02)}
CROSS_ROADS = [("a", "x", 30, 60), ("x", "d", 30, 60), ("x", "u", 5, 60), ("d", "z", 5, 60)]


def _blocking(**blocking) -> dict:
    return {"forces.US.blocking": {"base": "u", "speed_kmh": 60.0, "lead_min": 10.0,
                                   "hold_h": 3.0, **blocking}}


def test_a_rival_setting_out_for_a_protected_place_draws_a_position_to_its_approach(
        write_scenario):
    """RU a→z passes protected d: US (5 min from x) holds x, the crossroads 30 km before d."""
    text = two_patrols(us={"schedule_h": []}, ru={"base": "a", "target": "z"},
                       us_posture={"deploy_blocking": 1.0}, tables=_blocking(protect=["d"]))
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    block = result.missions.set_index("kind").loc["blocking"]
    assert (block["target"], minutes(block["depart"])) == ("x", 60.0)
    (row,) = result.standoffs.itertuples()
    assert (row.kind, row.place, minutes(row.start)) == ("blocking_position", "x", 90.0)


def test_no_position_is_sent_for_a_rival_that_does_not_approach_a_protected_place(
        write_scenario):
    """RU a→d guards nothing the US protects (z): no trigger, no position."""
    text = two_patrols(us={"schedule_h": []}, ru={"base": "a", "target": "d"},
                       us_posture={"deploy_blocking": 1.0}, tables=_blocking(protect=["z"]))
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    assert (result.missions["kind"] == "patrol").all()


def test_a_villagers_blockade_at_a_protected_place_draws_a_position_to_the_approach(
        write_scenario):
    """Villagers at d stop RU at 02:00; the US answers by holding x (no lead needed)."""
    text = two_patrols(
        us={"schedule_h": []}, ru={"base": "a", "target": "z"},
        us_posture={"deploy_blocking": 1.0},
        tables={**_blocking(protect=["d"], triggers=["villagers"]),
                "villagers.d_people": {"place": "d", "oppose": ["RU"], "block": 1.0,
                                       "duration_median_h": 1.0, "duration_sigma": 0.0}})
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    block = result.missions.set_index("kind").loc["blocking"]
    assert (block["target"], minutes(block["depart"])) == ("x", 120.0)
    assert result.standoffs["kind"].tolist()[0] == "villagers"


def test_a_position_blocks_with_its_own_probability(write_scenario):
    """``blocking.block = 0``: the position holds x but lets RU through (the force blocks at 1)."""
    text = two_patrols(us={"schedule_h": []}, ru={"base": "a", "target": "z"},
                       us_posture={"deploy_blocking": 1.0, "block": 1.0},
                       ru_posture={"block": 0.0}, tables=_blocking(protect=["d"], block=0.0))
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    assert (result.missions["kind"] == "blocking").any() and result.standoffs.empty


# -- 4. route choice per force ------------------------------------------------------------

FORK = {"a": (37.0, 42.0), "d": (37.0, 42.02), "t": (37.01, 42.01)}


def test_a_force_that_prefers_tracks_takes_them_though_they_are_slower(write_scenario):
    """a→d: a main road (20 km, 20 min) or a track via t (2 x 10 km at 40 km/h, 30 min).

    RU plans tracks at half their time (15 min < 20): it drives via t and arrives after 30
    minutes; US plans by time and takes the main road (20 minutes).
    """
    text = two_patrols(us={"base": "a", "target": "d", "schedule_h": [5.0]},
                       ru={"base": "a", "target": "d"},
                       tables={"forces.RU.routing": {"road_class": {"track": 0.5}}})
    roads = [("a", "d", 20, 60, "primary"), ("a", "t", 10, 40, "track"),
             ("t", "d", 10, 40, "track")]
    result = sim.run(write_scenario(text, FORK, roads), seed=1)
    assert minutes(mission(result, "ru")["reached"]) == pytest.approx(60.0 + 30.0)
    assert minutes(mission(result, "us")["reached"]) == pytest.approx(300.0 + 20.0)


# -- 5. a standoff at a place shuts the approach, not the place ------------------------------

STAR = {"b": (37.0, 41.99), "c": (37.0, 42.0), "d": (37.0, 42.01), "e": (37.01, 42.0)}
STAR_ROADS = [("b", "c", 10, 60), ("c", "d", 10, 60), ("c", "e", 10, 60), ("d", "e", 15, 60)]


def test_a_standoff_at_a_town_shuts_only_the_road_the_rival_came_in_on(write_scenario):
    """US holds c from 08:10; RU from d reaches it at 09:10: road c-d is shut for 2 h, c is not.

    Traffic between b, c and e goes through c all the while, undelayed; only trips over
    c-d are held, and those from or to d may detour by d-e once their patience runs out.
    """
    text = two_patrols(us={"base": "b", "target": "c", "schedule_h": [8.0], "dwell_h": 6.0},
                       ru={"base": "d", "target": "b", "schedule_h": [9.0]},
                       civilians={"trips_per_day": 3000})
    result = sim.run(write_scenario(text, STAR, STAR_ROADS), seed=3)
    (row,) = result.standoffs.itertuples()
    assert (row.place, row.road, row.at_place) == ("c", "c--d", True)
    trips = result.trips
    during = (trips["depart"] >= row.start) & (trips["depart"] < row.end - pd.Timedelta("15min"))
    through_c = trips["origin"].isin(["b", "e"]) & trips["destination"].isin(["b", "e"])
    assert (during & through_c).sum() > 20
    assert (trips.loc[during & through_c, "delay_min"] == 0).all()
    delayed = trips[trips["delay_min"] > 0]
    assert len(delayed) > 0 and (delayed["origin"].eq("d") | delayed["destination"].eq("d")
                                 | delayed["rerouted"]).all()
    assert delayed["rerouted"].any()  # into or out of d by d-e, by the patience rule


# -- 6. convoys and helicopters drawn per force and mission --------------------------------

def test_convoy_sizes_are_drawn_per_sortie_within_their_range(write_scenario):
    """``vehicles = [2, 6]``: every size from 2 to 6 occurs, none outside, about 4 on average."""
    text = two_patrols(us={"schedule_h": []},
                       ru={"schedule_h": None, "per_day": 40.0, "vehicles": [2, 6],
                           "depart_hours": [0, 24]}, ru_posture={"block": 0.0})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS).as_posix(), seed=2, days=3)
    sizes = result.missions["vehicles"]
    assert len(sizes) > 90 and set(sizes) == {2, 3, 4, 5, 6}
    assert sizes.mean() == pytest.approx(4.0, abs=0.35)


def test_an_escort_flies_with_its_sortie_and_is_overhead_at_once(write_scenario):
    """A joint patrol escorted by two RU helicopters (it has none of its own) meets villagers.

    Both helicopters are over the blockade from its first minute; none was called.
    """
    text = two_patrols(
        us={"schedule_h": []},
        tables={"forces.RU": {"helicopters": 2, "helicopter_base": "d"},
                "forces.RU_TR": {"helicopters_from": "RU"},
                "missions.joint": {"force": "RU_TR", "base": "d", "target": "a",
                                   "schedule_h": [2.0], "speed_kmh": 60.0,
                                   "escort": {"helicopters": 2, "p": 1.0}},
                "villagers.b_people": {"place": "b", "oppose": ["RU_TR"], "block": 1.0}})
    text = text.replace('[missions.ru]\n', '[missions.ru]\nper_day = 0.0\n').replace(
        "schedule_h = [1.0]\nspeed_kmh = 60.0\ndwell_h = 0.5\n\n[encounters]",
        "schedule_h = []\nspeed_kmh = 60.0\ndwell_h = 0.5\n\n[encounters]")
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.force_a, row.helicopters_a, row.helicopters_escort, row.helicopters_called) == (
        "RU_TR", 2, 2, 0)
    ts = result.timeseries.set_index("time")["helicopters_up"]
    assert ts.loc["2020-06-01 03:00"] == 2 and ts.iloc[-1] == 0


def test_each_side_that_calls_sends_its_own_helicopters(write_scenario):
    """Both sides call (p = 1), each force sends ``helicopters_per_call`` of its own."""
    text = two_patrols(
        us_posture={"helicopter": 1.0}, ru_posture={"helicopter": 1.0},
        tables={"forces.US": {"helicopters": 2, "helicopter_base": "a",
                              "helicopters_per_call": 2},
                "forces.RU": {"helicopters": 2, "helicopter_base": "d"}})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.helicopters_a, row.helicopters_b, row.helicopters_called) == (2, 1, 3)


# -- 7. windows, and villagers at a base -----------------------------------------------------

def test_a_mission_departs_only_inside_its_window(write_scenario):
    """``start``-``end`` keep the departures between 2 and 4 June of a week-long run."""
    text = two_patrols(us={"schedule_h": []},
                       ru={"schedule_h": None, "per_day": 6.0, "start": "2020-06-02T00:00:00",
                           "end": "2020-06-04T00:00:00"}, ru_posture={"block": 0.0})
    text = text.replace('"2020-06-02T00:00:00"', "2020-06-02T00:00:00").replace(
        '"2020-06-04T00:00:00"', "2020-06-04T00:00:00")
    result = sim.run(write_scenario(text, LINE, LINE_ROADS).as_posix(), seed=4, days=7)
    departs = result.missions["depart"]
    assert len(departs) > 5
    assert departs.min() >= pd.Timestamp("2020-06-02") and departs.max() < pd.Timestamp(
        "2020-06-04")


def test_villagers_at_a_base_can_stop_a_patrol_setting_out_and_it_stays_home(write_scenario):
    """Villagers at RU's base d block its way out on d-c at 01:00 for an hour; RU gives way.

    The sortie is off: it ends at 02:00 at its base, its target never reached.
    """
    text = two_patrols(us={"schedule_h": []}, ru_posture={"give_way": 1.0},
                       tables={"villagers.d_people": {
                           "place": "d", "oppose": ["RU"], "block": 1.0, "give_way": 0.0,
                           "duration_median_h": 1.0, "duration_sigma": 0.0}})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.kind, row.road, minutes(row.start), row.outcome) == ("villagers", "c--d", 60.0,
                                                                      "turned_back")
    ru = mission(result, "ru")
    assert ru["outcome"] == "turned_back" and pd.isna(ru["reached"])
    assert minutes(ru["end"]) == pytest.approx(120.0)


def test_villagers_block_only_inside_their_window(write_scenario):
    """The same villagers, protesting only from 2 June, let RU out on 1 June."""
    text = two_patrols(us={"schedule_h": []},
                       tables={"villagers.d_people": {"place": "d", "oppose": ["RU"],
                                                      "block": 1.0}})
    text = text.replace("[villagers.d_people]\n",
                        "[villagers.d_people]\nstart = 2020-06-02T00:00:00\n")
    assert sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1).standoffs.empty


# -- 8. paired runs stay paired -------------------------------------------------------------

def test_raising_a_rate_keeps_every_earlier_departure_and_leaves_other_missions_alone():
    """For one seed, departures at a lower rate are a subset of those at a higher one.

    Every other mission departs at the same moments.
    """
    base, _ = sim.load_scenario("derik-june-2020")
    more, _ = sim.load_scenario("derik-june-2020", {"missions.ru_derik.per_day": 1.5})
    streams = Streams(11)

    def departures(spec, mid):
        return [(d.time_min, d.key) for d in mission_departures(streams, mid,
                                                                spec.missions[mid], spec)]

    low, high = departures(base, "ru_derik"), departures(more, "ru_derik")
    assert len(high) > len(low) > 5 and set(low) <= set(high)
    for mid in base.missions:
        if mid != "ru_derik":
            assert departures(base, mid) == departures(more, mid)
