"""How fast is one run? Both traffic engines side by side; prints medians.

    python benchmarks/bench_run.py            # both engines: baseline, 10x demand, 365 days,
                                              # memory, and a naive tick-loop model
    python benchmarks/bench_run.py --quick    # 3 repeats; no memory, no naive model

Figures (issue 13): the column engine (the default) at least 5x faster than the
reference engine (today's engine before it) on the 30-day baseline; 10x the
civilian demand in at most 3x the time; a 365-day run at most 12.5x a 30-day
run, with memory that grows only with the log. Each repeat runs both engines on
the same seed, back to back, and ratios are medians of the ratios within a
repeat, so a machine whose load changes slows both sides alike. "Simulation"
is ``PatrolModel(...)`` and ``run_model()``; "with logs" adds
``RunResult.from_model`` (every log as a DataFrame, as ``sim.run`` does).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mesa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sim
from sim.core.model import PatrolModel
from sim.io.results import RunResult

ENGINES = ("reference", "columns")
TEN_X = {"civilians.trips_per_day": 24000}


def simulate(engine: str, seed: int, days: float = 30, **overrides) -> PatrolModel:
    model = PatrolModel("derik-june-2020", rng=seed, days=days, traffic_engine=engine,
                        **overrides)
    model.run_model()
    return model


def with_logs(engine: str, seed: int, days: float = 30, **overrides) -> RunResult:
    return RunResult.from_model(simulate(engine, seed, days, **overrides))


def timed(runs: dict[str, object], repeats: int,
          engines=ENGINES) -> dict[tuple[str, str], list[float]]:
    """Seconds of each ``runs[name](engine, seed)``, per repeat (seeds 1, 2, ...).

    Each repeat runs every engine and every run back to back, so the ratios taken
    within a repeat (engine against engine, 10x against 1x) see the same load.
    """
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(repeats):
        for engine in engines:
            for name, fn in runs.items():
                gc.collect()
                start = time.perf_counter()
                fn(engine, i + 1)
                times.setdefault((name, engine), []).append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(top: list[float], bottom: list[float]) -> float:
    """Median of the per-repeat ratios."""
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def report(times: dict[tuple[str, str], list[float]], what: str) -> None:
    labels = {"base": f"baseline 30 days, {what}", "ten": f"10x demand, {what}",
              "year": f"365 days, {what}"}
    for name, label in labels.items():
        ref, col = times[name, "reference"], times[name, "columns"]
        print(f"{label:<40}{median(ref):9.3f} s {median(col):9.3f} s  {ratio(ref, col):6.1f}x")
    for name, label, target in (("ten", "  10x demand / baseline", 3.0),
                                ("year", "  365 days / 30 days", 12.5)):
        ref = ratio(times[name, "reference"], times["base", "reference"])
        col = ratio(times[name, "columns"], times["base", "columns"])
        print(f"{label:<40}{ref:9.1f}x  {col:9.1f}x   (target: columns <= {target}x)")


def peak_rss_mb(engine: str, days: float, logs: bool) -> float:
    """Peak resident memory (MB, VmHWM) of a fresh process that runs the baseline once."""
    code = ("from sim.core.model import PatrolModel\n"
            "from sim.io.results import RunResult\n"
            f"m = PatrolModel('derik-june-2020', rng=1, days={days}, traffic_engine={engine!r})\n"
            "m.run_model()\n"
            + ("r = RunResult.from_model(m)\n" if logs else "")
            + "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
            + "print(int(status.split()[0]) / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()}, mesa {mesa.__version__}, "
          f"sim {sim.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load {load:.1f}; medians of {repeats} repeats")
    model = simulate("columns", 1)
    print(f"baseline: {len(model.traffic.log) / 30:,.0f} trips/day, {len(model.sorties.all)} "
          f"sorties, {len(model.encounters.standoffs)} standoffs; 10x: 24,000 trips/day")
    model = None
    print(f"{'':<40}{'reference':>11} {'columns':>11}  {'ref/col':>7}   (target: >= 5x)")
    runs = {"base": simulate, "ten": lambda e, s: simulate(e, s, **TEN_X),
            "year": lambda e, s: simulate(e, s, days=365)}
    report(timed(runs, repeats), "simulation")
    runs = {"base": with_logs, "ten": lambda e, s: with_logs(e, s, **TEN_X),
            "year": lambda e, s: with_logs(e, s, days=365)}
    report(timed(runs, repeats), "with logs")

    if args.quick:
        return
    print("peak memory, MB (a fresh process each; 30 days -> 365 days)")
    for logs in (False, True):
        cells = []
        for engine in ENGINES:
            month, year_mb = peak_rss_mb(engine, 30, logs), peak_rss_mb(engine, 365, logs)
            cells.append(f"{engine} {month:.0f} -> {year_mb:.0f} "
                         f"({(year_mb - month) / 335 * 1024:.0f} kB/day)")
        print(f"  {'with logs as tables' if logs else 'simulation':<22}" + ";  ".join(cells))

    from naive_tick_model import NaiveTrafficModel

    def naive(i: int) -> NaiveTrafficModel:
        m = NaiveTrafficModel(days=30, rng=i + 1)
        while m.running:
            m.step()
        return m

    times = timed({"naive": lambda e, s: naive(s - 1), "base": simulate}, 3,
                  engines=("columns",))
    naive_s = median(times["naive", "columns"])
    print(f"naive tick-loop Mesa model, civilians only  {naive_s:7.3f} s  (every car stepped "
          f"every minute) = {ratio(times['naive', 'columns'], times['base', 'columns']):.0f}x "
          "the column engine's full model")


if __name__ == "__main__":
    main()
