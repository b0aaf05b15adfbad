"""Encounters: where rivals meet, when it becomes a standoff, how long it lasts, how it ends."""

import pandas as pd
import pytest

import sim
from sim.core.rules import (
    Side,
    decide_outcome,
    give_way_probability,
    meeting_time,
    standoff_minutes,
)
from tests.conftest import line_nodes, two_patrols

LINE = line_nodes("abcd")
LINE_ROADS = [("a", "b", 10, 60), ("b", "c", 10, 60), ("c", "d", 10, 60)]  # 10 min each


# -- the rules, against hand-computed answers -------------------------------------------


def test_vehicles_entering_a_road_from_both_ends_meet_where_their_distances_add_up():
    """10 km road, both at 1 km/min from t=70: they meet at t=75, mid-road."""
    assert meeting_time(10.0, 70.0, 1.0, 70.0, 1.0) == 75.0
    assert meeting_time(10.0, 70.0, 1.0, 72.0, 0.5) == pytest.approx((10 + 70 + 36) / 1.5)


def test_give_way_scales_with_the_rivals_share_of_strength():
    """Equal strength: the posture's value; against a rival twice as strong: 4/3 of it."""
    assert give_way_probability(Side(4, 0.3, True), Side(4, 0.5, False)) == pytest.approx(0.3)
    assert give_way_probability(Side(4, 0.3, True), Side(8, 0.5, False)) == pytest.approx(0.4)
    assert give_way_probability(Side(1, 0.9, True), Side(9, 0.5, False)) == 1.0


def test_the_side_that_gives_way_turns_back_and_the_other_prevails():
    """One side's draw under its give-way chance: it yields."""
    a, b = Side(4, 1.0, False), Side(4, 0.0, True)
    assert decide_outcome(a, b, 0.5, 0.5, 0.5, 2.0) == decide_outcome(a, b, 0.0, 0.99, 0.0, 2.0)
    outcome = decide_outcome(a, b, 0.5, 0.5, 0.5, 2.0)
    assert (outcome.kind, outcome.prevailing, outcome.yielding) == ("turned_back", 1, 0)


def test_when_both_give_way_both_pass():
    """Both draws under their chances: nobody is turned back."""
    outcome = decide_outcome(Side(4, 1.0, True), Side(4, 1.0, True), 0.1, 0.1, 0.5, 2.0)
    assert (outcome.kind, outcome.prevailing, outcome.yielding) == ("both_passed", None, None)


def test_when_neither_gives_way_the_much_stronger_forces_through():
    """10 vehicles against 4 (ratio 2.5 >= 2) force their way."""
    outcome = decide_outcome(Side(4, 0.0, True), Side(10, 0.0, False), 0.5, 0.5, 0.5, 2.0)
    assert (outcome.kind, outcome.prevailing, outcome.yielding) == ("forced_through", 1, 0)


def test_a_deadlock_between_near_equals_is_lost_by_the_side_that_did_not_block():
    """6 against 4 is not enough to force through; the side trying to pass withdraws."""
    outcome = decide_outcome(Side(6, 0.0, False), Side(4, 0.0, True), 0.5, 0.5, 0.5, 2.0)
    assert (outcome.kind, outcome.yielding) == ("turned_back", 0)


def test_a_deadlock_where_both_blocked_is_lost_by_the_weaker_or_by_a_coin():
    """Weaker yields; equal strengths toss the tie draw."""
    assert decide_outcome(Side(5, 0, True), Side(4, 0, True), .5, .5, .5, 2.0).yielding == 1
    assert decide_outcome(Side(4, 0, True), Side(4, 0, True), .5, .5, 0.2, 2.0).yielding == 0
    assert decide_outcome(Side(4, 0, True), Side(4, 0, True), .5, .5, 0.7, 2.0).yielding == 1


