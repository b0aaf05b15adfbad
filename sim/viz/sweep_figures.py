"""Figures of a sweep: response curves with confidence bands, heat maps, sensitivity bars.

Each function returns the matplotlib Axes it drew on and accepts ``ax=``.
``plot_sweep(folder)`` writes the figures a sweep's design supports
(``sim plot SWEEP_DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.io.sweep_folder import read_sweep
from sim.viz.maps import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LABELS = {"standoffs": "standoffs", "standoff_hours": "standoff hours",
          "vehicle_hours_delay": "vehicle-hours of civilian delay",
          "travel_time_index": "travel-time index",
          "missions_turned_back": "missions turned back",
          "standoffs_between_forces": "standoffs between forces",
          "max_consecutive_standoff_days": "most consecutive days with a standoff"}


def _points(sweep: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(sweep, pd.DataFrame):
        return sweep, ""
    folder = read_sweep(sweep)
    return folder.points, f"{folder.name} ({folder.manifest['n_runs']} runs)"


def label(name: str) -> str:
    """A readable axis label for a figure or a dotted parameter."""
    return LABELS.get(name, name)


def response(sweep: str | Path | pd.DataFrame, x: str, y: str = "standoff_hours",
             by: str | None = None, ax: Axes | None = None) -> Axes:
    """A summary figure's mean against a parameter, with its 95% confidence band.

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
    points, name = _points(sweep)
    ax = new_axes(ax, (7, 4.5))
    groups = points.groupby(by) if by else [(None, points)]
    colors = iter(["#1f5fbf", "#c62828", "#2e7d32", "#ef6c00", "#8e24aa", "#00897b", "#6d4c41"])
    for value, group in groups:
        group = group.sort_values(x)
        color = next(colors, None)
        legend = f"{label(by)} = {value:g}" if by else "mean over replicates"
        if group[x].nunique() <= 12:
            ax.plot(group[x], group[f"{y}_mean"], marker="o", color=color, label=legend)
            ax.fill_between(group[x], group[f"{y}_ci_low"], group[f"{y}_ci_high"], color=color,
                            alpha=0.18, lw=0)
        else:
            half = group[f"{y}_ci_high"] - group[f"{y}_mean"]
            ax.errorbar(group[x], group[f"{y}_mean"], yerr=half.fillna(0), fmt="o", ms=3,
                        color=color, alpha=0.7, label=legend)
    ax.set_xlabel(label(x))
    ax.set_ylabel(f"{label(y)} (mean, 95% CI)")
    ax.legend(fontsize=7, title_fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(f"{label(y)} against {label(x)}" + (f"\n{name}" if name else ""), fontsize=10)
    return ax


def heatmap(sweep: str | Path | pd.DataFrame, x: str, y: str, figure: str = "standoff_hours",
            ax: Axes | None = None) -> Axes:
    """A figure's mean over a grid of two parameters; cells show mean ± CI half-width."""
    points, name = _points(sweep)
    ax = new_axes(ax, (7, 5))
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
            text = f"{mean:.3g}" + (f"\n±{half:.2g}" if np.isfinite(half) else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if mean > 0.6 * top else "black")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.figure.colorbar(image, ax=ax, label=f"{label(figure)} (mean)")
    ax.set_title(f"{label(figure)}" + (f"\n{name}" if name else ""), fontsize=10)
    return ax


def sensitivity(indices: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Sobol (``S1``, ``ST``) or Morris (``mu_star``) indices as bars with 95% intervals."""
    ax = new_axes(ax, (7, 0.9 + 0.45 * len(indices)))
    names = [str(i) for i in indices.index]
    rows = np.arange(len(names))
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
    ax.set_yticks(rows, names, fontsize=8)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    noise = indices.attrs.get("noise_share")
    note = "" if noise is None else (
        "\nrun-to-run noise: not measured (one replicate a point)" if np.isnan(noise)
        else f"\nrun-to-run noise: {noise:.0%} of the variance of the point means")
    ax.set_title((title or "Sensitivity indices") + note, fontsize=10)
    return ax


def key_outputs(outputs: list[str]) -> list[str]:
    """The outputs ``sim plot`` draws for a sweep: the headline ones it has, else its first two."""
    return [f for f in ("standoff_hours", "vehicle_hours_delay", "standoffs")
            if f in outputs] or outputs[:2]


def plot_sweep(folder: str | Path, out: str | Path | None = None, dpi: int = 150,
               sensitivity_indices: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the figures a sweep's design supports into ``out`` (default ``FOLDER/figures``).

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
    figures = key_outputs(sweep.outputs)
    drawn: list[tuple[str, Axes]] = []
    if kind in ("saltelli", "morris"):
        if sensitivity_indices is None:
            raise InputError.single(str(folder), "sensitivity_indices", "are needed for a "
                                    f"{kind} design", "pass sim.analyze.indices_for(folder, "
                                    "outputs), or use `sim plot`")
        for figure, table in sensitivity_indices.items():
            drawn.append((f"sensitivity-{figure}", sensitivity(
                table, title=f"Sensitivity of {label(figure)} ({kind})")))
    else:
        varied = [p for p in sweep.parameters if points[p].nunique() > 1]
        for figure in figures:
            for x in varied:
                others = [p for p in varied if p != x]
                by = others[0] if len(others) == 1 and points[others[0]].nunique() <= 7 else None
                drawn.append((f"response-{figure}-{x}", response(folder, x, figure, by=by)))
            if kind == "grid" and len(varied) == 2:
                drawn.append((f"heatmap-{figure}", heatmap(folder, varied[0], varied[1], figure)))
    out = Path(out) if out else Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ax in drawn:
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=dpi)
        written.append(path)
    return written
