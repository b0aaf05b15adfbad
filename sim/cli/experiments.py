"""``sim sweep``, ``rerun``, ``patterns``, ``calibrate``: many runs."""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a sweep stops its workers and says what is saved."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def resumed(argv: list[str], out: Path) -> str:
    """The command as typed, with ``--out`` and ``--resume``: what continues it after a stop."""
    words = list(argv)
    if "--out" not in words:
        words += ["--out", str(out)]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(["sim", *words])


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep file's design, locally or on a Dask cluster.

    Ctrl-C (exit 130), SIGTERM (143) or an error while it runs (1) stops every
    worker at once and prints how many runs are saved and the command that
    continues the sweep.
    """
    from sim.errors import InputError, SetupError
    from sim.experiments.runner import resume_command, sweep
    from sim.experiments.spec import load_sweep
    from sim.io.sweep_folder import run_files

    name = load_sweep(args.spec, replicates=args.replicates, sample=args.sample,
                      days=args.days)[0].name
    out = args.out or f"sweeps/{name}"
    extra = [*(["--workers", str(args.workers)] if args.workers is not None else []),
             *(["--scheduler", args.scheduler] if args.scheduler else []),
             *(["--retries", str(args.retries)] if args.retries != 1 else []),
             *(["--keep-logs"] if args.keep_logs else [])]
    command = resume_command(args.spec, out, {"replicates": args.replicates,
                                              "sample": args.sample, "days": args.days},
                             tuple(extra))

    def saved() -> str:
        return f"{len(run_files(out))} runs are saved in {out}/"

    try:
        with _terminate_as_interrupt():
            table = sweep(args.spec, out=out, workers=args.workers, scheduler=args.scheduler,
                          replicates=args.replicates, sample=args.sample, days=args.days,
                          resume=args.resume, quiet=args.quiet, keep_logs=args.keep_logs,
                          retries=args.retries)
    except KeyboardInterrupt as exc:
        what, status = ("terminated", 143) if isinstance(exc, Terminated) else (
            "interrupted", 130)
        print(f"{what}: {saved()}; continue with: {command}", file=sys.stderr)
        return status
    except (InputError, SetupError):
        raise
    except Exception as exc:  # a full disk, a broken worker: say what is kept, then stop
        log.debug("the sweep stopped", exc_info=True)
        print(f"error: the sweep stopped: {type(exc).__name__}: {exc}\n{saved()}; once "
              f"that is fixed, continue with: {command}", file=sys.stderr)
        return 1
    failed = int((table["status"] == "failed").sum())
    lost = table[table["status"] == "lost"]
    print(f"{len(table)} runs, {failed} failed"
          + (f", {len(lost)} lost with their worker process" if len(lost) else "")
          + f"; wrote {out}/ (runs.parquet, points.parquet, design.parquet, sweep.json)")
    if failed:
        first = table[table["status"] == "failed"].iloc[0]
        print(f"first failure: run {first['run_id']} (seed {first['seed']}): {first['error']}")
    if len(lost):
        first = lost.iloc[0]
        print(f"lost: run {first['run_id']} ({first['error']})"
              + (f" and {len(lost) - 1} more" if len(lost) > 1 else "")
              + f"; run again by: {command}")
    from sim.experiments.points import too_few_note
    from sim.io.sweep_folder import read_sweep

    folder = read_sweep(out)
    note = too_few_note(folder.points, folder.manifest["spec"]["ci_share"])
    if note:
        print(f"note: {note}")
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """Re-run one run of a sweep alone, write its logs, and compare with the sweep's row."""
    from sim.experiments.rerun import rerun

    result, row, mismatches = rerun(args.folder, args.run_id)
    out = Path(args.out) if args.out else Path(args.folder) / "reruns" / f"run-{args.run_id:06d}"
    result.write(out, csv=args.csv)
    print(f"run {args.run_id}: seed {result.provenance['seed']}, "
          f"{result.summary['standoffs']} standoffs, "
          f"{result.summary['vehicle_hours_delay']:,.1f} vehicle-hours of delay")
    print(f"wrote {out}/")
    if row is None:
        print("the sweep has not recorded this run yet")
    elif row["status"] == "lost":
        print(f"the sweep lost it with its worker process ({row['error']}); --resume runs it "
              "again")
    elif row["status"] != "ok":
        print(f"the sweep recorded it as failed: {row['error']}")
    elif mismatches:
        print(f"DIFFERS from the sweep's row in: {', '.join(mismatches)}")
        return 1
    else:
        print("identical to the sweep's row")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    """Run the validation report: every observed pattern against the model's distribution."""
    from sim.experiments.patterns import patterns
    from sim.scenario.loading import load_scenario

    name = load_scenario(args.scenario)[0].name
    out = Path(args.out) if args.out else Path("reports") / name
    table = patterns(args.scenario, replicates=args.replicates, days=args.days, seed=args.seed,
                     observations=args.observations, out=out, workers=args.workers,
                     scheduler=args.scheduler, quiet=args.quiet)
    figures = _draw_patterns(out)
    for use in ("calibrate", "hold_out"):
        part = table[table["use"] == use]
        print(f"{use:<10} {int(part['matched'].sum())} of {len(part)} patterns matched, "
              f"{int(part['consistent'].sum())} consistent")
    for row in table.itertuples():
        verdict = "matched" if row.matched else ("consistent" if row.consistent else "OUTSIDE")
        print(f"  {row.pattern:<34} observed {row.observed_low:g}-{row.observed_high:g}, model "
              f"{row.model_median:.3g} [{row.model_p10:.3g}-{row.model_p90:.3g}]  {verdict}")
    print(f"wrote {out}/ (patterns.csv, report.md, runs.parquet, patterns.json{figures})")
    return 0


