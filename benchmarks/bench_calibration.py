"""Runs per second inside the calibration loop, against plain ``sim.run``. Prints medians.

    python benchmarks/bench_calibration.py --days 30 --population 20 --generations 2

One core each (``--workers 0``): a small ABC-SMC calibration of the shipped file at the
given size, and the same number of plain ``sim.run`` calls of the same length; the ratio
is what the calibration loop costs per run: pyabc's bookkeeping (proposals, SQLite
history, distances), and runs at drawn parameters that may be busier than the baseline's.
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import tempfile
import time
from pathlib import Path

import mesa

import sim
from sim.experiments.calibration import calibrate

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Time the calibration loop and plain runs; print runs per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("ABC").setLevel(logging.WARNING)
    spec = ROOT / "scenarios" / "calibration" / "derik-2020.toml"
    print(f"python {platform.python_version()}, mesa {mesa.__version__}; {args.days:g}-day runs, "
          f"population {args.population}, {args.generations} generations; medians of "
          f"{args.repeats}")
    inside, plain = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = calibrate(spec, out=Path(tmp) / "c", workers=0,
                               population=args.population, generations=args.generations,
                               days=args.days)
            n = int(result["generations"]["simulations"].sum())
            abc_s = time.perf_counter() - start
        # the posterior-predictive check is part of the wall time: count its runs too
        n += len(result["ppc"]) and int(result["ppc"]["n_runs"].iloc[0])
        inside.append(n / abc_s)
        start = time.perf_counter()
        for seed in range(n):
            sim.run("derik-june-2020", seed=seed, days=args.days)
        plain.append(n / (time.perf_counter() - start))
    a, b = statistics.median(inside), statistics.median(plain)
    print(f"  calibration loop   {a:6.2f} runs/s")
    print(f"  plain sim.run      {b:6.2f} runs/s")
    print(f"  ratio              {a / b:6.2f}  (1 = no overhead)")


if __name__ == "__main__":
    main()
