"""A/B: the 30-day baseline in this tree against another revision, interleaved. Prints medians.

    python benchmarks/bench_revisions.py --against HEAD~3 --rounds 7

Each round runs one child process per side (alternating which goes first); a child
imports its tree's ``sim``, runs the baseline once to warm up, then times ``--runs``
runs of seeds 1..runs and prints the median. The revision is checked out with
``git worktree`` into a temporary folder and removed afterwards. Both sides run the
scenario their own tree ships, so what is compared is "the baseline as each defines it".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from sim.core.model import PatrolModel
def once(seed):
    model = PatrolModel("derik-june-2020", rng=seed, days=30)
    start = time.perf_counter()
    model.run_model()
    return time.perf_counter() - start, len(model.traffic.log)
once(0)
times = [once(seed)[0] for seed in range(1, {runs} + 1)]
print(json.dumps({{"median_s": statistics.median(times)}}))
"""

OLD_CHILD = CHILD.replace("from sim.core.model import PatrolModel", """try:
    from sim.core.model import PatrolModel
except ImportError:  # before the layered package
    from sim.model import PatrolModel""")


def measure(root: Path, runs: int) -> float:
    out = subprocess.run([sys.executable, "-c", OLD_CHILD.format(root=str(root), runs=runs)],
                         capture_output=True, text=True, check=True, cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])["median_s"]


def main() -> None:
    """Time this tree and ``--against`` alternately; print both medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per child")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            ours, theirs = [], []
            for k in range(args.rounds):
                pair = [(ours, ROOT), (theirs, other)]
                for bucket, root in (pair if k % 2 == 0 else pair[::-1]):
                    bucket.append(measure(root, args.runs))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT,
                           check=False, capture_output=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"30-day baseline, simulation only; medians of {args.rounds} rounds x {args.runs} runs")
    print(f"  this tree        {a:7.3f} s")
    print(f"  {args.against:<16} {b:7.3f} s")
    print(f"  ratio            {a / b:7.2f}  (below 1: this tree is faster)")


if __name__ == "__main__":
    main()
