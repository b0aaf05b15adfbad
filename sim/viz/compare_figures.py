"""The comparison figure: a forest plot of paired differences, and each scenario's distribution."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.io.compare_folder import read_comparison

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = ["#1f5fbf", "#c62828", "#2e7d32", "#ef6c00", "#8e24aa", "#00897b", "#6d4c41"]


def forest(folder: str | Path) -> Figure:
    """A forest plot: one row per output, the paired differences and the distributions.

    Left, each scenario's paired difference from the reference with its interval and
    a zero line; right, every scenario's distribution over replicates.
    """
    import matplotlib.pyplot as plt

    manifest, table, runs = read_comparison(folder)
    outputs = list(dict.fromkeys(table["output"]))
    scenarios = list(dict.fromkeys(table["scenario"]))
    names = [table["reference"].iloc[0], *scenarios]
    fig, axes = plt.subplots(len(outputs), 2, figsize=(11, 1.1 + 0.55 * len(outputs)
                                                       * max(2, len(scenarios))),
                             squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": [1.1, 1]})
    for (left, right), output in zip(axes, outputs, strict=True):
        part = table[table["output"] == output].set_index("scenario").loc[scenarios]
        y = np.arange(len(scenarios))[::-1]
        for k, (yy, row) in enumerate(zip(y, part.itertuples(), strict=True)):
            color = COLORS[(k + 1) % len(COLORS)]
            left.plot([row.diff_lo, row.diff_hi], [yy, yy], color=color, lw=2.5)
            left.plot([row.diff], [yy], "o", color=color, ms=6)
            note = "" if row.interval == "t" else " (bootstrap)"
            left.annotate(f"{row.diff:+.3g}{note}", (row.diff, yy), xytext=(0, 6),
                          textcoords="offset points", ha="center", fontsize=7)
        left.axvline(0, color="k", lw=0.8)
        left.set_yticks(y, scenarios, fontsize=8)
        left.set_ylim(-0.7, len(scenarios) - 0.3)
        left.set_title(f"{output}: difference from {names[0]}", fontsize=8, loc="left")
        left.tick_params(axis="x", labelsize=7)
        left.grid(axis="x", alpha=0.3)
        values = [runs.loc[runs["point_id"] == i, output].to_numpy() for i in range(len(names))]
        parts = right.boxplot(values, orientation="horizontal", patch_artist=True, widths=0.6,
                              medianprops={"color": "k"})
        for k, box in enumerate(parts["boxes"]):
            box.set_facecolor(COLORS[k % len(COLORS)])
            box.set_alpha(0.45)
        right.set_yticks(np.arange(1, len(names) + 1), names, fontsize=7)
        right.invert_yaxis()
        right.set_title(f"{output}: each scenario over replicates", fontsize=8, loc="left")
        right.tick_params(axis="x", labelsize=7)
    ident = manifest["identity"]
    fig.suptitle(f"Paired differences ({manifest['replicates_run']} replicates, "
                 f"{int(ident['level'] * 100)}% intervals, adjustment: {ident['adjust']})",
                 fontsize=10)
    return fig


def plot_comparison(folder: str | Path, out: str | Path | None = None,
                    dpi: int = 150) -> list[Path]:
    """Write ``comparison.png`` for a comparison folder (default into ``FOLDER/figures``)."""
    out = Path(out) if out else Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "comparison.png"
    forest(folder).savefig(path, dpi=dpi)
    return [path]
