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
from sim.errors import InputError, Problem, SetupError
from sim.io.results import RunResult
from sim.scenario.schema import ScenarioSpec
from sim.viz.maps import (
    MAP_SIZE,
    Projection,
    add_legend,
    draw_network,
    force_color,
    marker_radius,
)
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


PATROL_SIZE = 60.0  # points²


def fan_out(xy: np.ndarray, radius: float) -> np.ndarray:
    """Spread markers that share a position evenly on a circle of ``radius`` around it.

    Two patrols in a standoff stand at one point; drawn there, one would hide the
    other. A marker alone keeps its place; k sharing one are set ``radius`` away
    from it, 360/k degrees apart (first to the west, then clockwise).
    """
    out = np.array(xy, dtype=float).reshape(-1, 2)
    groups: dict[tuple[float, float], list[int]] = {}
    for i, (x, y) in enumerate(np.round(out, 6)):
        groups.setdefault((float(x), float(y)), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            angles = np.pi - 2 * np.pi * np.arange(len(members)) / len(members)
            out[members] += radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return out


def legend_handles(spec: ScenarioSpec) -> list:
    """The animation's key: patrols and blocking positions in each force's colour, and the rest."""
    from matplotlib.lines import Line2D

    forces = sorted({m.force for m in spec.missions.values()})
    heli = sorted({f for f, force in spec.forces.items() if force.helicopters}
                  | {force.helicopters_from for force in spec.forces.values()
                     if force.helicopters_from})
    handles = [Line2D([], [], marker="o", ls="", ms=7, mfc=force_color(f), mec="k",
                      label=f"{f} patrol") for f in forces]
    handles += [Line2D([], [], marker="s", ls="", ms=6.5, mfc=force_color(f), mec="k",
                       label=f"{f} blocking position") for f in sorted(
                           f for f, force in spec.forces.items() if force.blocking is not None)]
    handles += [Line2D([], [], marker="^", ls="", ms=7, mfc=force_color(f), mec="k",
                       label=f"{f} helicopter") for f in heli]
    handles += [
        Line2D([], [], marker="o", ls="", ms=11, mfc="none", mec="#d50000", mew=2,
               label="standoff"),
        Line2D([], [], marker="o", ls="", ms=2.5, color="#616161", label="civilian vehicle"),
        Line2D([], [], marker="o", ls="", ms=3, color="#f9a825", label="held at a closure")]
    return handles


#: Longest window and most frames an animation may have (a day at a frame a minute).
MAX_HOURS, MAX_FRAMES = 24.0 * 31, 5000


def check_options(out: Path, hours: float, step_min: float, fps: int) -> None:
    """Refuse options that cannot make an animation, naming the option and the fix.

    Raises
    ------
    InputError
        For an unknown file type, a window or step that is not positive and finite,
        too many frames, or a frame rate below 1.
    """
    problems = []
    if out.suffix.lower() not in (".gif", ".mp4"):
        problems.append(Problem("--out", f"= {str(out)!r} is neither .gif nor .mp4",
                                "name the file run.gif, or run.mp4 (needs ffmpeg)"))
    if not 0 < hours <= MAX_HOURS:
        problems.append(Problem("--hours", f"= {hours:g} must be > 0 and at most {MAX_HOURS:g}"))
    if not 0 < step_min <= 1440:
        problems.append(Problem("--step-min", f"= {step_min:g} must be > 0 and at most 1440"))
    elif 0 < hours <= MAX_HOURS and 60 * hours / step_min > MAX_FRAMES:
        problems.append(Problem("--step-min", f"= {step_min:g} makes "
                                f"{60 * hours / step_min:,.0f} frames (at most {MAX_FRAMES:,})",
                                "take a longer step or a shorter window"))
    if not 1 <= fps <= 120:
        problems.append(Problem("--fps", f"= {fps} must be between 1 and 120"))
    if problems:
        raise InputError("animate", problems)


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

    out = Path(out)
    check_options(out, hours, step_min, fps)
    run = RunResult.coerce(result)
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
    fig = Figure(figsize=MAP_SIZE, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    draw_network(ax, network, proj, faint=True)  # once: the static layer
    civilians = ax.scatter([], [], s=5, color="#616161", zorder=6)
    held = ax.scatter([], [], s=9, color="#f9a825", zorder=6)
    patrols = ax.scatter([], [], s=PATROL_SIZE, edgecolor="k", lw=0.7, zorder=8)
    blocking = ax.scatter([], [], s=PATROL_SIZE, marker="s", edgecolor="k", lw=0.7, zorder=8)
    standoffs = ax.scatter([], [], s=420, facecolor="none", edgecolor="#d50000", lw=2.2,
                           zorder=9)
    helicopters = ax.scatter([], [], s=70, marker="^", edgecolor="k", lw=0.6, zorder=10)
    clock = ax.text(0.99, 0.02, "", transform=ax.transAxes, ha="right", fontsize=10,
                    family="monospace", bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})
    add_legend(ax, legend_handles(run.scenario()), title="moving")
    ax.set_title(f"{run.provenance['scenario']}, seed {run.provenance['seed']}", fontsize=10)

    def offsets(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.column_stack(proj.xy(lat, lon)) if len(lat) else np.empty((0, 2))

    def frame(t: float) -> list:
        model.events.run_until(t)
        s = snapshot(model)
        civilians.set_offsets(offsets(s.civilian_lat[~s.civilian_held],
                                      s.civilian_lon[~s.civilian_held]))
        held.set_offsets(offsets(s.civilian_lat[s.civilian_held], s.civilian_lon[s.civilian_held]))
        # km per point of the map as laid out: side by side, patrols in a standoff both show
        width_pt = ax.get_window_extent().width * 72 / fig.dpi
        km_per_pt = (ax.get_xlim()[1] - ax.get_xlim()[0]) / max(width_pt, 1.0)
        spread = fan_out(offsets(s.patrol_lat, s.patrol_lon),
                         1.2 * marker_radius(PATROL_SIZE) * km_per_pt)
        square = np.array([k == "blocking" for k in s.patrol_kind], dtype=bool)
        colors = np.array([force_color(f) for f in s.patrol_force], dtype=object)
        patrols.set_offsets(spread[~square])
        patrols.set_facecolor(list(colors[~square]))
        blocking.set_offsets(spread[square])
        blocking.set_facecolor(list(colors[square]))
        standoffs.set_offsets(offsets(s.standoff_lat, s.standoff_lon))
        helicopters.set_offsets(offsets(s.helicopter_lat, s.helicopter_lon))
        helicopters.set_facecolor([force_color(f) for f in s.helicopter_force])
        now = t0 + pd.Timedelta(minutes=t)
        clock.set_text(f"{now:%a %d %b %Y  %H:%M}\n{len(s.standoff_lat)} standoff(s), "
                       f"{int(s.civilian_held.sum())} vehicles held")
        return [civilians, held, patrols, blocking, standoffs, helicopters, clock]

    fig.draw_without_rendering()  # lay the figure out once, then keep it: frames move markers
    fig.set_layout_engine("none")
    movie = FuncAnimation(fig, frame, frames=times, blit=False)
    writer = FFMpegWriter(fps=fps) if out.suffix == ".mp4" else PillowWriter(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    movie.save(out, writer=writer, dpi=dpi)
    log.info("wrote %s (%d frames)", out, len(times))
    return out
