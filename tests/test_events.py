"""The event queue: order, cancellation, and a clock that never runs backwards."""

import pytest

from sim.core.events import PRIORITY_MOVE, PRIORITY_OPEN, EventQueue


def test_events_run_by_time_then_priority_then_in_the_order_scheduled():
    """Equal times run lower priority first, then first-scheduled first."""
    queue, seen = EventQueue(), []
    queue.schedule(5.0, seen.append, "late")
    queue.schedule(1.0, seen.append, "move-1", priority=PRIORITY_MOVE)
    queue.schedule(1.0, seen.append, "open", priority=PRIORITY_OPEN)
    queue.schedule(1.0, seen.append, "move-2", priority=PRIORITY_MOVE)
    queue.run_until(10.0)
    assert seen == ["open", "move-1", "move-2", "late"]
    assert queue.now == 10.0


def test_a_cancelled_event_never_runs():
    """Cancelling an event removes its effect but not the others'."""
    queue, seen = EventQueue(), []
    event = queue.schedule(1.0, seen.append, "cancelled")
    queue.schedule(2.0, seen.append, "kept")
    queue.cancel(event)
    queue.run_until(3.0)
    assert seen == ["kept"]


def test_run_until_stops_at_the_horizon_and_keeps_later_events():
    """Events after ``until`` stay queued for the next call."""
    queue, seen = EventQueue(), []
    queue.schedule(1.0, seen.append, 1)
    queue.schedule(4.0, seen.append, 4)
    queue.run_until(2.0)
    assert (seen, queue.now, queue.next_time()) == ([1], 2.0, 4.0)
    queue.run_until(4.0)
    assert seen == [1, 4]


def test_an_event_in_the_past_is_refused():
    """The clock never runs backwards: scheduling before now (or at NaN) raises."""
    queue = EventQueue()
    queue.run_until(10.0)
    with pytest.raises(ValueError, match="before now"):
        queue.schedule(9.0, print)
    with pytest.raises(ValueError, match="t=nan"):
        queue.schedule(float("nan"), print)


def test_callbacks_are_held_strongly():
    """A lambda scheduled and then dropped by the caller still fires (unlike weak references)."""
    queue, seen = EventQueue(), []
    queue.schedule(1.0, lambda: seen.append("fired"))
    queue.run_until(2.0)
    assert seen == ["fired"]
