"""Command line: ``sim run``, ``sweep``, ``rerun``, ``plot``, ``animate``, ``export`` and more.

The only module that prints. Bad input exits with status 2 and a message
naming the file, the field and the fix, before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import InputError, SetupError

log = logging.getLogger("sim")


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML reads it (numbers, booleans, lists, quoted strings), else text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["forces.US.posture.block=0.5"]`` → ``{"forces.US.posture.block": 0.5}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError.single("command line", "--set", f"= {item!r} is not NAME=VALUE",
                                    "e.g. --set forces.US.posture.block=0.5")
        out[name.strip()] = parse_value(value.strip())
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its logs."""
    from sim.core.model import PatrolModel, resolve_seed
    from sim.io.results import RunResult, check_out_folder
    from sim.io.summary import summary_lines

    seed = resolve_seed(args.seed)
    model = PatrolModel(args.scenario, rng=seed, days=args.days, **parse_overrides(args.set))
    out = Path(args.out) if args.out else Path("runs") / f"{model.spec.name}-seed{seed}"
    check_out_folder(out)  # before the run, not only when writing
    if args.seed is None:
        print(f"seed {seed} (drawn; pass --seed {seed} to repeat this run)")
    model.run_model()
    result = RunResult.from_model(model)
    result.write(out, csv=args.csv)
    if not args.quiet:
        spec = model.spec
        print(f"{spec.name}: {spec.title}")
        print(f"seed {seed}, {spec.days:g} days from {spec.start:%Y-%m-%d}")
        for line in summary_lines(result.summary):
            print(line)
    print(f"wrote {out}/ (standoffs, trips, missions, timeseries, run.json)")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List the shipped scenarios, one line each."""
    from sim.scenario.loading import read_raw, shipped_scenarios

    for name, path in shipped_scenarios().items():
        print(f"{name:<22} {read_raw(path).get('title', '')}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    """Validate and summarise a network (the built-in one by default)."""
    from sim.io.networks import load_network

    network = load_network(args.file or "builtin")
    s = network.summary()
    print(f"network: {s['source']}")
    print(f"  nodes {s['nodes']:,}, named places {s['places']}", end="")
    print(f" ({', '.join(f'{n} {k}' for k, n in s['places_by_kind'].items())})"
          if s["places_by_kind"] else "")
    print(f"  roads {s['roads']:,} ({s['road_km']:,} km), one-way edges {s['one_way_edges']:,}")
    print(f"  by class: {', '.join(f'{k} {n}' for k, n in s['roads_by_class'].items())}")
    lat0, lon0, lat1, lon1 = s["bbox"]
    print(f"  extent: lat {lat0:.4f} to {lat1:.4f}, lon {lon0:.4f} to {lon1:.4f}")
    if s["dropped_nodes"]:
        print(f"  dropped {s['dropped_nodes']:,} nodes outside the largest strongly "
              "connected component")
    print("  ok: connected, lengths and speeds positive")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files (schema, places, forces) without running them."""
    from sim.scenario.binding import build_network
    from sim.scenario.loading import load_scenario

    for ref in args.scenarios:
        spec, path = load_scenario(ref, parse_overrides(args.set))
        build_network(spec, path)
        print(f"ok: {path.name} ({spec.name}: {len(spec.forces)} forces, "
              f"{len(spec.missions)} missions, {len(spec.villagers)} villager communities)")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep file's design, locally or on a Dask cluster."""
    from sim.experiments.runner import sweep
    from sim.experiments.spec import load_sweep
    from sim.io.sweep_folder import run_files

    name = load_sweep(args.spec, replicates=args.replicates, sample=args.sample,
                      days=args.days)[0].name
    out = args.out or f"sweeps/{name}"
    try:
        table = sweep(args.spec, out=out, workers=args.workers, scheduler=args.scheduler,
                      replicates=args.replicates, sample=args.sample, days=args.days,
                      resume=args.resume, quiet=args.quiet, keep_logs=args.keep_logs)
    except KeyboardInterrupt:
        saved = len(run_files(out)) if Path(out).is_dir() else 0
        command = ["sim", "sweep", args.spec, "--out", out]
        for flag, value in (("--replicates", args.replicates), ("--sample", args.sample),
                            ("--days", args.days)):
            if value is not None:
                command += [flag, f"{value:g}"]
        print(f"interrupted: {saved} runs are saved in {out}/; continue with: "
              f"{' '.join(command)} --resume", file=sys.stderr)
        return 130
    failed = int((table["status"] == "failed").sum())
    print(f"{len(table)} runs, {failed} failed; wrote {out}/ (runs.parquet, points.parquet, "
          "design.parquet, sweep.json)")
    if failed:
        first = table[table["status"] == "failed"].iloc[0]
        print(f"first failure: run {first['run_id']} (seed {first['seed']}): {first['error']}")
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
    elif row["status"] != "ok":
        print(f"the sweep recorded it as failed: {row['error']}")
    elif mismatches:
        print(f"DIFFERS from the sweep's row in: {', '.join(mismatches)}")
        return 1
    else:
        print("identical to the sweep's row")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw every figure of a run folder or a sweep folder as PNG."""
    from sim.io.sweep_folder import is_sweep_folder, read_sweep

    folder = Path(args.folder)
    if is_sweep_folder(folder):
        from sim.experiments.analyze import indices_for
        from sim.viz.sweep_figures import key_outputs, plot_sweep

        indices = indices_for(folder, key_outputs(read_sweep(folder).outputs))
        written = plot_sweep(folder, args.out, sensitivity_indices=indices or None)
    elif (folder / "run.json").is_file():
        from sim.viz.run_figures import plot_run

        written = plot_run(folder, args.out)
    else:
        raise InputError.single(str(folder), "folder", "is neither a run nor a sweep folder",
                                "give a folder written by `sim run` or `sim sweep`")
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    """Animate a window of a run as a GIF (or MP4)."""
    from sim.viz.animation import animate

    _require_run(args.folder)
    out = animate(args.folder, args.out, start=args.start, hours=args.hours,
                  step_min=args.step_min, fps=args.fps)
    print(f"wrote {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a run's network, standoffs and trips as GeoJSON."""
    from sim.io.geojson import export_geojson

    _require_run(args.folder)
    for path in export_geojson(args.folder, args.out):
        print(f"wrote {path}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the app in a browser (offline), or fetch its browser assets once."""
    from sim.viz.app_assets import fetch_assets, serve

    if args.fetch_assets:
        folder, fetched = fetch_assets()
        print(f"Solara's browser assets in {folder}/: "
              f"{'fetched ' + ', '.join(fetched) if fetched else 'all there already'}")
        return 0
    return serve(port=args.port, host=args.host, open_browser=not args.no_open)


def _require_run(folder: str) -> None:
    if not (Path(folder) / "run.json").is_file():
        raise InputError.single(folder, "folder", "is not a run folder (no run.json)",
                                "give a folder written by `sim run`")


def build_parser() -> argparse.ArgumentParser:
    """The ``sim`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Patrol encounters around al-Malikiyah (Derik): run scenarios "
        "and inspect networks.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write its logs")
    run.add_argument("scenario", help="a shipped scenario's name (see `sim scenarios`) or a "
                     "TOML file")
    run.add_argument("--seed", type=int, help="the run's seed (drawn and printed if omitted)")
    run.add_argument("--days", type=float, help="override the scenario's number of days")
    run.add_argument("--out", help="output folder (default runs/<scenario>-seed<seed>)")
    run.add_argument("--csv", action="store_true", help="also write CSV copies of the logs")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a scenario parameter by dotted name, e.g. "
                     "forces.US.posture.block=0.5 (repeatable)")
    run.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    run.set_defaults(func=cmd_run)

    scen = sub.add_parser("scenarios", help="list the shipped scenarios")
    scen.set_defaults(func=cmd_scenarios)

    net = sub.add_parser("network", help="validate and summarise a road network")
    net.add_argument("file", nargs="?", help="a GraphML file (default: the built-in network)")
    net.set_defaults(func=cmd_network)

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
    swp.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    swp.set_defaults(func=cmd_sweep)

    rer = sub.add_parser("rerun", help="re-run one run of a sweep alone, with its logs")
    rer.add_argument("folder", help="the sweep folder")
    rer.add_argument("run_id", type=int, help="the run's run_id")
    rer.add_argument("--out", help="folder for its logs (default FOLDER/reruns/run-NNNNNN)")
    rer.add_argument("--csv", action="store_true", help="also write CSV copies")
    rer.set_defaults(func=cmd_rerun)

    plo = sub.add_parser("plot", help="draw a run's or a sweep's figures as PNG")
    plo.add_argument("folder", help="a run folder (sim run) or a sweep folder (sim sweep)")
    plo.add_argument("--out", help="folder for the PNGs (default FOLDER/figures)")
    plo.set_defaults(func=cmd_plot)

    ani = sub.add_parser("animate", help="animate a window of a run (GIF, or MP4 with ffmpeg)")
    ani.add_argument("folder", help="a run folder")
    ani.add_argument("--out", default="run.gif", help="output file, .gif or .mp4")
    ani.add_argument("--start", help="window start, e.g. 2020-06-03T08:00 (default: an hour "
                     "before the first standoff)")
    ani.add_argument("--hours", type=float, default=12.0, help="window length (default 12)")
    ani.add_argument("--step-min", type=float, default=5.0,
                     help="simulated minutes between frames (default 5)")
    ani.add_argument("--fps", type=int, default=12, help="frames per second (default 12)")
    ani.set_defaults(func=cmd_animate)

    exp = sub.add_parser("export", help="export a run as GeoJSON for GIS tools")
    exp.add_argument("folder", help="a run folder")
    exp.add_argument("--geojson", action="store_true", required=True,
                     help="write network, standoffs and trips as GeoJSON")
    exp.add_argument("--out", help="output folder (default FOLDER/geojson)")
    exp.set_defaults(func=cmd_export)

    app = sub.add_parser("app", help="the interactive map, counters and plots in a browser "
                         "(SolaraViz)")
    app.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    app.add_argument("--host", default="127.0.0.1", help="address to serve on (default "
                     "127.0.0.1)")
    app.add_argument("--no-open", action="store_true", help="do not open a web browser")
    app.add_argument("--fetch-assets", action="store_true",
                     help="download Solara's browser assets from the npm registry and exit "
                     "(once; the app then runs offline)")
    app.set_defaults(func=cmd_app)

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario names or files")
    val.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    val.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sim`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
