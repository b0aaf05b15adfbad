"""``sim plot``, ``animate``, ``export``, ``app``: seeing runs, sweeps and reports."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from sim.errors import InputError


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw every figure of a run folder or a sweep folder as PNG."""
    from sim.io.calibration_folder import is_calibration_folder
    from sim.io.compare_folder import is_compare_folder
    from sim.io.pattern_folder import is_patterns_folder
    from sim.io.sweep_folder import is_sweep_folder, read_sweep

    folder = Path(args.folder)
    if is_compare_folder(folder):
        from sim.viz.compare_figures import plot_comparison

        written = plot_comparison(folder, args.out)
    elif is_calibration_folder(folder):
        from sim.viz.calibration_figures import plot_calibration

        written = plot_calibration(folder, args.out)
    elif is_patterns_folder(folder):
        from sim.viz.pattern_figures import plot_patterns

        written = plot_patterns(folder, args.out)
    elif is_sweep_folder(folder):
        from sim.experiments.analyze import indices_for
        from sim.viz.sweep_figures import key_outputs, plot_sweep

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            indices = indices_for(folder, key_outputs(read_sweep(folder).outputs))
        for warning in caught:
            print(f"note: {warning.message}", file=sys.stderr)
        written = plot_sweep(folder, args.out, sensitivity_indices=indices or None)
    elif (folder / "run.json").is_file():
        from sim.viz.run_figures import plot_run

        written = plot_run(folder, args.out)
    else:
        raise InputError.single(str(folder), "folder", "is not a folder sim plot can draw",
                                "give a folder written by `sim run`, `sweep`, `compare`, "
                                "`patterns` or `calibrate`")
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
    import os

    from sim.viz.app_assets import fetch_assets, serve
    from sim.viz.app_source import SOURCE_ENV, resolve_source

    if args.fetch_assets:
        folder, fetched = fetch_assets()
        print(f"Solara's browser assets in {folder}/: "
              f"{'fetched ' + ', '.join(fetched) if fetched else 'all there already'}")
        return 0
    source = resolve_source(args.source)  # checked here, before the server starts
    os.environ[SOURCE_ENV] = source.ref  # the server's process inherits it
    what = "replaying the run in" if source.is_replay else "scenario"
    print(f"{what} {source.ref}: http://{args.host}:{args.port}/")
    return serve(port=args.port, host=args.host, open_browser=not args.no_open)


def _require_run(folder: str) -> None:
    if not (Path(folder) / "run.json").is_file():
        raise InputError.single(folder, "folder", "is not a run folder (no run.json)",
                                "give a folder written by `sim run`")


def add_parsers(sub: Any) -> None:
    """The subcommands of this module."""
    plo = sub.add_parser("plot", help="draw a run's, sweep's or report's figures as PNG")
    plo.add_argument("folder", help="a run folder (sim run), a sweep folder (sim sweep) or a "
                     "patterns or calibration folder")
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
                         "(SolaraViz): a scenario live, or a finished run replayed")
    app.add_argument("source", nargs="?", default=None,
                     help="a shipped scenario's name, a scenario file, or a run folder (sim "
                     "run) to replay (default: the baseline scenario)")
    app.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    app.add_argument("--host", default="127.0.0.1", help="address to serve on (default "
                     "127.0.0.1)")
    app.add_argument("--no-open", action="store_true", help="do not open a web browser")
    app.add_argument("--fetch-assets", action="store_true",
                     help="download Solara's browser assets from the npm registry and exit "
                     "(once; the app then runs offline)")
    app.set_defaults(func=cmd_app)
