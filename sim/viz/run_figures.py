"""Charts of a run: maps of the network, standoff hotspots and delay; time, delay and missions.

Every function takes a ``RunResult`` (or a run folder), returns the matplotlib
Axes it drew on, and accepts ``ax=`` to draw into an existing figure.
``plot_run(folder)`` writes them all as PNG (``sim plot RUN_DIR``). Charts of
sweeps are in ``sim.sweepplot`` (:mod:`sim.viz.sweep_figures`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.io.results import RunResult
from sim.io.summary import delay_by_gate
from sim.viz.maps import Projection, draw_network, force_color, new_axes, road_segments

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


def standoff_map(result: RunResult | str | Path, size_by: str = "count",
                 ax: Axes | None = None) -> Axes:
    """Standoff hotspots: one circle per place, sized by count or by hours, coloured by kind.

    Parameters
    ----------
    size_by : {"count", "hours"}
        What a circle's area shows.
    """
    run = RunResult.coerce(result)
    ax = new_axes(ax)
    network = run.network()
    proj = Projection.for_network(network)
    draw_network(ax, network, proj, faint=True)
    standoffs = run.standoffs
    if standoffs.empty:
        ax.text(0.5, 0.5, "no standoffs", transform=ax.transAxes, ha="center")
    else:
        groups = standoffs.groupby(["place", "kind"]).agg(
            n=("standoff_id", "size"), hours=("duration_h", "sum"), lat=("lat", "mean"),
            lon=("lon", "mean")).reset_index()
        groups["value"] = groups["n"] if size_by == "count" else groups["hours"]
        groups = groups.sort_values("value", ascending=False)  # small circles on top
        scale = 600.0 / max(float(groups["value"].max()), 1e-9)
        x, y = proj.xy(groups["lat"], groups["lon"])
        ax.scatter(x, y, s=scale * groups["value"], alpha=0.6, edgecolor="k", lw=0.6, zorder=7,
                   color=[KIND_COLORS.get(k, "#555") for k in groups["kind"]])
        top = groups.groupby("place")[["n", "hours"]].sum().nlargest(5, "n")
        for place, row in top.iterrows():
            first = groups[groups["place"] == place].iloc[0]
            x, y = proj.xy(first["lat"], first["lon"])
            ax.annotate(f"{int(row['n'])} ({row['hours']:.0f} h)", (x, y), xytext=(6, -10),
                        textcoords="offset points", fontsize=7, weight="bold", zorder=8)
        from matplotlib.lines import Line2D

        kinds = [k for k in KIND_COLORS if k in set(groups["kind"])]
        ax.legend(handles=[Line2D([], [], marker="o", ls="", ms=8, alpha=0.6, mec="k",
                                  mfc=KIND_COLORS[k], label=KIND_LABELS[k]) for k in kinds],
                  loc="upper right", fontsize=7, title_fontsize=7, title="circle area: "
                  + ("standoffs" if size_by == "count" else "standoff hours"))
    _title(ax, run, "Where standoffs happen (labels: count, hours)")
    return ax


def delay_map(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Roads (and places) coloured by the vehicle-hours of civilian delay their closures caused."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm

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
        from matplotlib.ticker import FuncFormatter

        bar = ax.figure.colorbar(lines, ax=ax, location="bottom", shrink=0.6, aspect=40,
                                 label="vehicle-hours of civilian delay (log scale)")
        plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
        bar.ax.xaxis.set_major_formatter(plain)
        bar.ax.xaxis.set_minor_formatter(plain)
        bar.ax.tick_params(labelsize=7, which="both")
    _title(ax, run, "Civilian delay caused by closures (roads; circles: places)")
    return ax


def timeline(result: RunResult | str | Path, ax: Axes | None = None) -> Axes:
    """Standoffs over time: one row per road or place closed, one bar per standoff.

    Bars are drawn at least two hours wide so that short standoffs stay visible.
    """
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    run = RunResult.coerce(result)
    standoffs = run.standoffs
    gates = standoffs["road"].where(standoffs["road"] != "", standoffs["place"])
    rows = {gate: i for i, gate in enumerate(gates.value_counts().index[::-1])}
    ax = new_axes(ax, (9, max(2.5, 1.2 + 0.32 * len(rows))))
    horizon = run.timeseries["time"].iloc[-1]
    for row, gate in zip(standoffs.itertuples(), gates, strict=True):
        end = row.end if pd.notna(row.end) else horizon
        start = mdates.date2num(row.start)
        width = max(mdates.date2num(end) - start, 2 / 24)
        ax.barh(rows[gate], width, left=start, height=0.6, color=KIND_COLORS.get(row.kind),
                lw=0)
    ax.set_yticks(list(rows.values()), [g.replace("--", " – ") for g in rows], fontsize=7)
    ax.set_xlim(mdates.date2num(run.timeseries["time"].iloc[0]), mdates.date2num(horizon))
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("simulated time")
    ax.grid(axis="x", alpha=0.3)
    kinds = [k for k in KIND_COLORS if k in set(standoffs["kind"])]
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
    ax.set_xlim(0, max(left.max(), 1) * 1.08)
    for label in ax.get_yticklabels():
        label.set_color(force_color(label.get_text()))
    ax.set_xlabel("patrol missions")
    ax.legend(fontsize=8, loc="lower right")
    _title(ax, run, "Mission outcomes by force")
    return ax


RUN_CHARTS = {"network": network_map, "standoffs": standoff_map, "delay_map": delay_map,
               "timeline": timeline, "delays": delay_distribution, "missions": mission_outcomes}


def plot_run(folder: str | Path, out: str | Path | None = None, dpi: int = 150) -> list[Path]:
    """Write every run figure as PNG into ``out`` (default ``FOLDER/figures``)."""
    run = RunResult.coerce(folder)
    out = Path(out) if out else Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in RUN_CHARTS.items():
        ax = draw(run)
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=dpi)
        written.append(path)
    return written
