"""Map layers: a metric projection and the static network (roads, places, bases, borders).

Maps are drawn in kilometres east and north of the network's centre
(an equirectangular projection about the centre's latitude: over this
120 km corner, distances and angles are true to better than 0.1%), never in
raw degrees. Matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.network import EARTH_RADIUS_KM, RoadNetwork

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FORCE_COLORS = {"US": "#1f5fbf", "RU": "#c62828", "TR": "#ef6c00", "RU+TR": "#8e24aa",
                "villagers": "#2e7d32"}
ROAD_STYLE = {"highway": (2.2, "#5d5d5d"), "main": (1.5, "#7a7a7a"),
              "secondary": (1.0, "#9a9a9a"), "track": (0.7, "#b5b5b5")}
BORDER_NAMES = {"TR": "TURKEY", "IQ": "IRAQ"}


def new_axes(ax: Axes | None, size: tuple[float, float] = (8, 6)) -> Axes:
    """``ax`` if given, else the axes of a new figure of ``size`` inches (no pyplot state)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def force_color(force: str) -> str:
    """A force's colour on every map and chart (villager communities share one)."""
    if force.startswith("villagers"):
        return FORCE_COLORS["villagers"]
    if force in FORCE_COLORS:
        return FORCE_COLORS[force]
    palette = ["#00897b", "#6d4c41", "#3949ab", "#c0ca33", "#d81b60"]
    return palette[sum(map(ord, force)) % len(palette)]


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection about (lat0, lon0), in km."""

    lat0: float
    lon0: float

    def xy(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """Kilometres east and north of the centre."""
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        x = EARTH_RADIUS_KM * np.radians(lon - self.lon0) * math.cos(math.radians(self.lat0))
        return x, EARTH_RADIUS_KM * np.radians(lat - self.lat0)

    @classmethod
    def for_network(cls, network: RoadNetwork) -> Projection:
        """Centred on the network's bounding box."""
        lat0, lon0, lat1, lon1 = network.bbox()
        return cls((lat0 + lat1) / 2, (lon0 + lon1) / 2)


LABEL_OFFSETS = [(4, 3, "left"), (4, -9, "left"), (-4, 3, "right"), (-4, -9, "right"),
                 (0, 7, "center"), (0, -13, "center")]


def place_labels(ax: Axes, places: list, proj: Projection, alpha: float = 1.0,
                 fontsize: float = 6.5) -> None:
    """Name places, most populous first, each where it overlaps no earlier label.

    Tries a few offsets around each point (in points) and takes the first whose
    approximate text box is free; a label with no free spot is left out.
    """
    ax.apply_aspect()  # the equal aspect moves the data transform: settle it first
    to_pixels = ax.transData.transform
    scale = ax.figure.dpi / 72.0
    taken: list[tuple[float, float, float, float]] = []
    ranked = sorted(places, key=lambda p: (p.kind != "town", -(p.population or 0)))
    for place in ranked:
        x, y = proj.xy(place.lat, place.lon)
        px, py = to_pixels((float(x), float(y)))
        width, height = 0.56 * fontsize * len(place.name) * scale, fontsize * scale
        for dx, dy, align in LABEL_OFFSETS:
            left = px + dx * scale - (width if align == "right" else
                                      width / 2 if align == "center" else 0)
            bottom = py + dy * scale
            box = (left, bottom, left + width, bottom + height)
            if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3]
                       for t in taken):
                taken.append(box)
                ax.annotate(place.name, (x, y), xytext=(dx, dy), textcoords="offset points",
                            ha=align, fontsize=fontsize, color="#222", zorder=6, alpha=alpha)
                break


def road_segments(network: RoadNetwork, proj: Projection) -> dict[tuple[str, str], np.ndarray]:
    """Each road (direction-free) as a 2x2 array of projected end points."""
    segments = {}
    for u, v in network.graph.edges:
        key = (u, v) if u <= v else (v, u)
        if key not in segments:
            x, y = proj.xy([network.lat(u), network.lat(v)], [network.lon(u), network.lon(v)])
            segments[key] = np.column_stack([x, y])
    return segments


def map_limits(network: RoadNetwork, proj: Projection) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) in km: the network's nodes with a margin (borders may run beyond)."""
    south, west, north, east = network.bbox()
    x, y = proj.xy([south, north], [west, east])  # the projection is linear in lat and lon
    pad_x, pad_y = 0.06 * (x.max() - x.min()) + 1, 0.08 * (y.max() - y.min()) + 1
    return x.min() - pad_x, x.max() + pad_x, y.min() - pad_y, y.max() + pad_y


