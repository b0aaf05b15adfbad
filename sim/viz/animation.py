"""Animate a run: patrols, civilians, helicopters and standoffs moving on the map, with a clock.

The run is simulated again from its provenance (scenario content and seed give
the same history, event for event) and sampled at each frame's time; the static
map is drawn once and only the agents' markers move. Writes a GIF (Pillow), or an
MP4 when the name ends in ``.mp4`` and ffmpeg is on the path.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.model import PatrolModel
from sim.errors import InputError, SetupError
from sim.io.results import RunResult
from sim.viz.maps import Projection, draw_network, force_color
from sim.viz.positions import snapshot

log = logging.getLogger(__name__)


def default_window(result: RunResult, hours: float) -> pd.Timestamp:
    """An hour before the first standoff between forces (or any standoff, or 06:00 on day 1)."""
    standoffs = result.standoffs
    between = standoffs[standoffs["kind"] != "villagers"]
    pick = between if len(between) else standoffs
    start = pd.Timestamp(result.provenance["scenario_content"]["start"])
    if len(pick):
        return max(start, pick["start"].min() - pd.Timedelta(hours=1))
    return start + pd.Timedelta(hours=6)


def animate(result: RunResult | str | Path, out: str | Path = "run.gif",
            start: str | dt.datetime | None = None, hours: float = 12.0,
            step_min: float = 5.0, fps: int = 12, dpi: int = 90) -> Path:
    """Write an animation of a window of a run; return its path.

    Parameters
    ----------
    result : RunResult or path
        A run (or run folder) to re-simulate.
    out : str or Path
        ``.gif``, or ``.mp4`` (needs ffmpeg).
    start : str or datetime, optional
        Window start, simulated time (default: an hour before the first standoff).
    hours, step_min : float
        Window length, and simulated minutes between frames.
    fps, dpi : int
        Frames per second and resolution of the file.
    """
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
    from matplotlib.figure import Figure

    run = RunResult.coerce(result)
    out = Path(out)
    if out.suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise SetupError("writing an MP4 needs ffmpeg, which is not installed",
                         "install ffmpeg (Debian: apt-get install ffmpeg), or write a .gif")
    t0 = pd.Timestamp(run.provenance["scenario_content"]["start"])
    first = pd.Timestamp(start) if start is not None else default_window(run, hours)
    begin = (first - t0).total_seconds() / 60.0
    horizon = run.provenance["days"] * 1440.0
    if not 0 <= begin < horizon:
        raise InputError.single("animate", "--start", f"= {first} is outside the run",
                                f"give a time between {t0} and the run's end")
    times = np.arange(begin, min(begin + 60.0 * hours, horizon) + 1e-9, step_min)

    model = PatrolModel(run.scenario(), rng=run.provenance["seed"])
    network = model.network
    proj = Projection.for_network(network)
    fig = Figure(figsize=(8, 6), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    draw_network(ax, network, proj, faint=True)  # once: the static layer
    civilians = ax.scatter([], [], s=5, color="#616161", zorder=6, label="civilian vehicle")
    held = ax.scatter([], [], s=9, color="#f9a825", zorder=6, label="held at a closure")
    patrols = ax.scatter([], [], s=60, edgecolor="k", lw=0.7, zorder=8, label="patrol")
    standoffs = ax.scatter([], [], s=420, facecolor="none", edgecolor="#d50000", lw=2.2,
                           zorder=9, label="standoff")
    helicopters = ax.scatter([], [], s=70, marker="^", edgecolor="k", lw=0.6, zorder=10,
                             label="helicopter")
    clock = ax.text(0.99, 0.02, "", transform=ax.transAxes, ha="right", fontsize=10,
                    family="monospace", bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
    ax.legend(handles=[civilians, held, patrols, standoffs, helicopters], loc="upper right",
              fontsize=7, markerscale=0.8)
    ax.set_title(f"{run.provenance['scenario']}, seed {run.provenance['seed']}", fontsize=10)

    def offsets(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.column_stack(proj.xy(lat, lon)) if len(lat) else np.empty((0, 2))

    def frame(t: float) -> list:
        model.events.run_until(t)
        s = snapshot(model)
        civilians.set_offsets(offsets(s.civilian_lat[~s.civilian_held],
                                      s.civilian_lon[~s.civilian_held]))
        held.set_offsets(offsets(s.civilian_lat[s.civilian_held], s.civilian_lon[s.civilian_held]))
        patrols.set_offsets(offsets(s.patrol_lat, s.patrol_lon))
        patrols.set_facecolor([force_color(f) for f in s.patrol_force])
        standoffs.set_offsets(offsets(s.standoff_lat, s.standoff_lon))
        helicopters.set_offsets(offsets(s.helicopter_lat, s.helicopter_lon))
        helicopters.set_facecolor([force_color(f) for f in s.helicopter_force])
        now = t0 + pd.Timedelta(minutes=t)
        clock.set_text(f"{now:%a %d %b %Y  %H:%M}\n{len(s.standoff_lat)} standoff(s), "
                       f"{int(s.civilian_held.sum())} vehicles held")
        return [civilians, held, patrols, standoffs, helicopters, clock]

    movie = FuncAnimation(fig, frame, frames=times, blit=False)
    writer = FFMpegWriter(fps=fps) if out.suffix == ".mp4" else PillowWriter(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    movie.save(out, writer=writer, dpi=dpi)
    log.info("wrote %s (%d frames)", out, len(times))
    return out
