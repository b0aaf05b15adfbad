"""The observed record and how the model is measured against it.

``seeds/observations.csv`` holds one row per observed pattern: what was reported,
the range it is taken to mean (``low``–``high``), the window and area it covers,
its sources, whether it is used to ``calibrate`` or held out (``hold_out``) and
never fitted, and which **statistic** of a run it is compared with (times
``model_scale``, when the area differs from the model's). The statistics are
defined here, once, each from a run's logs.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, Problem
from sim.io.results import RunResult
from sim.io.summary import longest_run_of_days

USES = ("calibrate", "hold_out")
FIELDS = ("pattern", "description", "reported", "low", "high", "unit", "window", "area",
          "statistic", "model_scale", "measured_as", "use", "incidents", "sources", "reasoning")


@dataclass(frozen=True, slots=True)
class Observation:
    """One observed pattern (a row of ``observations.csv``)."""

    pattern: str
    description: str
    low: float
    high: float
    statistic: str
    model_scale: float
    use: str
    window: str = ""
    area: str = ""
    sources: str = ""

    def distance(self, value: float) -> float:
        """How far ``value`` lies outside the observed range, in units of its width.

        0 inside the range; the width is ``high - low``, or a quarter of the midpoint
        for a point value (at least 0.1); NaN (the run had nothing to measure) counts
        as two widths.
        """
        value = math.nan if value is None else float(value)  # also numpy scalars, 0-d arrays
        if not math.isfinite(value):
            return 2.0
        width = max(self.high - self.low, 0.25 * abs(self.low + self.high) / 2.0, 0.1)
        return max(0.0, self.low - value, value - self.high) / width


# -- the statistics ------------------------------------------------------------------------

def _usru(run: RunResult) -> pd.DataFrame:
    s = run.standoffs
    pair = s["force_a"].where(s["force_a"] < s["force_b"], s["force_b"]) + "/" + s[
        "force_b"].where(s["force_a"] < s["force_b"], s["force_a"])
    return s[(s["kind"] != "villagers") & (pair == "RU/US")]


def _per_month(run: RunResult, n: float) -> float:
    return n * 30.0 / float(run.provenance["days"])


def _median(values: pd.Series) -> float:
    return float(values.median()) if len(values) else math.nan


def _max(values: pd.Series) -> float:
    return float(values.max()) if len(values) else math.nan


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _ru_yielded(standoffs: pd.DataFrame) -> pd.DataFrame:
    return standoffs[(standoffs["yielded"] == "RU") & standoffs["outcome"].isin(
        ["turned_back", "withdrew", "rerouted"])]


def _longest_delay_h(run: RunResult) -> float:
    ids = set(_usru(run)["standoff_id"])
    if not ids:
        return math.nan
    trips = run.trips[run.trips["cause"] != ""]
    hit = trips["cause"].str.split(";").map(lambda causes: bool(ids.intersection(causes)))
    return _max(trips.loc[hit, "delay_min"]) / 60.0 if hit.any() else 0.0


@dataclass(frozen=True, slots=True)
class Statistic:
    """A number measured on one run, to compare with an observation."""

    name: str
    description: str
    compute: Callable[[RunResult], float]


STATISTICS: dict[str, Statistic] = {s.name: s for s in (
    Statistic("usru_standoffs_per_month", "US-RU standoffs (not villagers'), per 30 days",
              lambda r: _per_month(r, len(_usru(r)))),
    Statistic("usru_standoff_days_per_month", "calendar days with a US-RU standoff, per 30 days",
              lambda r: _per_month(r, _usru(r)["start"].dt.date.nunique())),
    Statistic("usru_max_consecutive_days", "longest run of days with a US-RU standoff",
              lambda r: float(longest_run_of_days(_usru(r)["start"].dt.date))),
    Statistic("usru_duration_median_h", "median duration of US-RU standoffs, h",
              lambda r: _median(_usru(r)["duration_h"])),
    Statistic("usru_duration_max_h", "longest US-RU standoff, h",
              lambda r: _max(_usru(r)["duration_h"])),
    Statistic("villager_blockades_per_month",
              "villagers' blockades of RU or RU+TR patrols, per 30 days",
              lambda r: _per_month(r, int(((r.standoffs["kind"] == "villagers")
                                           & r.standoffs["force_a"].isin(["RU", "RU+TR"])
                                           ).sum()))),
    Statistic("ru_yield_share", "share of decided US-RU standoffs where RU gave way",
              lambda r: _share(int((_usru(r)["yielded"] == "RU").sum()),
                               int((_usru(r)["yielded"] != "").sum()))),
    Statistic("ru_only_blocked_share", "share of US-RU standoffs blocked by RU alone",
              lambda r: _share(int((_usru(r)["blocked_by"] == "RU").sum()), len(_usru(r)))),
    Statistic("usru_helicopters_max", "most helicopters over a US-RU standoff",
              lambda r: _max(_usru(r)["helicopters"].astype(float))),
    Statistic("usru_longest_delay_h", "longest civilian delay caused by a US-RU standoff, h",
              _longest_delay_h),
    Statistic("ru_turned_back_per_month",
              "US-RU standoffs where RU turned back, withdrew or rerouted, per 30 days",
              lambda r: _per_month(r, len(_ru_yielded(_usru(r))))),
)}


def measure(run: RunResult, names: list[str] | tuple[str, ...]) -> dict[str, float]:
    """The named statistics of one run."""
    return {name: float(STATISTICS[name].compute(run)) for name in names}


# -- reading the record ----------------------------------------------------------------------

def default_observations() -> Path:
    """The shipped record (``sim/data/observations.csv``, derived from ``seeds/``)."""
    return Path(str(resources.files("sim.data") / "observations.csv"))


def observations_table(path: str | Path | None = None) -> pd.DataFrame:
    """The observed record as a table (checked first, as :func:`load_observations` does)."""
    load_observations(path)
    return pd.read_csv(Path(path) if path is not None else default_observations())


def load_observations(path: str | Path | None = None) -> list[Observation]:
    """Read an observations file; every problem is reported at once.

    Raises
    ------
    InputError
        For a missing file, missing columns, a bad number or range, an unknown
        statistic or ``use``, or a repeated pattern.
    """
    path = Path(path) if path is not None else default_observations()
    if not path.is_file():
        raise InputError.single(path, "observations", "does not exist",
                                "give a CSV with the columns of seeds/observations.csv")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("pattern", "low", "high", "statistic", "use")
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError.single(path, "columns", f"lack {', '.join(missing)}",
                                    "see seeds/observations.csv")
        rows = list(reader)
    problems, out, seen = [], [], set()
    for i, row in enumerate(rows):
        where = f"row {i + 2} ({row.get('pattern') or '?'})"
        try:
            low, high = float(row["low"]), float(row["high"])
            scale = float(row.get("model_scale") or 1.0)
        except ValueError as exc:
            problems.append(Problem(where, f"has a value that is not a number ({exc})"))
            continue
        if not (np.isfinite([low, high, scale]).all() and low <= high):
            problems.append(Problem(where, f"low = {low}, high = {high} is not a range",
                                    "need finite low <= high"))
        if row["statistic"] not in STATISTICS:
            problems.append(Problem(where, f"statistic = {row['statistic']!r} is unknown",
                                    f"one of: {', '.join(STATISTICS)}"))
        if row["use"] not in USES:
            problems.append(Problem(where, f"use = {row['use']!r}", "calibrate or hold_out"))
        if row["pattern"] in seen:
            problems.append(Problem(where, "repeats a pattern id", "ids must be unique"))
        seen.add(row["pattern"])
        out.append(Observation(row["pattern"], row.get("description", ""), low, high,
                               row["statistic"], scale, row["use"], row.get("window", ""),
                               row.get("area", ""), row.get("sources", "")))
    if problems:
        raise InputError(path, problems)
    return out