def test_standoffs_last_longer_when_even_stubborn_and_watched_from_the_air():
    """Median for even, middling sides; scaled by evenness, resolve and helicopters."""
    base = standoff_minutes(2.0, 0.6, 0.0, 4, 4, 0.5, 0.5, 0, 0.3)
    assert base == 120.0
    assert standoff_minutes(2.0, 0.6, 0.0, 4, 12, 0.5, 0.5, 0, 0.3) == 60.0  # lopsided: 0.5
    assert standoff_minutes(2.0, 0.6, 0.0, 4, 4, 0.0, 0.0, 0, 0.3) == 240.0  # stubborn: 2
    assert standoff_minutes(2.0, 0.6, 0.0, 4, 4, 0.5, 0.5, 2, 0.3) == pytest.approx(192.0)
    assert standoff_minutes(2.0, 0.5, 1.0, 4, 4, 0.5, 0.5, 0, 0.3) == pytest.approx(
        120.0 * 2.718281828459045 ** 0.5)


# -- in the model, on tiny networks -------------------------------------------------------

T0 = pd.Timestamp("2020-06-01")


def minutes(stamp) -> float:
    return (stamp - T0).total_seconds() / 60.0


def test_rivals_meeting_head_on_stop_at_the_point_where_they_cross(write_scenario):
    """Both enter road b-c at 01:10 from opposite ends at 60 km/h: they meet mid-road at 01:15."""
    result = sim.run(write_scenario(two_patrols(), LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    # RU left first (missions start in id order), so US entered b-c second and met it: a = US.
    assert (row.kind, row.road, row.force_a, row.force_b) == ("patrols", "b--c", "US", "RU")
    assert minutes(row.start) == 75.0
    assert (row.lat, row.lon) == pytest.approx((37.0, 42.015))
    assert row.duration_h == 2.0  # median, even strengths, middling resolve, no helicopters
    assert row.blocked_by == "US,RU"


def test_rivals_meet_at_a_place_one_of_them_holds(write_scenario):
    """US holds its target c from 00:20 for 5 h; RU reaching c at 01:10 meets it there."""
    text = two_patrols(us={"target": "c", "schedule_h": [0.0], "dwell_h": 5.0})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.kind, row.place, row.at_place, minutes(row.start)) == ("patrols", "c", True,
                                                                         70.0)
    assert row.road == "c--d"  # the approach RU came in on is shut, not the whole place
    assert (row.lat, row.lon) == pytest.approx(LINE["c"])


def test_forces_that_are_not_rivals_pass_each_other(write_scenario):
    """Without a rivalry nobody blocks, however willing."""
    text = two_patrols().replace('rivalries = [["US", "RU"]]', "rivalries = []")
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    assert result.standoffs.empty
    assert (result.missions["outcome"] == "reached").all()


def test_when_neither_side_blocks_a_meeting_is_not_a_standoff(write_scenario):
    """Postures with block = 0 let rivals pass (the deconfliction counterfactual)."""
    text = two_patrols(us_posture={"block": 0.0}, ru_posture={"block": 0.0})
    assert sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1).standoffs.empty


def test_a_side_that_gives_way_turns_back_to_its_base(write_scenario):
    """RU always gives way, US never: RU's mission ends turned back, at its base, after 03:15."""
    text = two_patrols(us_posture={"give_way": 0.0}, ru_posture={"give_way": 1.0})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.outcome, row.prevailed, row.yielded) == ("turned_back", "US", "RU")
    missions = result.missions.set_index("mission")
    assert missions.loc["ru", "outcome"] == "turned_back"
    assert missions.loc["us", "outcome"] == "reached"
    # RU was 5 km into b-c, heading for b: 5 km back to c, 10 more to d at 1 km/min.
    assert minutes(missions.loc["ru", "end"]) == pytest.approx(minutes(row.end) + 15.0)


def test_a_much_stronger_side_that_will_not_yield_forces_through(write_scenario):
    """10 US vehicles against 4 RU, neither gives way: US forces through, both go on.

    (Both then hold their targets past the horizon, so they do not meet again on the
    way home.)
    """
    text = two_patrols(us={"vehicles": 10, "dwell_h": 30.0}, ru={"dwell_h": 30.0},
                       us_posture={"give_way": 0.0}, ru_posture={"give_way": 0.0})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.outcome, row.prevailed, row.vehicles_a, row.vehicles_b) == (
        "forced_through", "US", 10, 4)
    assert (result.missions["outcome"] == "reached").all()


