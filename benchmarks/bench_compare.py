"""``sim compare`` against its ideal: the same runs one after another, divided by the workers.

    python benchmarks/bench_compare.py                      # 3 scenarios x 10 replicates x 30 days
    python benchmarks/bench_compare.py --replicates 50 --repeats 1

Target (issue 10): a comparison of three scenarios at 50 replicates of 30 days takes about
3 x 50 x one run / workers, plus a few percent. The ideal is measured, not assumed: every
run of the comparison is timed in this process with ``sim.run``, and the sum divided by
the workers. Prints medians over the repeats.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import mesa

import sim
from sim.experiments.designs import run_seed

SCENARIOS = ["derik-june-2020", "qasr-dib-base", "us-drawdown"]


def serial(replicates: int, days: float, seed: int) -> float:
    """Seconds for every run of the comparison, one after another in this process."""
    start = time.perf_counter()
    for r in range(replicates):
        for name in SCENARIOS:
            sim.run(name, seed=run_seed(seed, r, r, True), days=days)
    return time.perf_counter() - start


def compared(replicates: int, days: float, seed: int, workers: int, folder: Path) -> float:
    """Seconds for ``sim.compare`` of the same runs with ``workers`` processes."""
    out = folder / f"cmp-{time.monotonic_ns()}"
    start = time.perf_counter()
    sim.compare(SCENARIOS, replicates=replicates, days=days, seed=seed, workers=workers,
                out=out, quiet=True)
    return time.perf_counter() - start


def main() -> None:
    """Time the comparison and its ideal, interleaved; print medians and the overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = len(SCENARIOS) * args.replicates
    print(f"python {platform.python_version()}, mesa {mesa.__version__}; {runs} runs of "
          f"{args.days:g} days ({len(SCENARIOS)} scenarios x {args.replicates} replicates), "
          f"{args.workers} workers; medians of {args.repeats}")
    ideal, actual = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            ideal.append(serial(args.replicates, args.days, repeat) / args.workers)
            actual.append(compared(args.replicates, args.days, repeat, args.workers,
                                   Path(tmp)))
    i, a = statistics.median(ideal), statistics.median(actual)
    print(f"  ideal (serial runs / workers)  {i:7.1f} s")
    print(f"  sim compare                    {a:7.1f} s")
    print(f"  overhead                       {a / i - 1:+7.1%}")


if __name__ == "__main__":
    main()
