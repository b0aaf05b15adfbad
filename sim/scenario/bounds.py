"""The bounds every number in a scenario keeps: finite, and within what a run can hold.

Each kind of quantity has one type here with its range, so a value that would
crash or hang a run (an infinite duration, a hundred million helicopters, a
reporting interval of a nanosecond) is refused by validation, with the bound in
the message, before anything runs. The upper bounds are far beyond anything
plausible for patrols in one corner of Syria; they exist so that every run ends.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator


def _range(low: float, high: float, *, open_low: bool = False,
           unit: str = "") -> Callable[[float], float]:
    """A validator: finite, above ``low`` (or at least it), at most ``high``."""
    def check(value: float) -> float:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if open_low and not value > low:
            raise ValueError(f"must be > {low:g}")
        if not value >= low:
            raise ValueError(f"must be >= {low:g}")
        if value > high:
            raise ValueError(f"must be at most {high:g}{unit}")
        return value
    return check


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a probability in [0, 1]")
    return value


#: Upper bounds, in the unit each name says.
MAX_DAYS = 3660.0            # ten years
MAX_HOURS = 8760.0           # a year: any duration, hold, dwell or cooldown
MAX_MINUTES = 10080.0        # a week: patience, lead time
MAX_SPEED_KMH = 500.0
MAX_KM = 1000.0
MAX_SIGMA = 5.0              # lognormal spread: beyond it, draws overflow
MAX_PER_DAY = 100.0          # departures of one mission a day
MAX_UNITS = 1000             # vehicles, helicopters, positions
MAX_FACTOR = 100.0           # ratios and multipliers
MAX_TRIPS_PER_DAY = 1_000_000.0
MAX_POPULATION = 100_000_000

Prob = Annotated[float, AfterValidator(_probability)]
Days = Annotated[float, AfterValidator(_range(0, MAX_DAYS, open_low=True, unit=" days"))]
Hours = Annotated[float, AfterValidator(_range(0, MAX_HOURS, open_low=True, unit=" h"))]
HoursOrZero = Annotated[float, AfterValidator(_range(0, MAX_HOURS, unit=" h"))]
Minutes = Annotated[float, AfterValidator(_range(0, MAX_MINUTES, open_low=True, unit=" min"))]
MinutesOrZero = Annotated[float, AfterValidator(_range(0, MAX_MINUTES, unit=" min"))]
Seconds = Annotated[float, AfterValidator(_range(0, 3600, unit=" s"))]
Speed = Annotated[float, AfterValidator(_range(0, MAX_SPEED_KMH, open_low=True,
                                               unit=" km/h"))]
Km = Annotated[float, AfterValidator(_range(0, MAX_KM, open_low=True, unit=" km"))]
Sigma = Annotated[float, AfterValidator(_range(0, MAX_SIGMA))]
PerDay = Annotated[float, AfterValidator(_range(0, MAX_PER_DAY, unit=" a day"))]
Factor = Annotated[float, AfterValidator(_range(0, MAX_FACTOR))]
PosFactor = Annotated[float, AfterValidator(_range(0, MAX_FACTOR, open_low=True))]
Ratio = Annotated[float, AfterValidator(_range(1, MAX_FACTOR))]
Strength = Annotated[float, AfterValidator(_range(0, MAX_UNITS, unit=" vehicles"))]
Units = Annotated[int, AfterValidator(_range(0, MAX_UNITS))]
PosUnits = Annotated[int, AfterValidator(_range(0, MAX_UNITS, open_low=True))]
Trips = Annotated[float, AfterValidator(_range(0, MAX_TRIPS_PER_DAY, unit=" trips a day"))]
Population = Annotated[int, AfterValidator(_range(0, MAX_POPULATION))]
PosPopulation = Annotated[int, AfterValidator(_range(0, MAX_POPULATION, open_low=True))]
StartHours = Annotated[float, AfterValidator(_range(0, 24 * MAX_DAYS, unit=" h"))]
TickMinutes = Annotated[float, AfterValidator(_range(0.1, 1440, unit=" min"))]
ReportMinutes = Annotated[float, AfterValidator(_range(1, MAX_MINUTES, unit=" min"))]

def _start(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2100:
        raise ValueError("must be a date between 1900 and 2100")
    return value


def _folder_name(value: str) -> str:
    if not FOLDER_NAME.fullmatch(value):
        raise ValueError("must be a plain name of letters, digits, '.', '_' and '-' (at most "
                         "100, not starting with '.' or '-'): it names output folders")
    return value


#: Names that become folder names: no separators, no ``..``, no hidden files.
FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
FolderName = Annotated[str, AfterValidator(_folder_name)]
Start = Annotated[dt.datetime, AfterValidator(_start)]

#: A run that would log more trips than this is refused up front (about 2 GB of logs).
MAX_TRIPS_PER_RUN = 20_000_000
#: Measured cost of the engine, for the estimate in the refusal (seconds, bytes a trip).
SECONDS_PER_TRIP, BYTES_PER_TRIP = 5e-6, 100


def run_size_problem(trips_per_day: float, days: float) -> str | None:
    """Why a run of this demand and length is too big to run, or None if it fits."""
    trips = trips_per_day * days
    if trips <= MAX_TRIPS_PER_RUN:
        return None
    return (f"the run would log about {trips:,.0f} civilian trips (about "
            f"{trips * BYTES_PER_TRIP / 1e9:,.0f} GB of logs and "
            f"{trips * SECONDS_PER_TRIP / 60:,.0f} min to simulate); at most "
            f"{MAX_TRIPS_PER_RUN:,} per run: shorten days or lower civilians.trips_per_day")