def test_a_patrol_told_to_reroute_takes_another_road_to_its_target(write_scenario):
    """With a bypass c-e-a, RU yields on b-c, goes back to c and reaches a by e."""
    nodes = {**LINE, "e": (37.01, 42.01)}
    roads = [*LINE_ROADS, ("c", "e", 20, 60), ("e", "a", 20, 60)]
    text = two_patrols(us_posture={"give_way": 0.0},
                       ru_posture={"give_way": 1.0, "reroute": 1.0})
    result = sim.run(write_scenario(text, nodes, roads), seed=1)
    assert result.standoffs["outcome"].tolist() == ["rerouted"]
    ru = result.missions.set_index("mission").loc["ru"]
    assert (ru["outcome"], ru["rerouted"]) == ("reached", True)


def test_helicopters_called_to_a_standoff_are_counted_and_raise_its_stakes(write_scenario):
    """A US helicopter 1 km away arrives within a minute; stakes 0.5 make 2 h into 3 h."""
    text = two_patrols(us_posture={"helicopter": 1.0}, encounters={"helicopter_stakes": 0.5},
                       tables={"forces.US": {"helicopters": 1, "helicopter_base": "a"}})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.helicopters, row.helicopters_a, row.helicopters_b) == (1, 1, 0)
    assert row.duration_h == pytest.approx(3.0)


def test_villagers_block_the_road_into_their_place_when_an_opposed_patrol_comes(write_scenario):
    """Villagers at c oppose RU: RU arriving from d at 01:10 finds the road c-d blocked."""
    text = two_patrols(us={"schedule_h": []}, tables={"villagers.c_people": {
        "place": "c", "oppose": ["RU"], "block": 1.0, "duration_median_h": 1.0,
        "duration_sigma": 0.0}})
    result = sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1)
    (row,) = result.standoffs.itertuples()
    assert (row.kind, row.road, row.force_a, row.force_b) == (
        "villagers", "c--d", "RU", "villagers:c_people")
    assert minutes(row.start) == 70.0 and row.blocked_by == "villagers:c_people"


def test_villagers_let_patrols_of_forces_they_do_not_oppose_pass(write_scenario):
    """The same villagers ignore a US patrol."""
    text = two_patrols(ru={"schedule_h": []}, tables={"villagers.c_people": {
        "place": "c", "oppose": ["RU"], "block": 1.0}})
    assert sim.run(write_scenario(text, LINE, LINE_ROADS), seed=1).standoffs.empty


CROSS = {"a": (37.0, 42.0), "x": (37.0, 42.01), "d": (37.0, 42.02), "u": (37.01, 42.01)}
CROSS_ROADS = [("a", "x", 30, 60), ("x", "d", 30, 60), ("x", "u", 5, 60)]


def test_a_force_sends_a_blocking_position_to_a_crossroads_on_a_rivals_path(write_scenario):
    """RU leaves a at 01:00 for protected d via crossroads x (30 min); US from u gets there in 5."""
    text = two_patrols(
        us={"schedule_h": []}, ru={"base": "a", "target": "d"},
        us_posture={"deploy_blocking": 1.0},
        tables={"forces.US.blocking": {"base": "u", "vehicles": 4, "hold_h": 3.0,
                                       "speed_kmh": 60.0, "lead_min": 10.0,
                                       "protect": ["d"]}})
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    block = result.missions.set_index("kind").loc["blocking"]
    assert (block["force"], block["base"], block["target"]) == ("US", "u", "x")
    (row,) = result.standoffs.itertuples()
    assert (row.kind, row.place, minutes(row.start)) == ("blocking_position", "x", 90.0)
    assert row.mission_b == block["mission_id"]


def test_no_blocking_position_is_sent_when_it_cannot_arrive_in_time(write_scenario):
    """With a 30-minute lead the position could not beat RU to x: none is sent."""
    text = two_patrols(
        us={"schedule_h": []}, ru={"base": "a", "target": "d"},
        us_posture={"deploy_blocking": 1.0},
        tables={"forces.US.blocking": {"base": "u", "speed_kmh": 60.0, "lead_min": 30.0,
                                       "protect": ["d"]}})
    result = sim.run(write_scenario(text, CROSS, CROSS_ROADS), seed=1)
    assert (result.missions["kind"] == "patrol").all() and result.standoffs.empty
