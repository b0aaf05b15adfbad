"""Who is on which road or at which place, and which roads and places are closed by what.

A *gate* is something a closure can shut: a road (its direction-free key, a
tuple) or a place (a node id, a string). Lookups are dictionary reads, so
asking "is a rival on this road?" never scans all patrols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sim.agents.patrols import Patrol

Gate = tuple[str, str] | str


class Closure(Protocol):
    """What shuts a gate: a standoff or a blockade, whose id names the cause of delay."""

    standoff_id: str


class Waiter(Protocol):
    """A patrol waiting for a gate to reopen."""

    def gate_reopened(self) -> None:
        """The gate it waited at is open again."""


def is_road(gate: Gate) -> bool:
    """Whether a gate is a road (else it is a place)."""
    return isinstance(gate, tuple)


class Occupancy:
    """Indexes of moving patrols, holders of places, closures and waiting patrols.

    Attributes
    ----------
    closed_roads : set of tuple
        Road keys closed now.
    closed_nodes : set of str
        Places closed now.
    version : int
        Bumped whenever a gate opens or closes (for detour caches).
    """

    def __init__(self) -> None:
        self._on_road: dict[tuple[str, str], dict[int, Patrol]] = {}
        self._holders: dict[str, dict[int, Patrol]] = {}
        self._closures: dict[Gate, list[Closure]] = {}
        self._waiting: dict[Gate, list[Waiter]] = {}
        self.closed_roads: set[tuple[str, str]] = set()
        self.closed_nodes: set[str] = set()
        self.version = 0

    # -- patrols on roads and at places ------------------------------------------------

    def enter_road(self, road: tuple[str, str], patrol: Patrol) -> None:
        """Record a patrol moving on ``road``."""
        self._on_road.setdefault(road, {})[patrol.unique_id] = patrol

    def leave_road(self, road: tuple[str, str], patrol: Patrol) -> None:
        """Forget a patrol on ``road`` (no error if it was not there)."""
        on = self._on_road.get(road)
        if on is not None:
            on.pop(patrol.unique_id, None)

    def patrols_on(self, road: tuple[str, str]) -> list[Patrol]:
        """Patrols moving on ``road``, in the order they entered."""
        on = self._on_road.get(road)
        return list(on.values()) if on else []

    def hold(self, node: str, holder: Patrol) -> None:
        """Record a patrol holding a place (dwelling there, or a blocking position)."""
        self._holders.setdefault(node, {})[holder.unique_id] = holder

    def release(self, node: str, holder: Patrol) -> None:
        """Forget a holder of ``node``."""
        held = self._holders.get(node)
        if held is not None:
            held.pop(holder.unique_id, None)

    def holders(self, node: str) -> list[Patrol]:
        """Patrols holding ``node``, in the order they arrived."""
        held = self._holders.get(node)
        return list(held.values()) if held else []

    def holders_by_node(self) -> list[tuple[str, list[Patrol]]]:
        """Every held place and its holders."""
        return [(node, list(held.values())) for node, held in self._holders.items() if held]

    # -- closures ----------------------------------------------------------------------

    def close(self, gate: Gate, closure: Closure) -> None:
        """Shut a gate on behalf of ``closure`` (several closures may share a gate)."""
        self._closures.setdefault(gate, []).append(closure)
        (self.closed_roads if is_road(gate) else self.closed_nodes).add(gate)
        self.version += 1

    def reopen(self, gate: Gate, closure: Closure) -> bool:
        """Lift ``closure`` from a gate; return True if the gate is now open."""
        active = self._closures.get(gate, [])
        if closure in active:
            active.remove(closure)
        if active:
            return False
        self._closures.pop(gate, None)
        (self.closed_roads if is_road(gate) else self.closed_nodes).discard(gate)
        self.version += 1
        return True

    def closure_at(self, gate: Gate) -> Closure | None:
        """The earliest active closure of a gate, or None if it is open."""
        active = self._closures.get(gate)
        return active[0] if active else None

    def is_closed(self, road: tuple[str, str], node: str) -> Gate | None:
        """The closed gate among a road and the place it leads to, or None."""
        if road in self.closed_roads:
            return road
        if node in self.closed_nodes:
            return node
        return None

    @property
    def n_closed(self) -> int:
        """Number of gates closed now."""
        return len(self.closed_roads) + len(self.closed_nodes)

    # -- patrols waiting at closed gates -----------------------------------------------

    def wait(self, gate: Gate, patrol: Waiter) -> None:
        """Record a patrol waiting for a gate to reopen."""
        self._waiting.setdefault(gate, []).append(patrol)

    def stop_waiting(self, gate: Gate, patrol: Waiter) -> None:
        """Forget a waiting patrol (it rerouted)."""
        waiting = self._waiting.get(gate)
        if waiting and patrol in waiting:
            waiting.remove(patrol)

    def take_waiting(self, gate: Gate) -> list[Waiter]:
        """Remove and return the patrols waiting at a gate."""
        return self._waiting.pop(gate, [])
