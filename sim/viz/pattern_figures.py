"""The validation figure: each observed pattern's range against the model's distribution."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.io.pattern_folder import read_patterns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

USE_COLORS = {"calibrate": "#1f5fbf", "hold_out": "#c62828"}


def pattern_chart(table: pd.DataFrame | str | Path, title: str = "") -> Figure:
    """One row per pattern, each on its own scale, the observed range against the model's.

    The observed range is shaded; the model's 10th-90th percentile interval is a bar
    and its median a dot; held-out patterns are red.

    Parameters
    ----------
    table : DataFrame, str or Path
        A patterns table (``patterns.csv``) or the folder holding it.
    title : str
        A title (default: the folder's scenario).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not isinstance(table, pd.DataFrame):
        manifest, table = read_patterns(table)
        title = title or f"{manifest['scenario']}: {manifest['replicates']} runs against the record"
    n = len(table)
    fig, axes = plt.subplots(n, 1, figsize=(8, 0.62 * n + 1.3), squeeze=False,
                             layout="constrained")
    for ax, row in zip(axes[:, 0], table.itertuples(), strict=True):
        color = USE_COLORS.get(row.use, "#555")
        lo, hi = row.observed_low, row.observed_high
        values = [v for v in (lo, hi, row.model_p10, row.model_p90) if np.isfinite(v)]
        span = (max(values) - min(values)) or max(abs(max(values)), 1.0)
        ax.set_xlim(min(values) - 0.12 * span, max(values) + 0.12 * span)
        ax.axvspan(lo, hi if hi > lo else lo + 0.004 * span, color="#9e9e9e", alpha=0.35, lw=0)
        if np.isfinite(row.model_p10):
            ax.plot([row.model_p10, row.model_p90], [0, 0], color=color, lw=5,
                    solid_capstyle="butt", alpha=0.75)
            ax.plot([row.model_median], [0], "o", color="white", mec=color, mew=2, ms=7)
        verdict = "matched" if row.matched else ("consistent" if row.consistent else "outside")
        ax.set_yticks([0], [f"{row.pattern}"], fontsize=8)
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=7)
        ax.text(1.01, 0.5, verdict, transform=ax.transAxes, fontsize=7, va="center",
                color="#2e7d32" if row.matched else ("#ef6c00" if row.consistent else "#b71c1c"))
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    handles = [Patch(color="#9e9e9e", alpha=0.35, label="observed range"),
               Line2D([], [], color=USE_COLORS["calibrate"], lw=5, label="model 10th-90th, "
                      "calibration pattern"),
               Line2D([], [], color=USE_COLORS["hold_out"], lw=5, label="model 10th-90th, "
                      "held out"),
               Line2D([], [], ls="", marker="o", mfc="white", mec="k", label="model median")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=7,
               frameon=False)
    fig.suptitle(title or "Patterns against the record", fontsize=10)
    return fig


def plot_patterns(folder: str | Path, out: str | Path | None = None,
                  dpi: int = 150) -> list[Path]:
    """Write ``patterns.png`` for a patterns folder (default into ``FOLDER/figures``)."""
    out = Path(out) if out else Path(folder) / "figures"
    fig = pattern_chart(folder)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "patterns.png"
    fig.savefig(path, dpi=dpi)
    return [path]