def draw_network(ax: Axes, network: RoadNetwork, proj: Projection, labels: bool = True,
                 faint: bool = False, scale: float = 1.0, legend: bool = True) -> None:
    """Roads by class, towns sized by population, bases by force, crossings, borders.

    ``scale`` shrinks markers, lines and text for small figures (the app's map);
    ``legend=False`` leaves the legend to the caller.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    alpha = 0.45 if faint else 1.0
    for name, line in network.borders.items():
        x, y = proj.xy([p[0] for p in line], [p[1] for p in line])
        ax.plot(x, y, ls=(0, (6, 3)), color="#8d6e63", lw=1.2 * scale, zorder=1, alpha=alpha)
        ax.annotate(BORDER_NAMES.get(name, name), (x[len(x) // 2], y[len(y) // 2]),
                    xytext=(0, 8 if name == "TR" else -14), textcoords="offset points",
                    color="#8d6e63", fontsize=7 * scale, ha="center", style="italic")
    segments = road_segments(network, proj)
    by_class: dict[str, list[np.ndarray]] = {}
    for (u, v), seg in segments.items():
        by_class.setdefault(network.graph.edges[u, v]["road_class"], []).append(seg)
    for road_class, segs in by_class.items():
        width, color = ROAD_STYLE.get(road_class, (0.8, "#9a9a9a"))
        ax.add_collection(LineCollection(segs, linewidths=width * scale, colors=color, zorder=2,
                                         alpha=alpha, capstyle="round"))
    places = list(network.places.values())
    if not places:  # a user's network without named places: nodes as small dots
        lat = [d["lat"] for _, d in network.graph.nodes(data=True)]
        lon = [d["lon"] for _, d in network.graph.nodes(data=True)]
        ax.scatter(*proj.xy(lat, lon), s=2 * scale, color="#777", zorder=3)
    area = scale * scale
    for place in places:
        x, y = proj.xy(place.lat, place.lon)
        if place.kind == "town":
            size = area * (12 + 0.9 * math.sqrt(place.population or 1000))
            ax.scatter(x, y, s=size, color="#fafafa", edgecolor="#333", lw=0.8 * scale,
                       zorder=4, alpha=alpha)
        elif place.kind == "village":
            ax.scatter(x, y, s=10 * area, color="#bdbdbd", edgecolor="#555", lw=0.5 * scale,
                       zorder=4, alpha=alpha)
        elif place.kind == "base":
            ax.scatter(x, y, s=55 * area, marker="s", color=force_color(place.force),
                       edgecolor="k", lw=0.6 * scale, zorder=5, alpha=alpha)
        elif place.kind == "crossing":
            ax.scatter(x, y, s=28 * area, marker="X", color="#6d4c41", zorder=4, alpha=alpha)
    ax.set_aspect("equal")
    ax.set_xlabel(f"km east of {proj.lon0:.2f}°E")
    ax.set_ylabel(f"km north of {proj.lat0:.2f}°N")
    x0, x1, y0, y1 = map_limits(network, proj)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if labels:
        place_labels(ax, [p for p in places if p.kind in ("town", "base")
                          or p.id in ("qasr_dib", "semalka", "kar_qahfak")], proj, alpha,
                     fontsize=6.5 * max(scale, 0.8))
    if not legend:
        return
    handles = [Line2D([], [], marker="o", ls="", mfc="#fafafa", mec="#333", label="town"),
               Line2D([], [], marker="o", ls="", mfc="#bdbdbd", mec="#555", ms=4,
                      label="village"),
               Line2D([], [], marker="X", ls="", color="#6d4c41", label="crossing"),
               Line2D([], [], ls=(0, (6, 3)), color="#8d6e63", label="border")]
    bases = sorted({p.force for p in places if p.kind == "base" and p.force})
    handles += [Line2D([], [], marker="s", ls="", mfc=force_color(f), mec="k",
                       label=f"{f} base") for f in bases]
    # an artist of its own, so a figure's later ax.legend() adds to it instead of replacing it
    ax.add_artist(ax.legend(handles=handles, loc="upper left", fontsize=6.5, framealpha=0.85,
                            ncols=2))
