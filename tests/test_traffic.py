"""Civilian traffic: queues at closures, holds on closed roads, detours, and delay accounting.

These tests drive the real ``Traffic`` on real (tiny) networks with closures opened
and shut at known times, so every delay has a hand-computed answer.
"""

from __future__ import annotations

import pytest

import sim
from sim.core.draws import Streams
from sim.core.events import PRIORITY_OPEN, EventQueue
from sim.core.network import road_key
from sim.core.occupancy import Occupancy
from sim.core.traffic import Traffic, Trip
from sim.io.networks import read_graphml
from sim.scenario.schema import CivilianRules
from tests.conftest import line_nodes, two_patrols, write_graphml

HEADWAY_S = 2.0
H = HEADWAY_S / 60.0


class Closure:
    """What a gate is closed by, as traffic sees it: an id to charge delay to."""

    def __init__(self, standoff_id: str) -> None:
        self.standoff_id = standoff_id


class Car:
    """A vehicle with an id (trips log which vehicle drove)."""

    def __init__(self, unique_id: int) -> None:
        self.unique_id = unique_id


class Harness:
    """A network, an event queue and traffic, with trips and closures at chosen times."""

    def __init__(self, tmp_path, nodes, roads, **rules) -> None:
        path = write_graphml(tmp_path / "net.graphml", nodes, roads)
        self.network = read_graphml(path)
        self.events, self.occupancy = EventQueue(), Occupancy()
        rules = CivilianRules(**{"queue_headway_s": HEADWAY_S, "patience_sigma": 0.0, **rules})
        self.traffic = Traffic(self.network, self.occupancy, self.events, rules, Streams(0),
                               on_arrival=lambda trip: None)
        self.trips: list[Trip] = []

    def trip(self, origin: str, destination: str, at: float) -> None:
        def depart():
            trip = Trip(len(self.trips) + 1, Car(len(self.trips) + 1),
                        self.network.route(origin, destination), self.events.now)
            self.trips.append(trip)
            self.traffic.start(trip)

        self.events.schedule(at, depart)

    def close(self, gate, name: str, start: float, end: float) -> None:
        closure = Closure(name)

        def shut():
            self.occupancy.close(gate, closure)
            self.traffic.gate_closed(gate)

        def reopen():
            if self.occupancy.reopen(gate, closure):
                self.traffic.gate_opened(gate)

        self.events.schedule(start, shut, priority=PRIORITY_OPEN)
        self.events.schedule(end, reopen, priority=PRIORITY_OPEN)

    def run(self, until: float = 10_000.0) -> dict[int, dict]:
        """Run; return each arrived trip's log row by trip id."""
        self.events.run_until(until)
        columns = self.traffic.log.columns()
        return {int(tid): {name: columns[name][i] for name in columns}
                for i, tid in enumerate(columns["trip_id"])}


def delay(row) -> float:
    return row["delay_min"]


LINE = line_nodes("abc")
LINE_ROADS = [("a", "b", 60, 60), ("b", "c", 60, 60)]  # 60 minutes each


def test_vehicles_reaching_a_closed_road_queue_and_leave_one_headway_apart(tmp_path):
    """Road b-c shut 0-120 min; cars leave a at 0, 10, 20, reach b at 60, 70, 80.

    They leave b at 120, 120 + h, 120 + 2h: delays 60, 50 + h, 40 + 2h minutes.
    """
    h = Harness(tmp_path, LINE, LINE_ROADS)
    h.close(road_key("b", "c"), "S1", 0.0, 120.0)
    for t in (0.0, 10.0, 20.0):
        h.trip("a", "c", t)
    log = h.run()
    assert [delay(log[i]) for i in (1, 2, 3)] == pytest.approx([60.0, 50.0 + H, 40.0 + 2 * H])
    assert [log[i]["cause"] for i in (1, 2, 3)] == ["S1"] * 3
    assert h.traffic.delay_by_cause["S1"] == pytest.approx(150.0 + 3 * H)
    assert h.traffic.vehicles_by_cause["S1"] == 3
    assert h.traffic.vehicle_hours_delay == pytest.approx((150.0 + 3 * H) / 60.0)


def test_a_vehicle_on_a_road_when_it_closes_is_held_where_it_is(tmp_path):
    """Halfway along a-b when it shuts at 30 for an hour: the car loses exactly that hour."""
    h = Harness(tmp_path, LINE, LINE_ROADS)
    h.close(road_key("a", "b"), "S1", 30.0, 90.0)
    h.trip("a", "c", 0.0)
    h.trip("a", "c", 100.0)  # after it reopened: no delay
    log = h.run()
    assert delay(log[1]) == pytest.approx(60.0) and log[1]["arrive"] == pytest.approx(180.0)
    assert delay(log[2]) == 0.0 and log[2]["cause"] == ""


def test_a_closure_behind_a_vehicle_does_not_delay_it(tmp_path):
    """The car has left a-b for b-c when a-b shuts."""
    h = Harness(tmp_path, LINE, LINE_ROADS)
    h.close(road_key("a", "b"), "S1", 70.0, 500.0)
    h.trip("a", "c", 0.0)
    assert delay(h.run()[1]) == 0.0


