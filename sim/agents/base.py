"""The base of every agent: Mesa 3.3 / 3.5 compatible, and it does not keep models alive.

Mesa 3.3 numbers agents with a class-level ``Agent._ids``, a dict of counters keyed
by model, which holds every model ever made: a process that builds many models
(sweep workers, notebooks, the app's resets) grows by megabytes a model. Our
agents count by model in a weak-keyed dict instead. Mesa 3.5 numbers agents on
the model itself and never reads ``_ids``.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import mesa


class _CountersByModel(weakref.WeakKeyDictionary):
    """A counter per model, created on first use, dropped with the model."""

    def __getitem__(self, model: Any) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class SimAgent(mesa.Agent):
    """Base of every agent in ``sim`` (ids unique per model, across all our agent kinds)."""

    _ids = _CountersByModel()
