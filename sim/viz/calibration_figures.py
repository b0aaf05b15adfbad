"""Figures of a calibration: posterior marginals and pairs, the tolerance schedule, the check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.io.calibration_folder import read_calibration

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _weighted_hist(ax, values: np.ndarray, weights: np.ndarray, low: float, high: float) -> None:
    bins = np.linspace(low, high, 21)
    ax.hist(values, bins=bins, weights=weights / weights.sum(), color="#1f5fbf", alpha=0.75)
    ax.axhline(1 / 20, color="#9e9e9e", ls="--", lw=1)  # a uniform prior's height per bin


def marginals(folder: str | Path) -> Figure:
    """One panel per parameter: the weighted posterior over its prior range, and its median.

    The dashed line is a uniform prior's height.
    """
    import matplotlib.pyplot as plt

    manifest, posterior, _ = read_calibration(folder)
    priors = manifest["spec"]["parameters"]
    names = list(priors)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False,
                             layout="constrained")
    weights = posterior["weight"].to_numpy()
    for ax, name in zip(axes.flat, names, strict=False):
        low, high = priors[name]["low"], priors[name]["high"]
        _weighted_hist(ax, posterior[name].to_numpy(), weights, low, high)
        median = manifest["posterior_median"][name]
        ax.axvline(median, color="k", lw=1.2, label=f"median {median:.3g}")
        ax.set_xlim(low, high)
        ax.set_title(name, fontsize=8)
        ax.set_ylabel("posterior share", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper right")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"Posterior of {manifest['name']} after {manifest['generations_done']} "
                 f"generations ({len(posterior)} particles; dashed: uniform prior)", fontsize=10)
    return fig


def pairs(folder: str | Path) -> Figure:
    """Every pair of parameters: the posterior particles, sized by weight."""
    import matplotlib.pyplot as plt

    manifest, posterior, _ = read_calibration(folder)
    priors = manifest["spec"]["parameters"]
    names = list(priors)
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(2.2 * n + 0.5, 2.2 * n + 0.5), squeeze=False,
                             layout="constrained")
    w = posterior["weight"].to_numpy()
    size = 4 + 60 * w / w.max()
    for i, y in enumerate(names):
        for j, x in enumerate(names):
            ax = axes[i, j]
            if i == j:
                _weighted_hist(ax, posterior[x].to_numpy(), w, priors[x]["low"],
                               priors[x]["high"])
            elif i > j:
                ax.scatter(posterior[x], posterior[y], s=size, alpha=0.5, color="#1f5fbf",
                           lw=0)
                ax.set_ylim(priors[y]["low"], priors[y]["high"])
            else:
                ax.set_visible(False)
                continue
            ax.set_xlim(priors[x]["low"], priors[x]["high"])
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(x.rsplit(".", 2)[-2] + "." + x.rsplit(".", 1)[-1], fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(y.rsplit(".", 2)[-2] + "." + y.rsplit(".", 1)[-1], fontsize=7)
    fig.suptitle(f"Posterior pairs of {manifest['name']} (dot area: weight)", fontsize=10)
    return fig


def schedule(folder: str | Path) -> Figure:
    """Tolerance and acceptance rate by generation."""
    import matplotlib.pyplot as plt

    manifest, _, generations = read_calibration(folder)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    left.plot(generations["generation"], generations["epsilon"], "o-", color="#1f5fbf")
    left.set_xlabel("generation")
    left.set_ylabel("tolerance (distance outside the ranges)")
    right.plot(generations["generation"], generations["acceptance_rate"], "o-",
               color="#c62828")
    right.set_yscale("log")
    right.set_xlabel("generation")
    right.set_ylabel("acceptance rate")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"{manifest['name']}: {manifest['n_simulations']:,} simulations", fontsize=10)
    return fig


def plot_calibration(folder: str | Path, out: str | Path | None = None,
                     dpi: int = 150) -> list[Path]:
    """Write the marginals, pairs, schedule and posterior-predictive check as PNG."""
    from sim.viz.pattern_figures import pattern_chart

    folder = Path(folder)
    out = Path(out) if out else folder / "figures"
    out.mkdir(parents=True, exist_ok=True)
    figures = {"posterior-marginals": marginals(folder), "posterior-pairs": pairs(folder),
               "generations": schedule(folder),
               "posterior-check": pattern_chart(
                   folder / "ppc", title="Posterior-predictive check: every pattern, held-out "
                   "ones in red")}
    written = []
    for name, fig in figures.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    return written
