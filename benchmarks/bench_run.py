"""How fast is one run? Prints medians; run it under each Python / Mesa you care about.

    python benchmarks/bench_run.py            # full: 30-day baseline, 10x demand, naive model
    python benchmarks/bench_run.py --quick    # fewer repeats, no naive model

Figures (issue 2): the 30-day baseline (>= 2,000 civilian trips a day, every patrol)
in under 1 s on one core; 10x the trips in at most 12x the time; and, for reference,
a plain tick-loop Mesa model moving the same trips.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from pathlib import Path

import mesa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sim
from sim.core.model import PatrolModel
from sim.io.results import RunResult


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of ``fn(i)`` over repeats, each starting from a collected heap."""
    times, out = [], None
    for i in range(repeats):
        out = None
        gc.collect()
        start = time.perf_counter()
        out = fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def simulate(seed: int, days: float = 30, **overrides) -> PatrolModel:
    model = PatrolModel("derik-june-2020", rng=seed, days=days, **overrides)
    model.run_model()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)
    print(f"python {platform.python_version()}, mesa {mesa.__version__}, "
          f"sim {sim.__version__}, {platform.machine()}; medians of {repeats} runs")

    sim_s, model = timed(lambda i: simulate(i + 1), repeats)
    trips_per_day = len(model.traffic.log) / 30
    print(f"baseline 30 days, simulation only     {sim_s:7.3f} s  "
          f"({trips_per_day:,.0f} trips/day, {len(model.sorties.all)} sorties, "
          f"{len(model.encounters.standoffs)} standoffs, {model.events.n_processed:,} events)")
    full_s, _ = timed(lambda i: RunResult.from_model(simulate(i + 1)), repeats)
    print(f"baseline 30 days, with logs as tables  {full_s:7.3f} s  (sim.run)")

    n_trips = len(model.traffic.log)
    model = None
    ten_s, big = timed(lambda i: simulate(i + 1, **{"civilians.trips_per_day": 24000}),
                       max(3, repeats // 2))
    print(f"10x demand (24,000 trips/day)          {ten_s:7.3f} s  "
          f"= {ten_s / sim_s:.1f}x the time for {len(big.traffic.log) / n_trips:.1f}x"
          " the trips (target: <= 12x)")

    big = None
    if not args.quick:
        from naive_tick_model import NaiveTrafficModel

        def naive(i: int) -> NaiveTrafficModel:
            m = NaiveTrafficModel(days=30, rng=i + 1)
            while m.running:
                m.step()
            return m

        naive_s, naive_model = timed(naive, 3)
        print(f"naive tick-loop Mesa model, civilians   {naive_s:7.3f} s  "
              f"({naive_model.arrived / 30:,.0f} trips/day, every car stepped every minute)"
              f" = {naive_s / sim_s:.0f}x slower")


if __name__ == "__main__":
    main()
