"""Charts of a run: maps of the network, standoff hotspots and delay; time, delay and missions.

Every function takes a ``RunResult`` (or a run folder), returns the matplotlib
Axes it drew on, and accepts ``ax=`` to draw into an existing figure.
``plot_run(folder)`` writes them all as PNG (``sim plot RUN_DIR``). Charts of
sweeps are in ``sim.sweepplot`` (:mod:`sim.viz.sweep_figures`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.io.results import RunResult
from sim.io.summary import delay_by_gate
from sim.viz.maps import (
    Projection,
    add_legend,
    draw_network,
    force_color,
    gate_name,
    label_layer,
    marker_radius,
    new_axes,
    offscreen,
    road_segments,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

OUTCOME_COLORS = {"reached": "#43a047", "turned_back": "#e53935", "unfinished": "#9e9e9e"}
KIND_COLORS = {"patrols": "#c62828", "blocking_position": "#1f5fbf", "villagers": "#2e7d32"}
KIND_LABELS = {"patrols": "patrols meet", "blocking_position": "at a blocking position",
               "villagers": "villagers' blockade"}


def _title(ax: Axes, result: RunResult, what: str) -> None:
    p = result.provenance
    ax.set_title(f"{what}\n{p['scenario']}, seed {p['seed']}, {p['days']:g} days", fontsize=10)


def network_map(result: RunResult | str | Path | None = None, ax: Axes | None = None) -> Axes:
    """The road network at its real coordinates (the built-in one if no run is given)."""
    from sim.io.networks import builtin_network

    ax = new_axes(ax)
    run = RunResult.coerce(result) if result is not None else None
    network = run.network() if run is not None else builtin_network()
    draw_network(ax, network, Projection.for_network(network))
    ax.set_title("Road network" if run is None else f"Road network: {run.provenance['scenario']}",
                 fontsize=10)
    return ax


def _wedge(start: float, stop: float) -> tuple[np.ndarray, float]:
    """A pie slice from ``start`` to ``stop`` (shares of a turn) as marker vertices.

    Matplotlib scales a marker by its largest coordinate, so a slice's marker
    area must be multiplied by the returned factor to keep the pie's radius.
    """
    angles = 2 * np.pi * np.linspace(start, stop, max(3, int(72 * (stop - start)) + 2))
    verts = np.vstack([[0.0, 0.0], np.column_stack([np.sin(angles), np.cos(angles)]),
                       [0.0, 0.0]])
    return verts, float(np.abs(verts).max()) ** 2


def standoff_map(result: RunResult | str | Path, size_by: str = "count",
                 ax: Axes | None = None) -> Axes:
    """Standoff hotspots: one pie per place, its area the count or hours, sliced by kind.

    Kinds of standoff at one place share its circle (patrols meeting, a blocking
    position, villagers' blockade), so none hides another; the five busiest
    places are labelled with their count and hours.

    Parameters
    ----------
    size_by : {"count", "hours"}
        What a circle's area shows.
    """
    from matplotlib.lines import Line2D

    run = RunResult.coerce(result)
    ax = new_axes(ax)
    network = run.network()
    proj = Projection.for_network(network)
    draw_network(ax, network, proj, faint=True)
    standoffs = run.standoffs.assign(
        value=1.0 if size_by == "count" else run.standoffs["duration_h"])
    if standoffs.empty:
        ax.text(0.5, 0.5, "no standoffs", transform=ax.transAxes, ha="center")
    else:
        places = standoffs.groupby("place").agg(
            n=("standoff_id", "size"), hours=("duration_h", "sum"), value=("value", "sum"),
            lat=("lat", "mean"), lon=("lon", "mean")).sort_values("value", ascending=False)
        by_kind = standoffs.groupby(["place", "kind"])["value"].sum()
        scale = 600.0 / max(float(places["value"].max()), 1e-9)
        layer = label_layer(ax)
        busiest = set(places.nlargest(5, "n").index)
        for place, row in places.iterrows():  # biggest first: small pies on top
            x, y = proj.xy(row["lat"], row["lon"])
            size = scale * row["value"]
            shares = by_kind[place] / row["value"] if row["value"] > 0 else by_kind[place]
            start = 0.0
            for kind in sorted(shares.index, key=lambda k: list(KIND_COLORS).index(k)
                               if k in KIND_COLORS else len(KIND_COLORS)):
                stop = start + float(shares[kind])
                if len(shares) == 1:
                    marker, factor = "o", 1.0
                else:
                    marker, factor = _wedge(start, stop)
                ax.scatter([x], [y], s=size * factor, marker=marker, alpha=0.75,
                           color=KIND_COLORS.get(kind, "#555"), edgecolor="k", lw=0.6,
                           zorder=7, gid=f"standoffs/{place}/{kind}")
                start = stop
            if place in busiest:  # named here: the pie covers the place's own label
                name = network.places[place].name if place in network.places else place
                layer.forget(name)
                layer.add(x, y, f"{name}: {int(row['n'])} ({row['hours']:.0f} h)",
                          radius=marker_radius(size), priority=10 + row["n"], fontsize=7,
                          weight="bold", color="#111")
            else:
                layer.avoid(x, y, marker_radius(size))
        kinds = [k for k in KIND_COLORS if k in set(standoffs["kind"])]
        add_legend(ax, [Line2D([], [], marker="o", ls="", ms=8, alpha=0.75, mec="k",
                               mfc=KIND_COLORS[k], label=KIND_LABELS[k]) for k in kinds],
                   title="circle area: " + ("standoffs" if size_by == "count"
                                            else "standoff hours") + "\nslices: kind")
    _title(ax, run, "Where standoffs happen (busiest places: standoffs, hours)")
    return ax


def _plain_number(value: float, _: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:.2g}"


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks at 1, 2 and 5 times powers of ten in [low, high] (every digit if that is too few)."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for digits in ((1, 2, 5), range(1, 10)):
        ticks = [d * 10.0**k for k in decades for d in digits if low <= d * 10.0**k <= high]
        if len(ticks) >= 2:
            return ticks
    return [low, high]


def delay_map(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Roads (and places) coloured by the vehicle-hours of civilian delay their closures caused."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, NullFormatter

    run = RunResult.coerce(result)
    ax = new_axes(ax)
    network = run.network()
    proj = Projection.for_network(network)
    draw_network(ax, network, proj, faint=True)
    roads, places = delay_by_gate(run.standoffs)
    values = [v for v in [*roads.values(), *places.values()] if v > 0]
    if not values:
        ax.text(0.5, 0.5, "no civilian delay", transform=ax.transAxes, ha="center")
    else:
        norm = LogNorm(vmin=max(min(values), 0.1), vmax=max(max(values), 1.0))
        segments = road_segments(network, proj)
        keys = [k for k in roads if roads[k] > 0]
        lines = LineCollection([segments[k] for k in keys], cmap="inferno_r", norm=norm,
                               linewidths=5, zorder=6, capstyle="round")
        lines.set_array(np.array([roads[k] for k in keys]))
        ax.add_collection(lines)
        shown = [p for p in places if places[p] > 0]
        if shown:
            x, y = proj.xy([network.places[p].lat if p in network.places else network.lat(p)
                            for p in shown],
                           [network.places[p].lon if p in network.places else network.lon(p)
                            for p in shown])
            ax.scatter(x, y, c=[places[p] for p in shown], cmap="inferno_r", norm=norm, s=120,
                       marker="o", edgecolor="k", zorder=7)
        bar = ax.figure.colorbar(lines, ax=ax, location="bottom", shrink=0.6, aspect=40,
                                 label="vehicle-hours of civilian delay (log scale)")
        bar.set_ticks(_log_ticks(norm.vmin, norm.vmax))
        bar.formatter = FuncFormatter(_plain_number)
        bar.minorformatter = NullFormatter()
        bar.ax.tick_params(labelsize=7, which="both")
    _title(ax, run, "Civilian delay caused by closures (roads; circles: places)")
    return ax


def _lanes(starts: list[float], ends: list[float], gap: float) -> list[int]:
    """A lane for each bar (in start order) so that bars in one lane are ``gap`` apart."""
    free: list[float] = []
    lanes = []
    for start, end in zip(starts, ends, strict=True):
        lane = next((i for i, t in enumerate(free) if start >= t + gap), len(free))
        if lane == len(free):
            free.append(end)
        free[lane] = end
        lanes.append(lane)
    return lanes


def timeline(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Standoffs over time: one row per road or place closed (by name), one bar per standoff.

    Bars are drawn at least two hours (or 1/150 of the run) wide so that short
    standoffs stay visible; standoffs close together at one road or place are
    drawn in separate lanes of its row, so that each stays a bar of its own.
    """
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    run = RunResult.coerce(result)
    network = run.network()
    standoffs = run.standoffs.sort_values("start")
    gates = standoffs["road"].where(standoffs["road"] != "", standoffs["place"])
    rows = {gate: i for i, gate in enumerate(gates.value_counts().index[::-1])}
    ax = new_axes(ax, (9, max(2.5, 1.2 + 0.32 * len(rows))))
    first = mdates.date2num(run.timeseries["time"].iloc[0])
    horizon = run.timeseries["time"].iloc[-1]
    span = mdates.date2num(horizon) - first
    least = max(2 / 24, span / 150)
    starts = [mdates.date2num(t) for t in standoffs["start"]]
    ends = [max(mdates.date2num(e if pd.notna(e) else horizon), s + least)
            for s, e in zip(starts, standoffs["end"], strict=True)]
    for gate, row in rows.items():
        mine = [i for i, g in enumerate(gates) if g == gate]
        lanes = _lanes([starts[i] for i in mine], [ends[i] for i in mine], span / 150)
        n_lanes = max(lanes) + 1
        height = 0.7 / n_lanes  # lanes share the row, the first on top
        for i, lane in zip(mine, lanes, strict=True):
            ax.barh(row + 0.35 - (lane + 0.5) * height, ends[i] - starts[i], left=starts[i],
                    height=0.6 if n_lanes == 1 else 0.9 * height, lw=0,
                    color=KIND_COLORS.get(standoffs["kind"].iloc[i]))
    ax.set_yticks(list(rows.values()), [gate_name(network, g) for g in rows], fontsize=7)
    ax.set_ylim(-0.6, max(len(rows) - 0.4, 0.6))
    ax.set_xlim(first, mdates.date2num(horizon))
    locator = mdates.AutoDateLocator(maxticks=10, interval_multiples=False)  # not 29 Jun, 1 Jul
    ax.xaxis.set_major_locator(locator)
    # day and month on day ticks, the year once beside the axis: no month twice
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        locator, formats=["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%b %Y", "%d %b", "%d %b", "%H:%M", "%H:%M"],
        offset_formats=["", "", "%Y"] + ["%Y" if span >= 1 else "%d %b %Y"] * 2 + [""]))
    ax.set_xlabel("simulated time")
    ax.grid(axis="x", alpha=0.3)
    kinds = [k for k in KIND_COLORS if k in set(standoffs["kind"])]
    if kinds:
        ax.legend(handles=[Patch(color=KIND_COLORS[k], label=KIND_LABELS[k]) for k in kinds],
                  fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if standoffs.empty:
        ax.text(0.5, 0.5, "no standoffs", transform=ax.transAxes, ha="center")
    _title(ax, run, "Standoffs over time: the road or place each closed, and for how long")
    return ax


def delay_distribution(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Histogram of the delays of delayed trips, with the travel-time index."""
    run = RunResult.coerce(result)
    ax = new_axes(ax, (7, 4))
    delays = run.trips.loc[run.trips["delay_min"] > 0, "delay_min"]
    if delays.empty:
        ax.text(0.5, 0.5, "no trip was delayed", transform=ax.transAxes, ha="center")
    else:
        bins = np.logspace(np.log10(delays.min()) - 0.01, np.log10(delays.max()) + 0.01, 30)
        ax.hist(delays, bins=bins, color="#5e35b1", alpha=0.8)
        ax.set_xscale("log")
        ax.axvline(delays.median(), color="k", ls="--", lw=1,
                   label=f"median {delays.median():.0f} min")
        ax.legend(fontsize=8, loc="center left")
    s = run.summary
    ax.set_xlabel("delay of a delayed trip (minutes, log scale)")
    ax.set_ylabel("trips")
    ax.text(0.02, 0.95, f"{s['trips_delayed']:,} of {s['trips']:,} trips delayed\n"
            f"{s['vehicle_hours_delay']:,.0f} vehicle-hours\n"
            f"travel-time index {s['travel_time_index']:.3f}", transform=ax.transAxes,
            ha="left", va="top", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    _title(ax, run, "Who is delayed, and by how much")
    return ax


def mission_outcomes(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Patrol missions by force: reached, turned back, unfinished (blocking positions apart)."""
    run = RunResult.coerce(result)
    ax = new_axes(ax, (7, 4))
    missions = run.missions[run.missions["kind"] == "patrol"]
    table = missions.groupby(["force", "outcome"]).size().unstack(fill_value=0)
    table = table.reindex(columns=[c for c in OUTCOME_COLORS if c in table.columns])
    left = np.zeros(len(table))
    for outcome in table.columns:
        bars = ax.barh(table.index, table[outcome], left=left, color=OUTCOME_COLORS[outcome],
                       label=outcome.replace("_", " "))
        ax.bar_label(bars, labels=[str(v) if v else "" for v in table[outcome]],
                     label_type="center", fontsize=8, color="white")
        left += table[outcome].to_numpy()
    ax.set_xlim(0, max(left.max(initial=0), 1) * 1.08)
    if table.empty:
        ax.text(0.5, 0.5, "no patrol missions in this run", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
        ax.set_yticks([])
    for label in ax.get_yticklabels():
        label.set_color(force_color(label.get_text()))
    blocking = run.missions[run.missions["kind"] == "blocking"].groupby("force").size()
    apart = ", ".join(f"{force} {n}" for force, n in blocking.items())
    ax.set_xlabel("patrol missions" + (f" (blocking positions, counted apart: {apart})"
                                       if apart else ""))
    if not table.empty:
        ax.legend(fontsize=8, loc="lower right")
    _title(ax, run, "Mission outcomes by force")
    return ax


RUN_CHARTS = {"network": network_map, "standoffs": standoff_map, "delay_map": delay_map,
               "timeline": timeline, "delays": delay_distribution, "missions": mission_outcomes}


def plot_run(folder: str | Path, out: str | Path | None = None, dpi: int = 150) -> list[Path]:
    """Write every run figure as PNG into ``out`` (default ``FOLDER/figures``).

    Every figure is drawn before the folder is made, so a failure leaves nothing behind.
    """
    run = RunResult.coerce(folder)
    out = Path(out) if out else Path(folder) / "figures"
    with offscreen():
        drawn = {name: draw(run) for name, draw in RUN_CHARTS.items()}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ax in drawn.items():
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=dpi)
        written.append(path)
    return written
