"""Trips as columns: the same draws as ``Generator.choice``, sorts, and which trips a gate stops."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.network import road_key
from sim.core.trip_columns import Chooser, Day, PairTable, on_road, reaching, stable_argsort
from sim.io.networks import read_graphml
from tests.conftest import line_nodes, write_graphml


@pytest.mark.parametrize("seed", range(30))
def test_a_chooser_draws_what_generator_choice_draws_from_the_same_stream(seed):
    """Same values, same stream position afterwards, for any weights (zeros and tiny ones too)."""
    rng = np.random.default_rng(seed)
    p = rng.random(int(rng.integers(1, 400))) ** float(rng.integers(1, 25))
    p[rng.random(len(p)) < 0.2] = 0.0
    if p.sum() == 0:
        p[0] = 1.0
    p /= p.sum()
    chooser = Chooser(p)
    for n in (0, 1, 5000):
        a, b = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
        assert np.array_equal(a.choice(len(p), size=n, p=p), chooser.draw(b, n))
        assert a.random() == b.random()


def test_a_chooser_refuses_what_generator_choice_refuses():
    """Probabilities that do not sum to one are an error, as with rng.choice."""
    with pytest.raises(ValueError, match="sum to 1"):
        Chooser(np.array([0.5, 0.6]))


def test_the_quick_sort_order_is_the_stable_order_ties_included():
    """Without ties any sort is the stable sort; with ties the stable sort is used."""
    rng = np.random.default_rng(1)
    values = rng.random(1000)
    assert np.array_equal(stable_argsort(values), np.argsort(values, kind="stable"))
    tied = np.round(values * 10) / 10
    assert np.array_equal(stable_argsort(tied), np.argsort(tied, kind="stable"))


@pytest.fixture
def line(tmp_path):
    """a-b-c-d, 60 minutes a road; demand places a and d."""
    nodes = line_nodes("abcd")
    roads = [("a", "b", 60, 60), ("b", "c", 60, 60), ("c", "d", 60, 60)]
    network = read_graphml(write_graphml(tmp_path / "line.graphml", nodes, roads))
    return PairTable(network, ["a", "d"])


def test_a_gate_knows_where_it_lies_on_each_pairs_route(line):
    """Road b-c is the second road from a to d and from d to a; no other pair passes it."""
    table = line.gate(road_key("b", "c"))
    assert table.jpos.tolist() == [-1, 1, 1, -1]  # pairs a-a, a-d, d-a, d-d
    assert table.cum_at[1] == 60.0 and table.cum_after[1] == 120.0
    assert line.gate(road_key("x", "y")) is None


def test_a_closure_finds_the_trips_on_its_road_and_those_still_to_reach_it(line):
    """Shut b-c (60-120 min from a) at 100: trips that left a at -70, 0, 50, 200.

    They are past it, on it, and due at 110 and 260.
    """
    depart = np.array([-70.0, 0.0, 50.0, 200.0])
    day = Day(0, 1, depart, np.array([1, 1, 1, 1]), line.free_flow_min)
    table = line.gate(road_key("b", "c"))
    assert on_road(day, table, 100.0).tolist() == [1]
    index, reach, road = reaching(day, table, 100.0)
    assert index.tolist() == [2, 3] and reach.tolist() == [110.0, 260.0]
    assert road.tolist() == [1, 1]
    day.special[2] = True  # already taken out of the columns: not found again
    assert reaching(day, table, 100.0)[0].tolist() == [3]
