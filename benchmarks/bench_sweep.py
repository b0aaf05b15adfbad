"""Sweep throughput: 1 vs 2 workers, per-run overhead, and memory; prints medians.

    python benchmarks/bench_sweep.py            # 200 runs of the 7-day baseline, 5 repeats;
                                                # 50 runs of 5 days, 5 repeats
    python benchmarks/bench_sweep.py --quick    # 40 runs, 1 repeat; 50 runs of 5 days, 3

Targets (issue 3): 2 workers give >= 1.7x the runs per second of 1 worker; per-run
overhead (process start, task transport, file writing) < 5% of a 7-day run's time;
the main process's memory stays flat as the number of runs grows.

Short sweeps (issue 13): 2 workers >= 1.8x the runs per second of 1 worker on 50 runs
of 5 days. Printed twice: for the whole sweep, and for its run phase (from the first
run saved to the last, read from the run files' times), which leaves out the workers'
start. A worker is a fresh Python process that imports Mesa, pandas and networkx
before its first run (the time to the first run saved); a second worker costs that
import again, on a 2-core machine as much CPU as the whole short sweep's runs.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa

import sim
from sim.experiments.designs import expand_runs, make_design
from sim.experiments.runner import scenario_reference, tasks_for
from sim.experiments.spec import load_sweep
from sim.experiments.worker import run_task

SPEC = """
name = "bench"
scenario = "derik-june-2020"
days = {days}
replicates = {runs}
seed = 1
[parameters."forces.US.posture.block"]
values = [0.8]
"""


def write_spec(folder: Path, runs: int, days: float) -> Path:
    path = folder / f"bench-{runs}-{days}.toml"
    path.write_text(SPEC.format(runs=runs, days=days))
    return path


def phases(spec: Path, workers: int, folder: Path) -> tuple[float, float, float]:
    """A sweep's total time, its time to the first run saved, and its run phase's runs/s."""
    out = folder / f"phases-{workers}-{time.monotonic_ns()}"
    start = time.time()
    sim.sweep(spec, out=out, workers=workers, quiet=True)
    total = time.time() - start
    saved = sorted(p.stat().st_mtime for p in (out / "runs").glob("run-*.parquet"))
    return total, saved[0] - start, (len(saved) - 1) / (saved[-1] - saved[0])


def direct(spec: Path) -> float:
    """The same runs, called one after another in this process: no sweep machinery."""
    loaded, path = load_sweep(spec)
    runs = expand_runs(loaded, make_design(loaded))
    tasks = list(tasks_for(runs, loaded, scenario_reference(loaded, path), None))
    start = time.perf_counter()
    for task in tasks:
        run_task(task)
    return time.perf_counter() - start


def peak_rss_mb(spec: Path, folder: Path) -> float:
    """Peak memory of a fresh process running the sweep (its own high-water mark)."""
    out_dir = folder / f"mem-{time.monotonic_ns()}"
    code = (f"import resource, sim; sim.sweep({str(spec)!r}, out={str(out_dir)!r}, workers=2, "
            "quiet=True); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    # a fresh interpreter started with exec from a small parent: Linux keeps a forked
    # parent's high-water mark, so the parent here is `sh`, not this (large) process
    out = subprocess.run(["sh", "-c", 'exec "$0" -c "$1"', sys.executable, code],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, repeats = (40, 1) if args.quick else (200, 5)
    print(f"python {platform.python_version()}, mesa {mesa.__version__}; {runs} runs of the "
          f"7-day baseline; medians of {repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = write_spec(folder, runs, 7)
        # interleaved, so that drift in the machine's speed hits all three alike
        samples = [(direct(spec), phases(spec, 1, folder)[0], phases(spec, 2, folder)[0])
                   for _ in range(repeats)]
        base, one, two = (statistics.median(s[i] for s in samples) for i in range(3))
        print(f"direct, in this process      {runs / base:6.2f} runs/s  "
              f"({base / runs * 1e3:.1f} ms a run)")
        print(f"sweep, 1 worker              {runs / one:6.2f} runs/s  "
              f"(overhead {100 * (one - base) / base:+.1f}% a run; target < 5%)")
        print(f"sweep, 2 workers             {runs / two:6.2f} runs/s  "
              f"= {one / two:.2f}x 1 worker (target >= 1.7x)")
        short, repeats = write_spec(folder, 50, 5), 3 if args.quick else 5
        samples = [(direct(short), phases(short, 1, folder), phases(short, 2, folder))
                   for _ in range(repeats)]
        base = statistics.median(s[0] for s in samples)
        one, two = ([statistics.median(s[k][i] for s in samples) for i in range(3)]
                    for k in (1, 2))
        ratio_total = statistics.median(s[1][0] / s[2][0] for s in samples)
        ratio_runs = statistics.median(s[2][2] / s[1][2] for s in samples)
        print(f"50 runs of 5 days (medians of {repeats}): {base / 50 * 1e3:.0f} ms a run in "
              "this process")
        print(f"  whole sweep      1 worker {one[0]:5.2f} s, 2 workers {two[0]:5.2f} s  "
              f"= {ratio_total:.2f}x (target >= 1.8x)")
        print(f"  first run saved  1 worker {one[1]:5.2f} s, 2 workers {two[1]:5.2f} s  "
              "(the workers' start)")
        print(f"  run phase        1 worker {one[2]:5.1f} runs/s, 2 workers {two[2]:5.1f} "
              f"runs/s  = {ratio_runs:.2f}x (target >= 1.8x)")
        small, large = write_spec(folder, 100, 0.5), write_spec(folder, 1000, 0.5)
        rss_small, rss_large = peak_rss_mb(small, folder), peak_rss_mb(large, folder)
        print(f"main process peak memory     {rss_small:.0f} MB for 100 runs, "
              f"{rss_large:.0f} MB for 1,000 runs")


if __name__ == "__main__":
    main()