def _draw_patterns(folder: Path) -> str:
    """Draw a patterns folder's figure if matplotlib is there; say what was written."""
    try:
        from sim.viz.pattern_figures import plot_patterns
    except ImportError:  # the plot extra is not installed
        return ""
    plot_patterns(folder)
    return ", figures/patterns.png"


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate a scenario's free parameters against the record (ABC-SMC)."""
    from sim.experiments.calibration import calibrate
    from sim.experiments.calibration_spec import load_calibration

    spec, _ = load_calibration(args.spec, population=args.population,
                               generations=args.generations, days=args.days)
    out = Path(args.out) if args.out else Path("calibrations") / spec.name
    try:
        result = calibrate(args.spec, out=out, workers=args.workers, scheduler=args.scheduler,
                           resume=args.resume, population=args.population,
                           generations=args.generations, days=args.days, quiet=args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: every finished generation is kept in {out}/abc.db; continue "
              f"with: sim calibrate {args.spec} --out {out} --resume", file=sys.stderr)
        return 130
    figures = ""
    try:
        from sim.viz.calibration_figures import plot_calibration
    except ImportError:  # the plot extra is not installed
        pass
    else:
        plot_calibration(out)
        figures = ", figures/"
    posterior, generations, ppc = result["posterior"], result["generations"], result["ppc"]
    last = generations.iloc[-1]
    print(f"{spec.name}: {int(generations['simulations'].sum()):,} simulations, "
          f"{len(generations)} generations, last tolerance {last['epsilon']:.3g}, "
          f"acceptance {last['acceptance_rate']:.1%}")
    from sim.experiments.calibration import weighted_median

    weights = posterior["weight"].to_numpy()
    for name in spec.parameters:
        median = weighted_median(posterior[name].to_numpy(), weights)
        print(f"  {name:<44} median {median:.3g}")
    for use in ("calibrate", "hold_out"):
        part = ppc[ppc["use"] == use]
        print(f"posterior check, {use}: {int(part['matched'].sum())} of {len(part)} matched, "
              f"{int(part['consistent'].sum())} consistent")
    print(f"wrote {out}/ (calibration.json, abc.db, posterior.parquet, generations.csv, "
          f"ppc/{figures})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare scenarios, paired replicate by replicate, with intervals."""
    from sim.experiments.compare import LostRuns, compare
    from sim.experiments.paired import format_difference
    from sim.io.sweep_folder import run_files

    out = Path(args.out) if args.out else Path("comparisons") / "-vs-".join(
        Path(s).stem for s in args.scenarios)
    again = resumed(args.argv, out)

    def saved() -> str:
        return f"{len(run_files(out))} runs are saved in {out}/"

    try:
        with _terminate_as_interrupt():
            table = compare(args.scenarios, replicates=args.replicates, outputs=args.outputs,
                            days=args.days, seed=args.seed, precision=args.precision,
                            max_replicates=args.max_replicates, batch=args.batch,
                            adjust=args.adjust, posterior=args.posterior, out=out,
                            workers=args.workers, scheduler=args.scheduler,
                            resume=args.resume, quiet=args.quiet)
    except KeyboardInterrupt as exc:
        what, status = ("terminated", 143) if isinstance(exc, Terminated) else (
            "interrupted", 130)
        print(f"{what}: {saved()}; continue with: {again}", file=sys.stderr)
        return status
    except LostRuns as exc:
        print(f"error: {exc}\n{saved()}; continue with: {again}", file=sys.stderr)
        return 1
    figure = ""
    try:
        from sim.viz.compare_figures import plot_comparison
    except ImportError:  # the plot extra is not installed
        pass
    else:
        plot_comparison(out)
        figure = ", figures/comparison.png"
    reference = table["reference"].iloc[0]
    print(f"reference: {reference}; {int(table['n'].max())} paired replicates; "
          f"adjustment: {args.adjust}")
    for row in table.itertuples():
        note = "" if row.interval == "t" else " (bootstrap)"
        flag = "" if row.converged else "  NOT CONVERGED"
        print(f"  {row.scenario:<22} {row.output:<26} "
              f"{format_difference(row.diff, row.diff_lo, row.diff_hi)}{note}{flag}")
    print(f"wrote {out}/ (comparison.csv, report.md, runs.parquet, compare.json{figure})")
    return 0


def add_parsers(sub: Any) -> None:
    """The subcommands of this module."""
    swp = sub.add_parser("sweep", help="run a sweep file (designs, replicates, local or Dask)")
    swp.add_argument("spec", help="a sweep TOML file (see scenarios/sweeps/)")
    swp.add_argument("--out", help="sweep folder (default sweeps/<name>)")
    swp.add_argument("--workers", type=int, help="local worker processes (default: one per "
                     "CPU; 0 runs in this process)")
    swp.add_argument("--scheduler", help="a Dask scheduler address, e.g. tcp://HOST:8786")
    swp.add_argument("--replicates", type=int, help="override the file's replicates")
    swp.add_argument("--sample", type=int, help="override the design size (n, or grid levels)")
    swp.add_argument("--days", type=float, help="override the days of every run")
    swp.add_argument("--resume", action="store_true", help="continue an interrupted sweep")
    swp.add_argument("--keep-logs", action="store_true", help="keep every run's logs")
    swp.add_argument("--retries", type=int, default=1, help="run a run whose worker process "
                     "was lost (killed, out of memory) again this many times before recording "
                     "it as lost for --resume (default 1)")
    swp.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    swp.set_defaults(func=cmd_sweep)

    cmp = sub.add_parser("compare", help="compare scenarios with the first, paired by seed, "
                         "with intervals")
    cmp.add_argument("scenarios", nargs="+", help="shipped names or files; the first is the "
                     "reference")
    cmp.add_argument("--replicates", type=int, default=30, help="paired replicates (default 30;"
                     " with --precision, the first batch)")
    cmp.add_argument("--outputs", nargs="+", help="summary fields to compare (default: the "
                     "headline ones)")
    cmp.add_argument("--days", type=float, help="override every scenario's length")
    cmp.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    cmp.add_argument("--precision", type=float, help="add replicates until every interval's "
                     "half-width is at most this share of the difference")
    cmp.add_argument("--max-replicates", type=int, default=400,
                     help="with --precision: stop here (default 400)")
    cmp.add_argument("--batch", type=int, help="with --precision: replicates added at a time "
                     "(default: --replicates)")
    cmp.add_argument("--adjust", default="none", help="multiplicity: none, holm or bonferroni")
    cmp.add_argument("--posterior", help="a calibration folder: replicate r uses its r-th "
                     "posterior draw in every scenario")
    cmp.add_argument("--out", help="comparison folder (default comparisons/<a>-vs-<b>...)")
    cmp.add_argument("--workers", type=int, help="local worker processes (0: this process)")
    cmp.add_argument("--scheduler", help="a Dask scheduler address")
    cmp.add_argument("--resume", action="store_true", help="continue an interrupted comparison")
    cmp.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    cmp.set_defaults(func=cmd_compare)

    rer = sub.add_parser("rerun", help="re-run one run of a sweep alone, with its logs")
    rer.add_argument("folder", help="the sweep folder")
    rer.add_argument("run_id", type=int, help="the run's run_id")
    rer.add_argument("--out", help="folder for its logs (default FOLDER/reruns/run-NNNNNN)")
    rer.add_argument("--csv", action="store_true", help="also write CSV copies")
    rer.set_defaults(func=cmd_rerun)

    pat = sub.add_parser("patterns", help="validate a scenario: every observed pattern of the "
                         "2020 record against the model's distribution")
    pat.add_argument("scenario", nargs="?", default="derik-june-2020",
                     help="a shipped scenario's name or a TOML file (default: the baseline)")
    pat.add_argument("--replicates", type=int, default=40, help="runs (default 40)")
    pat.add_argument("--days", type=float, help="override the run length (counts are per 30 "
                     "days)")
    pat.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    pat.add_argument("--observations", help="an observations CSV (default: the shipped record)")
    pat.add_argument("--out", help="report folder (default reports/<scenario>)")
    pat.add_argument("--workers", type=int, help="local worker processes (0: this process)")
    pat.add_argument("--scheduler", help="a Dask scheduler address")
    pat.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    pat.set_defaults(func=cmd_patterns)

    cal = sub.add_parser("calibrate", help="fit a scenario's free parameters to the record "
                         "(ABC-SMC with pyabc)")
    cal.add_argument("spec", help="a calibration TOML file (see scenarios/calibration/)")
    cal.add_argument("--out", help="calibration folder (default calibrations/<name>)")
    cal.add_argument("--workers", type=int, help="local processes (default: one per CPU; 0 or "
                     "1: this process, reproducible)")
    cal.add_argument("--scheduler", help="a Dask scheduler address, e.g. tcp://HOST:8786")
    cal.add_argument("--resume", action="store_true", help="continue a killed calibration")
    cal.add_argument("--population", type=int, help="override the population size")
    cal.add_argument("--generations", type=int, help="override the number of generations")
    cal.add_argument("--days", type=float, help="override the run length")
    cal.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    cal.set_defaults(func=cmd_calibrate)
