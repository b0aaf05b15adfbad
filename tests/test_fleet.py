"""The fleet as columns: last parked, first out, matched in bulk, with Mesa's ids.

Every test compares :class:`ColumnFleet` with a plain loop over events that applies
the reference fleet's rule trip by trip (``sim.core.demand.Fleet``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.core.fleet import ColumnFleet


def one_by_one(depart, origin, arrive, destination, joins):
    """Vehicle ids by the reference rule: events in time order, a stack per place."""
    events = sorted([(d, 0, i) for i, d in enumerate(depart)]
                    + [(a, 1, i) for i, a in enumerate(arrive) if a < np.inf])
    stacks: dict[int, list[int]] = {}
    vehicle, made, joined = {}, 0, 0
    for time, kind, i in events:
        if kind == 0:
            idle = stacks.get(origin[i])
            if idle:
                vehicle[i] = idle.pop()
            else:
                joined = sum(1 for t in joins if t <= time)
                made += 1
                vehicle[i] = made + joined
        else:
            stacks.setdefault(destination[i], []).append(vehicle[i])
    return [vehicle[i] for i in range(len(depart))]


def in_windows(fleet, depart, origin, arrive, destination, edges):
    """Vehicle ids from ``fleet``, fed one window of departures and arrivals at a time."""
    known: dict[int, int] = {}
    for lo, hi in itertools.pairwise(edges):
        leaving = np.flatnonzero((depart > lo) & (depart <= hi))
        coming = np.flatnonzero((arrive > lo) & (arrive <= hi))
        coming = coming[np.argsort(arrive[coming], kind="stable")]
        rank = {int(t): k for k, t in enumerate(leaving)}
        ref = np.array([known.get(int(t), -rank.get(int(t), 0)) for t in coming],
                       dtype=np.int64)
        ids = fleet.assign(depart[leaving], origin[leaving], arrive[coming],
                           destination[coming], ref)
        known.update(zip(leaving.tolist(), ids.tolist(), strict=True))
    return [known[i] for i in range(len(depart))]


def random_trips(rng, n, places, same_place_share=0.1):
    depart = np.sort(rng.random(n) * 3000.0)
    origin = rng.integers(0, places, n)
    destination = rng.integers(0, places, n)
    minutes = rng.random(n) * 300.0
    minutes[rng.random(n) < same_place_share] = 0.0  # a trip between places on one node
    destination = np.where(minutes == 0.0, origin, destination)
    return depart, origin, depart + minutes, destination


@pytest.mark.parametrize("seed", range(40))
def test_a_trip_takes_the_vehicle_parked_last_at_its_origin_or_a_new_one(seed):
    """Windows of any length give the vehicle ids the trip-by-trip rule gives."""
    rng = np.random.default_rng(seed)
    places = int(rng.integers(1, 7))
    depart, origin, arrive, destination = random_trips(rng, int(rng.integers(0, 400)), places)
    step = float(rng.choice([37.0, 250.0, 1440.0, 5000.0]))
    edges = [-np.inf, *np.arange(step, 3000.0 + step, step)]
    got = in_windows(ColumnFleet(places), depart, origin, arrive, destination, edges)
    assert got == one_by_one(depart, origin, arrive, destination, [])


def test_vehicle_ids_skip_the_ids_of_other_agents_made_meanwhile():
    """A new vehicle's id is one more than every agent made before it, of any kind."""
    rng = np.random.default_rng(3)
    depart, origin, arrive, destination = random_trips(rng, 300, 4)
    joins = [0.0, 0.0, 10.0, 400.0, 401.5, 2500.0]
    fleet = ColumnFleet(4)
    for t in joins:
        fleet.agent_joined(t)
    got = in_windows(fleet, depart, origin, arrive, destination, [-np.inf, 1440.0, np.inf])
    assert got == one_by_one(depart, origin, arrive, destination, joins)
    assert fleet.n_vehicles == len(set(got))


def test_a_look_at_an_unfinished_window_changes_nothing():
    """assign(commit=False) answers, and the fleet is as it was."""
    rng = np.random.default_rng(5)
    depart, origin, arrive, destination = random_trips(rng, 200, 3)
    fleet = ColumnFleet(3)
    first = np.flatnonzero(depart <= 1500.0)
    back = np.flatnonzero(arrive <= 1500.0)
    back = back[np.argsort(arrive[back])]
    args = (depart[first], origin[first], arrive[back], destination[back], -back)
    look = fleet.assign(*args, commit=False)
    assert fleet.n_vehicles == 0 and len(fleet.parked) == 0
    assert np.array_equal(fleet.assign(*args), look)


def test_vehicles_nobody_takes_stay_parked_in_order():
    """Three cars arrive at place 0; the next three trips from 0 take them last first."""
    fleet = ColumnFleet(2)
    ids = fleet.assign(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1]),
                       np.array([10.0, 11.0, 12.0]), np.array([0, 0, 0]),
                       np.array([0, -1, -2]))
    assert ids.tolist() == [1, 2, 3]
    assert fleet.parked.tolist() == [1, 2, 3] and fleet.n_parked.tolist() == [3, 0]
    again = fleet.assign(np.array([20.0, 21.0, 22.0, 23.0]), np.array([0, 0, 0, 0]),
                         np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert again.tolist() == [3, 2, 1, 4]
