"""Figures of a sweep: response curves with confidence bands, heat maps, sensitivity bars.

Each function returns the matplotlib Axes it drew on and accepts ``ax=``.
``plot_sweep(folder)`` writes the figures a sweep's design supports
(``sim plot SWEEP_DIR``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.io.sweep_folder import read_sweep
from sim.viz.maps import new_axes, offscreen

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: How points flagged ``too_few`` (interval too wide for the sweep's ``ci_share``) are marked.
FLAG_COLOR = "#d32f2f"
FLAG_LABEL = "too few replicates (interval wider than ci_share allows)"

LABELS = {"standoffs": "standoffs", "standoff_hours": "standoff hours",
          "vehicle_hours_delay": "vehicle-hours of civilian delay",
          "travel_time_index": "travel-time index",
          "missions_turned_back": "missions turned back",
          "standoffs_between_forces": "standoffs between forces",
          "max_consecutive_standoff_days": "most consecutive days with a standoff"}

#: The last part of a dotted parameter, in words (see the fields of sim.scenario.schema).
FIELDS = {
    "block": "blocking probability", "give_way": "give-way probability",
    "helicopter": "probability of calling helicopters", "reroute": "rerouting probability",
    "deploy_blocking": "probability of sending a blocking position",
    "helicopters": "helicopters", "helicopter_speed_kmh": "helicopter speed (km/h)",
    "helicopters_per_call": "helicopters per call", "vehicles": "vehicles",
    "hold_h": "hours held", "speed_kmh": "speed (km/h)", "within_km": "reach (km)",
    "lead_min": "lead time (min)", "max_active": "positions at once",
    "per_day": "departures per day", "dwell_h": "hours at the target",
    "strength": "crowd strength (vehicle-equivalents)",
    "duration_median_h": "median standoff duration (h)",
    "duration_sigma": "spread of standoff durations (σ)",
    "cooldown_h": "hours between blockades",
    "helicopter_stakes": "duration factor per helicopter",
    "helicopter_strength": "vehicles a helicopter counts as",
    "force_through_ratio": "strength ratio that forces through",
    "patrol_patience_min": "patrol patience (min)", "rematch_after_h": "hours before a rematch",
    "trips_per_day": "trips per day", "distance_decay": "distance decay of trips",
    "patience_median_min": "median driver patience (min)",
    "patience_sigma": "spread of driver patience (σ)",
    "max_detour_factor": "longest detour taken (× direct route)",
    "queue_headway_s": "queue headway (s)", "village_population": "assumed village population",
    "days": "days simulated",
}
SECTIONS = {"encounters": "standoffs", "civilians": "civilians"}


@functools.cache
def scenario_names(scenario: str) -> dict[str, str]:
    """What a scenario's missions and villagers are, in words: ``{"missions.ru_derik": ...}``.

    Empty when the scenario cannot be found from here (a path relative to the
    sweep file): labels then fall back on ids.
    """
    from sim.scenario.binding import build_network
    from sim.scenario.loading import load_scenario

    try:
        spec, path = load_scenario(scenario)
        network = build_network(spec, path)
    except InputError:
        return {}

    def place(pid: str) -> str:
        return network.places[pid].name if pid in network.places else pid

    names = {f"missions.{m}": f"{mission.force} patrols to {place(mission.target)}"
             for m, mission in spec.missions.items()}
    names.update({f"villagers.{v}": f"villagers of {place(item.place)}"
                  for v, item in spec.villagers.items()})
    return names


def label(name: str, names: dict[str, str] | None = None) -> str:
    """A readable label for a summary figure or a dotted scenario parameter.

    Examples: ``"forces.US.posture.block"`` → ``"US: blocking probability"``;
    ``"missions.ru_derik.per_day"`` → ``"RU patrols to al-Malikiyah: departures per
    day"`` given the scenario's ``names`` (:func:`scenario_names`), else
    ``"mission ru_derik: departures per day"``.
    """
    if name in LABELS:
        return LABELS[name]
    parts = name.split(".")
    field = FIELDS.get(parts[-1], parts[-1].replace("_", " "))
    names = names or {}
    if parts[0] == "forces" and len(parts) >= 3:
        if parts[2:4] == ["routing", "road_class"] and len(parts) == 5:
            return f"{parts[1]}: route cost factor on {parts[4]} roads"
        owner = parts[1] + (" blocking positions" if parts[2] == "blocking" else "")
        return f"{owner}: {field}"
    if parts[0] in ("missions", "villagers") and len(parts) >= 3:
        owner = names.get(".".join(parts[:2]), f"{parts[0][:-1]} {parts[1]}")
        return f"{owner}: {field}"
    if parts[0] in SECTIONS and len(parts) == 2:
        return f"{SECTIONS[parts[0]]}: {field}"
    return FIELDS.get(name, name)


def _points(sweep: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str, dict[str, str]]:
    if isinstance(sweep, pd.DataFrame):
        return sweep, "", {}
    folder = read_sweep(sweep)
    names = scenario_names(str(folder.manifest.get("scenario", "")))
    return folder.points, f"{folder.name} ({folder.manifest['n_runs']} runs)", names


def _number(value: float) -> str:
    """A mean or half-width, plainly: 3 significant digits, no exponent below a million."""
    if not np.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


PALETTE = ["#1f5fbf", "#c62828", "#2e7d32", "#ef6c00", "#8e24aa", "#00897b", "#6d4c41"]


def response(sweep: str | Path | pd.DataFrame, x: str, y: str = "standoff_hours",
             by: str | None = None, ax: Axes | None = None) -> Axes:
    """A summary figure's mean against a parameter, with its 95% confidence interval.

    One curve is drawn with a shaded band; several (``by``) with error bars
    offset a little sideways from each other, so that no interval hides another.

    Parameters
    ----------
    sweep : str, Path or DataFrame
        A sweep folder, or its points table.
    x : str
        The parameter on the horizontal axis.
    y : str
        The summary figure.
    by : str, optional
        A second parameter: one curve per value.
    """
    points, name, names = _points(sweep)
    ax = new_axes(ax, (8, 4.5))
    groups = list(points.groupby(by)) if by else [(None, points)]
    values = np.sort(points[x].unique())
    step = float(np.diff(values).min()) if len(values) > 1 else 1.0
    dodge = 0.3 * step / max(len(groups) - 1, 1) if len(groups) > 1 else 0.0
    flagged = 0
    for k, (value, group) in enumerate(groups):
        group = group.sort_values(x)
        color = PALETTE[k % len(PALETTE)]
        legend = f"{value:g}" if by else "mean over replicates"
        mean, low, high = (group[f"{y}_{c}"] for c in ("mean", "ci_low", "ci_high"))
        shift = 0.0 if len(groups) == 1 or group[x].nunique() > 12 else (
            k - (len(groups) - 1) / 2) * dodge
        few = group[f"{y}_too_few"].astype(bool) if f"{y}_too_few" in group else None
        if few is not None and few.any():
            ax.scatter(group[x][few] + shift, mean[few], s=90, facecolors="none",
                       edgecolors=FLAG_COLOR, linewidths=1.4, zorder=5,
                       label=None if flagged else FLAG_LABEL)
            flagged += int(few.sum())
        if len(groups) == 1 and group[x].nunique() <= 12:
            ax.plot(group[x], mean, marker="o", color=color, label=legend)
            ax.fill_between(group[x], low, high, color=color, alpha=0.18, lw=0,
                            label="95% confidence interval")
        else:
            many = group[x].nunique() > 12
            error = np.vstack([(mean - low).clip(lower=0).fillna(0),
                               (high - mean).clip(lower=0).fillna(0)])
            ax.errorbar(group[x] + shift, mean, yerr=error, fmt="o" if many else "-o",
                        ms=3 if many else 4.5, lw=1.4, elinewidth=1.1, capsize=0 if many else 3,
                        color=color, alpha=0.75 if many else 1.0, label=legend)
    ax.set_xlabel(label(x, names))
    ax.set_ylabel(f"{label(y)}\n(mean, 95% confidence interval)")
    legend_title = label(by, names) if by else None
    if by and dodge:
        legend_title += "\n(error bars: 95% intervals,\noffset sideways to stay clear)"
    ax.legend(fontsize=7, title=legend_title, title_fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3)
    ax.set_title(f"{label(y)} against {label(x, names)}" + (f"\n{name}" if name else ""),
                 fontsize=10)
    return ax


def heatmap(sweep: str | Path | pd.DataFrame, x: str, y: str, figure: str = "standoff_hours",
            ax: Axes | None = None) -> Axes:
    """A figure's mean over a grid of two parameters; each cell reads mean ± CI half-width.

    The half-width is that of the mean's 95% confidence interval over the
    point's replicates (the interval is mean ± half-width), as the title says.
    """
    points, name, names = _points(sweep)
    ax = new_axes(ax, (7.5, 5.2))
    means = points.pivot_table(index=y, columns=x, values=f"{figure}_mean")
    halves = points.assign(half=points[f"{figure}_ci_high"] - points[f"{figure}_mean"]).pivot_table(
        index=y, columns=x, values="half")
    image = ax.imshow(means.to_numpy(), origin="lower", aspect="auto", cmap="magma_r")
    ax.set_xticks(range(means.shape[1]), [f"{v:g}" for v in means.columns])
    ax.set_yticks(range(means.shape[0]), [f"{v:g}" for v in means.index])
    top = np.nanmax(means.to_numpy())
    for i in range(means.shape[0]):
        for j in range(means.shape[1]):
            mean, half = means.iat[i, j], halves.iat[i, j]
            text = _number(mean) + (f"\n± {_number(half)}" if np.isfinite(half) else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if mean > 0.6 * top else "black")
    flag = f"{figure}_too_few"
    few = (points.assign(few=points[flag].astype(float)).pivot_table(index=y, columns=x,
                                                                  values="few")
           if flag in points else None)
    n_few = 0
    if few is not None:
        from matplotlib.patches import Rectangle

        for i, j in zip(*np.nonzero(few.to_numpy() > 0), strict=True):
            ax.add_patch(Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, lw=1.3,
                                   ls="--", edgecolor=FLAG_COLOR))
            n_few += 1
    ax.set_xlabel(label(x, names))
    ax.set_ylabel(label(y, names))
    ax.figure.colorbar(image, ax=ax, label=f"{label(figure)} (mean)")
    runs = points["n_ok"] if "n_ok" in points else pd.Series(dtype=float)
    over = (f" over {runs.min():g}" + (f"–{runs.max():g}" if runs.max() != runs.min() else "")
            + " runs a cell") if len(runs) else ""
    ax.set_title(f"{label(figure)}\ncells: mean ± half-width of its 95% confidence interval"
                 + over + (f"\ndashed: {n_few} cells with {FLAG_LABEL}" if n_few else "")
                 + (f"\n{name}" if name else ""), fontsize=10)
    return ax


def sensitivity(indices: pd.DataFrame, ax: Axes | None = None, title: str = "",
                names: dict[str, str] | None = None) -> Axes:
    """Sobol (``S1``, ``ST``) or Morris (``mu_star``) indices as bars with 95% intervals.

    Parameters are labelled in words (:func:`label`; ``names`` from
    :func:`scenario_names` names missions and villagers).
    """
    ax = new_axes(ax, (8, 0.9 + 0.45 * len(indices)))
    rows = np.arange(len(indices))
    from matplotlib.ticker import MaxNLocator

    if "ST" in indices:
        ax.barh(rows + 0.2, indices["ST"], height=0.38, xerr=indices["ST_conf"], color="#1f5fbf",
                label="total order (ST)", capsize=2)
        ax.barh(rows - 0.2, indices["S1"], height=0.38, xerr=indices["S1_conf"],
                color="#90caf9", label="first order (S1)", capsize=2)
        ax.set_xlabel("Sobol index (bars: 95% interval)")
        ax.axvline(0, color="k", lw=0.6)
    else:
        ax.barh(rows, indices["mu_star"], xerr=indices["mu_star_conf"], color="#ef6c00",
                label="μ* (mean |elementary effect|)", capsize=2)
        ax.scatter(indices["sigma"], rows, color="k", marker="D", s=14, zorder=3,
                   label="σ (spread: interactions, non-linearity)")
        ax.set_xlabel("Morris elementary effects")
    ax.set_yticks(rows, [label(str(i), names) for i in indices.index], fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # wide intervals: long tick labels
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(axis="x", alpha=0.3)
    noise = indices.attrs.get("noise_share")
    note = "" if noise is None else (
        "\nrun-to-run noise: not measured (one replicate a point)" if np.isnan(noise)
        else f"\nrun-to-run noise: {noise:.0%} of the variance of the point means")
    ax.set_title((title or "Sensitivity indices") + note, fontsize=10)
    return ax


def key_outputs(outputs: list[str]) -> list[str]:
    """The outputs ``sim plot`` draws for a sweep: every one it recorded."""
    return list(outputs)


def plot_sweep(folder: str | Path, out: str | Path | None = None, dpi: int = 150,
               sensitivity_indices: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the figures a sweep's design supports into ``out`` (default ``FOLDER/figures``).

    For every output the sweep recorded: a response curve against each varied
    parameter (one curve per value of the other, if it has few), and for a
    two-parameter grid a heat map; for a Saltelli or Morris design, sensitivity
    bars. Every figure is drawn before the folder is made.

    Parameters
    ----------
    folder : str or Path
        A finished sweep folder.
    out : str or Path, optional
        Where the PNGs go.
    dpi : int
        Resolution.
    sensitivity_indices : dict of str to DataFrame, optional
        For a Saltelli or Morris design: each output's indices (from
        :func:`sim.analyze.indices_for`), drawn as bars.

    Raises
    ------
    InputError
        For a Saltelli or Morris design without ``sensitivity_indices``.
    """
    sweep = read_sweep(folder)
    points = sweep.points
    kind = sweep.design_kind
    names = scenario_names(str(sweep.manifest.get("scenario", "")))
    drawn: list[tuple[str, Axes]] = []
    if kind in ("saltelli", "morris") and sensitivity_indices is None:
        raise InputError.single(str(folder), "sensitivity_indices", "are needed for a "
                                f"{kind} design", "pass sim.analyze.indices_for(folder, "
                                "outputs), or use `sim plot`")
    with offscreen():
        if kind in ("saltelli", "morris"):
            for figure, table in (sensitivity_indices or {}).items():
                drawn.append((f"sensitivity-{figure}", sensitivity(
                    table, title=f"Sensitivity of {label(figure)} ({kind})", names=names)))
        else:
            varied = [p for p in sweep.parameters if points[p].nunique() > 1]
            for figure in key_outputs(sweep.outputs):
                for x in varied:
                    others = [p for p in varied if p != x]
                    by = others[0] if len(others) == 1 and points[others[0]].nunique() <= 7 \
                        else None
                    drawn.append((f"response-{figure}-{x}", response(folder, x, figure, by=by)))
                if kind == "grid" and len(varied) == 2:
                    drawn.append((f"heatmap-{figure}",
                                  heatmap(folder, varied[0], varied[1], figure)))
    out = Path(out) if out else Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ax in drawn:
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=dpi)
        written.append(path)
    return written