def test_a_closed_place_stops_traffic_through_it(tmp_path):
    """Place b shut 0-120: a car leaving a at 30 waits at a until 120 (delay 90)."""
    h = Harness(tmp_path, LINE, LINE_ROADS)
    h.close("b", "S1", 0.0, 120.0)
    h.trip("a", "c", 30.0)
    log = h.run()
    assert delay(log[1]) == pytest.approx(90.0) and log[1]["cause"] == "S1"


SQUARE = {"a": (37.0, 42.0), "b": (37.0, 42.01), "c": (37.01, 42.0), "d": (37.01, 42.01)}
SQUARE_ROADS = [("a", "b", 60, 60), ("b", "d", 60, 60), ("a", "c", 70, 60), ("c", "d", 70, 60)]


def test_a_vehicle_reroutes_when_its_patience_runs_out_and_a_detour_is_worth_it(tmp_path):
    """b-d shut; the car waits at b 10 minutes, then goes b-a-c-d (200 min, 140 more)."""
    h = Harness(tmp_path, SQUARE, SQUARE_ROADS, patience_median_min=10.0, max_detour_factor=4.0)
    h.close(road_key("b", "d"), "S1", 0.0, 600.0)
    h.trip("a", "d", 0.0)
    row = h.run()[1]
    assert row["rerouted"]
    assert row["arrive"] == pytest.approx(270.0)  # arrive: 60 + 10 waiting + 200 detour
    assert delay(row) == pytest.approx(150.0)  # 270 - 120 free flow = 10 wait + 140 extra
    assert h.traffic.delay_by_cause["S1"] == pytest.approx(150.0)


def test_a_vehicle_keeps_waiting_when_the_detour_is_too_long(tmp_path):
    """The same detour is 3.3 times the direct 60 minutes left: refused at factor 2.5."""
    h = Harness(tmp_path, SQUARE, SQUARE_ROADS, patience_median_min=10.0, max_detour_factor=2.5)
    h.close(road_key("b", "d"), "S1", 0.0, 600.0)
    h.trip("a", "d", 0.0)
    row = h.run()[1]
    assert not row["rerouted"] and delay(row) == pytest.approx(540.0)


def test_queues_on_both_sides_discharge_in_parallel(tmp_path):
    """Each approach to a reopened road releases its own first car at once."""
    h = Harness(tmp_path, LINE, LINE_ROADS)
    h.close(road_key("a", "b"), "S1", 0.0, 100.0)
    h.trip("a", "c", 0.0)
    h.trip("b", "a", 0.0)
    h.trip("a", "c", 5.0)
    log = h.run()
    assert delay(log[1]) == pytest.approx(100.0)  # first from a
    assert delay(log[2]) == pytest.approx(100.0)  # first from b, same moment
    assert delay(log[3]) == pytest.approx(95.0 + H)  # second from a


# -- in the whole model --------------------------------------------------------------------


def test_a_standoff_closes_its_road_to_civilians_and_is_charged_their_delay(write_scenario):
    """Civilian trips that met the standoff on b-c are delayed and name it as the cause."""
    nodes = line_nodes("abcd")
    roads = [("a", "b", 10, 60), ("b", "c", 10, 60), ("c", "d", 10, 60)]
    text = two_patrols(us={"dwell_h": 30.0}, ru={"dwell_h": 30.0},  # one meeting only
                       civilians={"trips_per_day": 2000, "village_population": 1000})
    result = sim.run(write_scenario(text, nodes, roads), seed=3)
    (standoff,) = result.standoffs.itertuples()
    delayed = result.trips[result.trips["delay_min"] > 0]
    assert len(delayed) > 0 and set(delayed["cause"]) == {"S1"}
    assert standoff.vehicles_delayed == len(delayed)
    assert standoff.delay_vehicle_h == pytest.approx(delayed["delay_min"].sum() / 60)
    assert (delayed["depart"] < standoff.end).all()
    assert (delayed["arrive"] > standoff.start).all()
    crossing = result.trips["origin"].isin(["a", "b"]) & result.trips["destination"].isin(
        ["c", "d"])
    during = (result.trips["depart"] > standoff.start) & (result.trips["arrive"] < standoff.end)
    assert not (crossing & during).any()  # nobody crossed while it lasted


def test_every_trip_delay_is_actual_minus_free_flow_and_never_negative(baseline_run):
    """The rule of the trips log, on a week of the baseline."""
    trips = baseline_run.trips
    assert (trips["delay_min"] >= 0).all()
    assert (trips["actual_min"] - trips["free_flow_min"] - trips["delay_min"]).abs().max() < 1e-6
    assert ((trips["delay_min"] > 0) == (trips["cause"] != "")).all()
    assert (trips["arrive"] >= trips["depart"]).all()


def test_delay_charged_to_closures_adds_up_to_the_delay_of_the_trips(baseline_run):
    """Summed over standoffs, charged vehicle-hours equal the trips' vehicle-hours of delay."""
    charged = baseline_run.standoffs["delay_vehicle_h"].sum()
    assert charged == pytest.approx(baseline_run.summary["vehicle_hours_delay"], abs=1e-6)
    assert baseline_run.summary["vehicle_hours_delay"] > 0
