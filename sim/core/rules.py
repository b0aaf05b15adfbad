"""The pure rules of an encounter: where two patrols meet, how long a standoff lasts, who gives way.

No state, no randomness of their own: each function takes the sides and the
uniform draws it needs, so each can be checked by hand (``tests/test_encounters.py``).
``sim.core.encounters`` applies them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Side:
    """One party to a standoff, as the outcome rule sees it."""

    strength: float
    """Vehicles, plus helicopters overhead times ``helicopter_strength``."""
    give_way: float
    """Chance of giving way against an equally strong rival."""
    blocks: bool
    """Whether this side blocked."""
    passing: bool = True
    """Whether it is on its way somewhere (not villagers, not a patrol holding its place)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a standoff ended: ``kind`` and which side (0 or 1) prevailed or yielded."""

    kind: str  # "turned_back", "both_passed" or "forced_through"
    prevailing: int | None
    yielding: int | None


def give_way_probability(side: Side, other: Side) -> float:
    """A side's chance of giving way, scaled by the rival's share of their strength.

    Against an equal rival it is ``side.give_way``; against one twice as strong,
    4/3 of it; capped at 1.
    """
    total = side.strength + other.strength
    if total <= 0:
        return side.give_way
    return min(1.0, side.give_way * 2.0 * other.strength / total)


def decide_outcome(a: Side, b: Side, u_a: float, u_b: float, u_tie: float,
                   force_through_ratio: float) -> Outcome:
    """Decide how a standoff ends.

    Parameters
    ----------
    a, b : Side
        The two parties.
    u_a, u_b, u_tie : float
        Uniform draws in [0, 1).
    force_through_ratio : float
        How many times stronger a side must be to force its way through.

    Returns
    -------
    Outcome
        * one side gives way (``u < give_way_probability``): it turns back;
        * both give way: both pass;
        * neither: a side at least ``force_through_ratio`` times stronger gets
          its way: if it is passing, it forces through (both carry on); if it
          holds its ground (villagers, a patrol at its place), the other turns
          back. Failing that, the side that did not block withdraws, or, if both
          blocked, the weaker (a fair coin ``u_tie`` if equal).
    """
    a_gives = u_a < give_way_probability(a, b)
    b_gives = u_b < give_way_probability(b, a)
    if a_gives and b_gives:
        return Outcome("both_passed", None, None)
    if a_gives or b_gives:
        yielding = 0 if a_gives else 1
        return Outcome("turned_back", 1 - yielding, yielding)
    for strong, weak in ((a, b), (b, a)):
        if strong.strength > 0 and strong.strength >= force_through_ratio * weak.strength:
            winner = 0 if strong is a else 1
            kind = "forced_through" if strong.passing else "turned_back"
            return Outcome(kind, winner, 1 - winner)
    if a.blocks != b.blocks:
        yielding = 1 if a.blocks else 0
    elif a.strength != b.strength:
        yielding = 0 if a.strength < b.strength else 1
    else:
        yielding = 0 if u_tie < 0.5 else 1
    return Outcome("turned_back", 1 - yielding, yielding)


def standoff_minutes(median_h: float, sigma: float, z: float, strength_a: float,
                     strength_b: float, give_way_a: float, give_way_b: float,
                     n_helicopters: int, helicopter_stakes: float) -> float:
    """A standoff's duration, minutes: lognormal, longer when even, stubborn and watched.

    ``median_h * exp(sigma * z)`` is scaled by three factors of the parties:

    * evenness ``2 * min(s) / (s_a + s_b)`` (1 for equal strengths, floored at 0.25):
      a lopsided standoff is settled sooner;
    * resolve ``2 * (1 - mean give_way)`` (1 when both give way half the time,
      floored at 0.1): stubborn sides hold out longer;
    * stakes ``1 + helicopter_stakes * n_helicopters`` for helicopters called in.

    So ``median_h`` is the median for evenly matched sides of middling resolve
    with no helicopters.
    """
    total = strength_a + strength_b
    evenness = max(0.25, 2.0 * min(strength_a, strength_b) / total) if total > 0 else 1.0
    resolve = max(0.1, 2.0 * (1.0 - (give_way_a + give_way_b) / 2.0))
    stakes = 1.0 + helicopter_stakes * n_helicopters
    return 60.0 * median_h * math.exp(sigma * z) * evenness * resolve * stakes


def meeting_time(length_km: float, enter_a: float, speed_a: float, enter_b: float,
                 speed_b: float) -> float:
    """When two vehicles entering a road from opposite ends meet (minutes).

    ``enter_*`` are the times each was (or would have been) at its end of the
    road and ``speed_*`` their speeds in km per minute.
    """
    return (length_km + enter_a * speed_a + enter_b * speed_b) / (speed_a + speed_b)
