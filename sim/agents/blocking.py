"""Blocking positions: a detachment sent to hold a crossroads on a rival's path.

It drives like a patrol, holds its crossroads for ``hold_h`` and blocks every
rival that reaches it (its posture's ``block`` is 1). Whether and where one is
sent is decided by ``sim.core.blocking``.
"""

from __future__ import annotations

from sim.agents.patrols import Patrol


class BlockingPosition(Patrol):
    """A detachment holding a crossroads against a rival; it always blocks."""

    kind = "blocking"
