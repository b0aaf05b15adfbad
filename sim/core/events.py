"""Event queue: schedule callbacks at simulated times, cancel them, run until a time.

The clock unit of the whole simulation core is the **minute**: every time is a
float number of minutes since the scenario's start. Events at equal times run
in order of priority (lower first), then in the order they were scheduled, so a
run is deterministic.

Callbacks are held by strong references (unlike ``mesa.experimental.devs``,
whose weak references let a lambda silently never fire).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count
from typing import Any

#: Priorities for events that fall at the same minute (lower runs first).
PRIORITY_OPEN = 0  # standoff ends, roads reopen
PRIORITY_MOVE = 1  # vehicles reach places, depart, arrive


class Event:
    """A callback due at a time; cancel it with :meth:`EventQueue.cancel`."""

    __slots__ = ("args", "callback", "cancelled", "time")

    def __init__(self, time: float, callback: Callable[..., Any], args: tuple) -> None:
        self.time = time
        self.callback = callback
        self.args = args
        self.cancelled = False

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Event t={self.time:.2f} {getattr(self.callback, '__qualname__', '?')}{state}>"


class EventQueue:
    """A heap of (time, priority, sequence, event).

    Attributes
    ----------
    now : float
        The current simulated time, minutes.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Event]] = []
        self._sequence = count()
        self.now = 0.0
        self.n_processed = 0

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(
        self, time: float, callback: Callable[..., Any], *args: Any, priority: int = PRIORITY_MOVE
    ) -> Event:
        """Schedule ``callback(*args)`` at ``time`` (minutes); return the event.

        Raises
        ------
        ValueError
            If ``time`` lies in the past: the clock never runs backwards.
        """
        if not time >= self.now:  # also rejects NaN
            raise ValueError(f"cannot schedule an event at t={time} before now={self.now}")
        event = Event(time, callback, args)
        heapq.heappush(self._heap, (time, priority, next(self._sequence), event))
        return event

    @staticmethod
    def cancel(event: Event | None) -> None:
        """Cancel an event; it stays in the heap but will not run."""
        if event is not None:
            event.cancelled = True

    def next_time(self) -> float:
        """Time of the next pending event, or infinity if there is none."""
        heap = self._heap
        while heap and heap[0][3].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else float("inf")

    def run_until(self, until: float) -> None:
        """Run every event due at or before ``until``, then set the clock to ``until``."""
        heap = self._heap
        pop = heapq.heappop
        n = 0
        # NOTE: the hot loop of every run; kept flat on purpose.
        while heap and heap[0][0] <= until:
            time, _, _, event = pop(heap)
            if event.cancelled:
                continue
            self.now = time
            event.callback(*event.args)
            n += 1
        self.n_processed += n
        if until > self.now:
            self.now = until
