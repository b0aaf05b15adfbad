"""The trips log of the column engine, built from the columns when it is asked for.

The reference engine appends a row as each trip arrives. Here the rows follow
from the columns: a trip that met no closure arrives at departure plus free-flow
time, and only the trips a closure stopped carry their own times, delay and
causes. The log is built a day at a time, oldest first, the first time it is
asked for (and kept, so asking again costs only the days since):

* the day's departures are matched with the fleet
  (:class:`~sim.core.fleet.ColumnFleet`) against the arrivals since the previous
  day began, which gives every trip's vehicle id;
* the rows are those arrivals, in arrival order (ties: the earlier departure
  first, as the reference engine's arrival events run).

The day under way is built the same way up to now, and not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sim.core.fleet import ColumnFleet
from sim.core.trip_columns import Day, PairTable, stable_argsort

#: Trips per window of the log, at most (unless one day has more).
BLOCK = 20_000

#: Columns kept per row, and their types when empty.
FIELDS = {"trip_id": np.int64, "vehicle_id": np.int64, "pair": np.int64, "depart": float,
          "arrive": float}


class ColumnTripLog:
    """Days of trips and the stopped trips' arrivals, turned into log rows on demand.

    Parameters
    ----------
    pairs : PairTable
        Routes and ends of every origin–destination pair.
    fleet : ColumnFleet
        Vehicles per place; advanced a day at a time as the log is built.
    now : callable
        The current time.
    n_arrived : callable
        Trips arrived so far (the log's length).
    """

    def __init__(self, pairs: PairTable, fleet: ColumnFleet, now: Callable[[], float],
                 n_arrived: Callable[[], int]) -> None:
        self.pairs, self.fleet = pairs, fleet
        self.now, self.n_arrived = now, n_arrived
        self.chunks: list[dict[str, Any]] = []
        self._days: list[tuple[Day, float]] = []  # (day, when it was drawn), not yet logged
        self._open: list[Day] = []  # logged days with trips that may arrive later
        self._special: list[Any] = []  # stopped trips arrived, not yet logged, in order
        self._logged_until = -np.inf

    def __len__(self) -> int:
        return self.n_arrived()

    def day_drawn(self, day: Day, now: float) -> None:
        """A new day of trips."""
        self._days.append((day, now))

    def arrived(self, trip: Any) -> None:
        """A stopped trip arrived (``trip.result`` holds its actual time, delay, causes)."""
        self._special.append(trip)

    def columns(self, names: Callable[[str], str] | None = None,
                coded: bool = False) -> dict[str, Any]:
        """The columns in log order, as the reference log gives them.

        ``names`` maps a node id to the name to log (e.g. its place id). With
        ``coded``, ``origin``, ``destination`` and ``cause`` come as (labels, codes):
        row ``i`` says ``labels[codes[i]]``.
        """
        days = self._days
        while len(days) > 1:  # a day is complete once the next one is drawn
            block = 1  # NOTE: days with few trips go a few at a time (fewer numpy calls)
            while block < len(days) - 1 and sum(d.n for d, _ in days[:block + 1]) <= BLOCK:
                block += 1
            self.chunks.append(self._window([d for d, _ in days[:block]], days[block][1],
                                            commit=True))
            del days[:block]
        chunks = list(self.chunks)
        if days:
            chunks.append(self._window([days[0][0]], self.now(), commit=False))
        out: dict[str, Any] = {
            f: np.concatenate([c[f] for c in chunks]) if chunks else np.zeros(0, dtype=t)
            for f, t in FIELDS.items()}
        pairs = self.pairs
        pair = out.pop("pair")
        n = len(pair)
        actual = pairs.free_flow_min[pair]
        delay, rerouted = np.zeros(n), np.zeros(n, dtype=bool)
        causes, cause_code = [""], np.zeros(n, dtype=np.int64)
        offset = 0
        for c in chunks:
            for row, (minutes, late, cause, detoured) in c["special"].items():
                at = offset + row
                actual[at], delay[at], rerouted[at] = minutes, late, detoured
                if cause:
                    cause_code[at] = len(causes)
                    causes.append(cause)
            offset += len(c["trip_id"])
        k = max(pairs.k, 1)
        labels = [names(node) if names else node for node in pairs.nodes] or [""]
        text = {"origin": (labels, pair // k), "destination": (labels, pair % k),
                "cause": (causes, cause_code)}
        if not coded:
            text = {name: np.array(words, dtype=object)[codes]
                    for name, (words, codes) in text.items()}
        out.update(text, free_flow_min=pairs.free_flow_min[pair], actual_min=actual,
                   delay_min=delay, rerouted=rerouted)
        return out

    def _window(self, block: list[Day], until: float, commit: bool) -> dict[str, Any]:
        """Rows of the trips arrived after the previous window, up to ``until``.

        The departures of ``block`` (consecutive days) up to ``until`` get their
        vehicles; with ``commit`` the fleet keeps what is left parked, and the
        window is not built again.
        """
        pairs = self.pairs
        first: dict[int, int] = {}  # where each block day's departures start
        leaving = []
        for day in block:
            first[id(day)] = sum(len(d) for d in leaving)
            leaving.append(day.depart[:int(np.searchsorted(day.depart, until, "right"))])
        days = [d for d in self._open if id(d) not in first] + block
        parts = []
        for day in days:
            arrive = day.arrive
            lo = np.searchsorted(day.depart, self._logged_until - pairs.max_free_flow - 1.0)
            index = lo + np.flatnonzero((arrive[lo:] > self._logged_until)
                                        & (arrive[lo:] <= until) & ~day.special[lo:])
            parts.append((day, index))
        cut = int(np.searchsorted([t.arrive for t in self._special], until, "right"))
        special, later = self._special[:cut], self._special[cut:]
        arrive = np.concatenate([day.arrive[i] for day, i in parts]
                                + [np.array([t.arrive for t in special], dtype=float)])
        order = stable_argsort(arrive)
        pair = np.concatenate([day.pair[i] for day, i in parts]
                              + [np.array([t.day.pair[t.index] for t in special],
                                          dtype=np.int64)])

        def vehicle_of(day: Day, i: Any) -> Any:  # its id, or -(its departure in the block)
            at = first.get(id(day))
            return day.vehicle[i] if at is None else -(at + i)

        ref = np.concatenate([vehicle_of(day, i) for day, i in parts]
                             + [np.array([vehicle_of(t.day, t.index) for t in special],
                                         dtype=np.int64)])
        ids = self.fleet.assign(
            np.concatenate(leaving), pairs.origin_node[np.concatenate(
                [day.pair[:len(d)] for day, d in zip(block, leaving, strict=True)])],
            arrive[order], pairs.destination_node[pair[order]], ref[order], commit=commit)
        for day, d in zip(block, leaving, strict=True):
            day.vehicle[:len(d)] = ids[first[id(day)]:first[id(day)] + len(d)]
        trip_id = np.concatenate([day.first_id + i for day, i in parts]
                                 + [np.array([t.trip_id for t in special], dtype=np.int64)])
        vehicle = np.concatenate([day.vehicle[i] for day, i in parts]
                                 + [np.array([t.day.vehicle[t.index] for t in special],
                                             dtype=np.int64)])
        depart = np.concatenate([day.depart[i] for day, i in parts]
                                + [np.array([t.depart for t in special], dtype=float)])
        n_free = len(pair) - len(special)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        chunk = {"trip_id": trip_id[order], "vehicle_id": vehicle[order], "pair": pair[order],
                 "depart": depart[order], "arrive": arrive[order],
                 "special": {int(rank[k]): (*t.result, t.rerouted)
                             for k, t in enumerate(special, start=n_free)}}
        if commit:
            self._special = later
            self._logged_until = until
            self._open = [d for d in days if d.last_arrive > until]
        return chunk
