"""The civilian fleet as columns: which vehicle drives each trip, matched in bulk.

The rule is the reference engine's (:class:`sim.core.demand.Fleet`): a trip takes
the vehicle parked last at its origin (last in, first out), or a new vehicle when
none is idle there, and the vehicle parks at its destination when it arrives.
:class:`ColumnFleet` applies it to a window of departures and arrivals at once:

1. The window's events (vehicles already parked, arrivals, departures) are put in
   time order per place; each place's number of idle vehicles is a random walk
   reflected at zero (``cumsum`` and a running minimum). A departure that finds
   none idle brings a new vehicle.
2. Last in, first out is bracket matching: a departure takes the vehicle whose
   arrival last raised that place's count to the level it lowers it from, so a
   stable sort by (place, level) puts each departure right after its arrival.
3. A vehicle's id then follows its chain of trips back to the trip that brought
   it in (pointer jumping).

**Ids.** A new vehicle's id is the one Mesa would have given a new
``CivilianVehicle`` agent at that moment: one more than the number of agents
made before it, vehicles and every other agent (patrols, blocking positions,
helicopters, villagers) alike. Other agents report when they join
(:meth:`ColumnFleet.agent_joined`), so no vehicle agent needs to exist.
"""

from __future__ import annotations

import numpy as np


def _index_dtype(top: int) -> type:
    """The smallest unsigned type for small keys, so numpy's stable sort is a radix sort."""
    if top < 2**8:
        return np.uint8
    return np.uint16 if top < 2**16 else np.int64


class ColumnFleet:
    """Idle vehicles per place, and vehicle ids for windows of departures.

    Parameters
    ----------
    n_places : int
        Places trips start and end at (numbered ``0 .. n_places - 1``).

    Attributes
    ----------
    n_vehicles : int
        Vehicles made so far (in committed windows).
    parked : numpy.ndarray of int64
        Idle vehicles, place by place, each place's last parked at its end.
    n_parked : numpy.ndarray of int64
        How many are idle at each place.
    """

    def __init__(self, n_places: int) -> None:
        self.n_places = n_places
        self.parked = np.zeros(0, dtype=np.int64)
        self.n_parked = np.zeros(n_places, dtype=np.int64)
        self.n_vehicles = 0
        self._joins: list[float] = []

    def agent_joined(self, time: float) -> None:
        """Another agent (not a vehicle) joined the model at ``time``: it takes an id."""
        self._joins.append(time)

    def assign(self, dep_time: np.ndarray, dep_place: np.ndarray, arr_time: np.ndarray,
               arr_place: np.ndarray, arr_ref: np.ndarray, commit: bool = True) -> np.ndarray:
        """Vehicle ids of a window's departures.

        Parameters
        ----------
        dep_time, dep_place : numpy.ndarray
            The window's departures, in time order, and their origins.
        arr_time, arr_place : numpy.ndarray
            The window's arrivals, in time order, and their destinations.
        arr_ref : numpy.ndarray of int64
            Each arrival's vehicle: its id (>= 1) if known, else ``-k`` for the
            vehicle of the window's departure ``k``.
        commit : bool
            Keep the vehicles left parked for the next window; false for a look
            at an unfinished window (nothing changes).

        Returns
        -------
        numpy.ndarray of int64
            The vehicle id of each departure.
        """
        n_d, n = len(dep_time), len(dep_time) + len(arr_time)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        n_places, parked, n_parked = self.n_places, self.parked, self.n_parked
        small = _index_dtype(n_places)
        place = np.concatenate([dep_place, arr_place]).astype(small)
        # NOTE: the times are two sorted runs, so this stable sort is a merge; at equal
        # times departures go first (a trip on one node leaves before it arrives).
        events = np.argsort(np.concatenate([dep_time, arr_time]), kind="stable")
        events = events[np.argsort(place[events], kind="stable")]  # by place, in time order
        place = place[events]
        pop = events < n_d

        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(place[1:], place[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        idle = n_parked[place[starts]]  # parked at each place with events, at the start
        span = 2 * n + 2 * int(idle.max()) + 1  # more than any walk's range
        wide = np.int32 if len(starts) * span < 2**31 else np.int64  # NOTE: half the traffic
        seg = np.cumsum(first, dtype=wide) - 1
        step = 1 - 2 * pop.astype(wide)
        walk = np.cumsum(step, dtype=wide)
        walk += (idle.astype(wide) - (walk - step)[starts])[seg]  # each place's count
        big = seg * wide(span)
        low = np.minimum.accumulate(walk - big)
        low += big
        np.minimum(low, 0, out=low)
        depth = walk - low  # idle vehicles after each event
        before = np.empty_like(depth)
        before[1:] = depth[:-1]
        before[starts] = idle
        new = pop & (before == 0)  # found none idle: a new vehicle
        taken = pop & ~new
        level = depth + taken  # the stack position an arrival fills or a departure empties

        key = seg * (int(level.max()) + 1) + level
        order = np.argsort(key.astype(_index_dtype(int(key.max()) + 1)), kind="stable")
        key, taken, events = key[order], taken[order], events[order]
        value = np.zeros(n_d, dtype=np.int64)
        q = np.flatnonzero(taken)
        after_arrival = np.zeros(len(q), dtype=bool)
        after_arrival[q > 0] = key[q[q > 0] - 1] == key[q[q > 0]]
        a = q[after_arrival]  # took what an arrival of this window parked
        value[events[a]] = arr_ref[events[a - 1] - n_d]
        b = q[~after_arrival]  # took a vehicle parked before the window
        offset = np.cumsum(n_parked) - n_parked
        place_b = place[order][b]
        value[events[b]] = parked[offset[place_b] + level[order][b] - 1]
        new_dep = np.sort(events[new[order]])
        if len(new_dep):
            joined = np.searchsorted(np.asarray(self._joins, dtype=float), dep_time[new_dep],
                                     "right")
            value[new_dep] = 1 + self.n_vehicles + np.arange(len(new_dep)) + joined
        parent = np.where(value <= 0, -value, np.arange(n_d))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        vehicle = value[parent]

        if commit:
            low_p = n_parked.copy()  # each place's lowest count: vehicles below it stay
            low_p[place[starts]] = np.minimum(np.minimum.reduceat(depth, starts), idle)
            position = np.arange(len(parked)) - np.repeat(offset, n_parked)
            bottom = np.flatnonzero(position < np.repeat(low_p, n_parked))
            last = np.empty(n, dtype=bool)
            last[-1] = True
            np.not_equal(key[1:], key[:-1], out=last[:-1])
            top = np.flatnonzero(last & (events >= n_d))  # arrivals nobody took, by level
            ids = arr_ref[events[top] - n_d]
            mine = ids <= 0
            ids[mine] = vehicle[-ids[mine]]
            where = np.concatenate([np.repeat(np.arange(n_places), n_parked)[bottom],
                                    place[order][top]])
            stack = np.argsort(where.astype(small), kind="stable")
            self.parked = np.concatenate([parked[bottom], ids])[stack]
            self.n_parked = np.bincount(where, minlength=n_places).astype(np.int64)
            self.n_vehicles += len(new_dep)
        return vehicle

