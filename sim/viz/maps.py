"""Map layers: a metric projection and the static network (roads, places, bases, borders).

Maps are drawn in kilometres east and north of the network's centre
(an equirectangular projection about the centre's latitude: over this
120 km corner, distances and angles are true to better than 0.1%), never in
raw degrees. Matplotlib is imported lazily.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.network import EARTH_RADIUS_KM, RoadNetwork, road_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FORCE_COLORS = {"US": "#1f5fbf", "RU": "#c62828", "TR": "#ef6c00", "RU+TR": "#8e24aa",
                "villagers": "#2e7d32"}
ROAD_STYLE = {"highway": (2.2, "#5d5d5d"), "main": (1.5, "#7a7a7a"),
              "secondary": (1.0, "#9a9a9a"), "track": (0.7, "#b5b5b5")}
BORDER_NAMES = {"TR": "TURKEY", "IQ": "IRAQ"}
#: Marker area (points², at scale 1) by place kind; a town's grows with its population.
PLACE_SIZE = {"village": 10.0, "base": 55.0, "crossing": 28.0}
#: Which places are named on maps, and which first when space is short (then by population).
LABEL_RANK = {"town": 3.0, "base": 2.0, "crossing": 1.0, "village": 0.0}


_OFFSCREEN: ContextVar[bool] = ContextVar("offscreen", default=False)


@contextmanager
def offscreen() -> Iterator[None]:
    """Within it, new figures never go through pyplot (for writing many files, as ``sim plot``)."""
    token = _OFFSCREEN.set(True)
    try:
        yield
    finally:
        _OFFSCREEN.reset(token)


def _in_kernel() -> bool:
    """Whether this is a Jupyter (IPython) kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def figures_display() -> bool:
    """Whether a new figure should be made through pyplot, so that it displays.

    True in a Jupyter kernel (whose default backend is the inline one) and
    wherever pyplot is in use with an interactive backend; False in scripts,
    the CLI, workers and tests (no pyplot, or a file-only backend such as Agg),
    and inside :func:`offscreen`. There figures are plain ``Figure`` objects that
    pyplot never holds, so none accumulate.
    """
    if _OFFSCREEN.get():
        return False
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        if not _in_kernel():
            return False
        import matplotlib.pyplot as pyplot
    from matplotlib.backends import BackendFilter, backend_registry

    file_only = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    return pyplot.get_backend().lower() not in file_only


#: A map's figure size, inches: the map and, beside it, its legends.
MAP_SIZE = (9.5, 6.0)


def new_axes(ax: Axes | None, size: tuple[float, float] = MAP_SIZE) -> Axes:
    """``ax`` if given, else the axes of a new figure of ``size`` inches.

    The figure is made through pyplot where figures display (a notebook: the
    figure shows below the cell, see :func:`figures_display`), else without it.
    """
    if ax is not None:
        return ax
    if figures_display():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size, layout="constrained").add_subplot()
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


def _candidates(radius: float) -> list[tuple[float, float, str, str]]:
    """Offsets (points) and alignments for a label beside a marker of ``radius`` points."""
    d = radius + 1.5
    e = 0.72 * d
    return [(e, e, "left", "bottom"), (e, -e, "left", "top"), (-e, e, "right", "bottom"),
            (-e, -e, "right", "top"), (d, 0, "left", "center"), (-d, 0, "right", "center"),
            (0, d, "center", "bottom"), (0, -d, "center", "top")]


def _box_meets_circle(box: Any, x: float, y: float, r: float) -> bool:
    nearest_x, nearest_y = min(max(x, box.x0), box.x1), min(max(y, box.y0), box.y1)
    return (nearest_x - x) ** 2 + (nearest_y - y) ** 2 < r * r


def _boxes_meet(a: Any, b: Any, pad: float) -> bool:
    return a.x0 < b.x1 + pad and b.x0 < a.x1 + pad and a.y0 < b.y1 + pad and b.y0 < a.y1 + pad


@functools.cache
def _label_layer_class() -> type:
    from matplotlib.artist import Artist, allow_rasterization
    from matplotlib.text import Text
    from matplotlib.transforms import ScaledTranslation

    class LabelLayer(Artist):
        """Labels placed when the figure is drawn, where they overlap nothing.

        Each label tries positions around its point (the four diagonals, then
        beside, above and below: off the roads that often run level through a
        place), clear of the marker drawn there, and takes the first whose
        text box, as rendered, lies inside the axes and meets no marker, no
        other text of the axes and no label placed before it (higher
        ``priority`` first); a label with no free position is left out. Placing
        at draw time uses the final layout and resolution, so it holds in a
        PNG, a notebook and a grid of subplots alike.
        """

        def __init__(self) -> None:
            super().__init__()
            self.set_zorder(8)
            self.set_in_layout(False)
            self.items: list[tuple[float, float, float, str, float, dict]] = []
            self.obstacles: list[tuple[float, float, float]] = []
            self.placed: list[Text] = []
            self._key: tuple = ()

        def add(self, x: float, y: float, text: str, radius: float = 3.0,
                priority: float = 0.0, **style: Any) -> None:
            """Label the point (x, y) (data units) beside a marker of ``radius`` points."""
            self.items.append((-priority, float(x), float(y), text, radius, style))
            self.avoid(x, y, radius)

        def forget(self, text: str) -> None:
            """Drop the labels reading ``text`` (their markers are still avoided)."""
            self.items = [item for item in self.items if item[3] != text]

        def avoid(self, x: float, y: float, radius: float) -> None:
            """Keep every label off a marker of ``radius`` points at (x, y)."""
            self.obstacles.append((float(x), float(y), radius))

        def get_children(self) -> list:
            """The labels placed at the last draw."""
            return list(self.placed)

        @allow_rasterization
        def draw(self, renderer: Any) -> None:
            """Place the labels for this rendering (unless nothing moved), and draw them."""
            ax = self.axes
            taken = [t.get_window_extent(renderer) for t in ax.texts if t.get_visible()]
            # NOTE: an animation redraws an unchanged map every frame: place only when moved
            key = (renderer.points_to_pixels(1.0), tuple(np.round(ax.bbox.bounds, 1)),
                   tuple(ax.viewLim.bounds), len(self.items), len(self.obstacles),
                   tuple(tuple(np.round(t.bounds, 1)) for t in taken))
            if key != self._key:
                self._key = key
                self.placed = self._place(renderer, taken)
            for label in self.placed:
                label.draw(renderer)
            self.stale = False

        def _place(self, renderer: Any, taken: list) -> list[Text]:
            ax = self.axes
            figure = ax.figure
            to_px = ax.transData.transform
            pt = renderer.points_to_pixels(1.0)
            frame = ax.bbox
            marks = [(*to_px((x, y)), r * pt) for x, y, r in self.obstacles]
            placed = []
            for i in sorted(range(len(self.items)), key=lambda i: (self.items[i][0], i)):
                _, x, y, text, radius, style = self.items[i]
                label = Text(x, y, text, **{"fontsize": 6.5, "color": "#222", **style})
                label.set_figure(figure)
                for dx, dy, ha, va in _candidates(radius):
                    label.set_transform(ax.transData + ScaledTranslation(
                        dx / 72, dy / 72, figure.dpi_scale_trans))
                    label.set_horizontalalignment(ha)
                    label.set_verticalalignment(va)
                    box = label.get_window_extent(renderer)
                    inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1
                              and frame.y0 <= box.y0 and box.y1 <= frame.y1)
                    if inside and not any(_boxes_meet(box, t, pt) for t in taken) and not any(
                            _box_meets_circle(box, mx, my, mr) for mx, my, mr in marks):
                        taken.append(box)
                        placed.append(label)
                        break
            return placed

    return LabelLayer


def label_layer(ax: Axes) -> Any:
    """The axes' label layer (see ``LabelLayer``), added on first use."""
    cls = _label_layer_class()
    for child in ax.get_children():
        if isinstance(child, cls):
            return child
    layer = cls()
    ax.add_artist(layer)
    return layer


def marker_radius(size: float) -> float:
    """The radius, in points, of a scatter marker of area ``size`` (points²)."""
    return math.sqrt(size) / 2


def node_name(network: RoadNetwork, node: str) -> str:
    """A node's place name, else its own name (an OSM street corner: its id)."""
    place = network.places.get(network.place_id(node))
    return place.name if place is not None else str(network.graph.nodes[node].get("name", node))


def gate_name(network: RoadNetwork, gate: str) -> str:
    """A road (``u--v``) or place closed by a standoff, by name, as the maps name it.

    Examples: ``"al-Malikiyah – Kar Qahfak"``; a street between corners without
    names: ``"School Street (53021750 – Tal Hamra)"``.
    """
    if "--" not in gate:
        place = network.places.get(gate)
        return place.name if place is not None else node_name(network, network.node_of(gate))
    u, v = gate.split("--", 1)
    a, b = node_name(network, u), node_name(network, v)
    data = network.graph.get_edge_data(u, v) or network.graph.get_edge_data(v, u) or {}
    road = data.get("road", "")
    return f"{road} ({a} – {b})" if road and (a == u or b == v) else f"{a} – {b}"


def roads(network: RoadNetwork) -> dict[tuple[str, str], tuple[str, str, dict]]:
    """Each road once, by its direction-free key: ``{key: (u, v, edge data)}``.

    A two-way road is one entry; a one-way street is its one directed edge, whichever
    way its ids sort (so a key is never looked up as an edge that may not exist).
    """
    found: dict[tuple[str, str], tuple[str, str, dict]] = {}
    for u, v, data in network.graph.edges(data=True):
        found.setdefault(road_key(u, v), (u, v, data))
    return found


def road_segments(network: RoadNetwork, proj: Projection) -> dict[tuple[str, str], np.ndarray]:
    """Each road (direction-free key) as a 2x2 array of projected end points."""
    segments = {}
    for key, (u, v, _) in roads(network).items():
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

    Places are named through the axes' label layer (:func:`label_layer`): towns
    first, by population, then bases, crossings and villages, each where it
    overlaps no marker and no other label. The legend sits beside the map.
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
    for key, (_, _, data) in roads(network).items():
        by_class.setdefault(data["road_class"], []).append(segments[key])
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
    layer = label_layer(ax)
    for place in places:
        x, y = proj.xy(place.lat, place.lon)
        size = area * PLACE_SIZE.get(place.kind, 0.0)
        if place.kind == "town":
            size = area * (12 + 0.9 * math.sqrt(place.population or 1000))
            ax.scatter(x, y, s=size, color="#fafafa", edgecolor="#333", lw=0.8 * scale,
                       zorder=4, alpha=alpha)
        elif place.kind == "village":
            ax.scatter(x, y, s=size, color="#bdbdbd", edgecolor="#555", lw=0.5 * scale,
                       zorder=4, alpha=alpha)
        elif place.kind == "base":
            ax.scatter(x, y, s=size, marker="s", color=force_color(place.force),
                       edgecolor="k", lw=0.6 * scale, zorder=5, alpha=alpha)
        elif place.kind == "crossing":
            ax.scatter(x, y, s=size, marker="X", color="#6d4c41", zorder=4, alpha=alpha)
        # a square's corner reaches sqrt(2) times its half side
        radius = marker_radius(size) * (1.42 if place.kind == "base" else 1.0)
        rank = LABEL_RANK.get(place.kind)
        if labels and rank is not None:
            layer.add(x, y, place.name, radius=radius,
                      priority=rank + math.log10(max(place.population or 1, 1)) / 10,
                      fontsize=(6.5 if place.kind != "village" else 5.8) * max(scale, 0.8),
                      color="#222" if place.kind != "village" else "#555", alpha=alpha)
        elif size:
            layer.avoid(x, y, radius)
    ax.set_aspect("equal")
    ax.set_xlabel(f"km east of {proj.lon0:.2f}°E")
    ax.set_ylabel(f"km north of {proj.lat0:.2f}°N")
    x0, x1, y0, y1 = map_limits(network, proj)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if not legend:
        return
    kinds = {p.kind for p in places}
    handles = [h for kind, h in [
        ("town", Line2D([], [], marker="o", ls="", mfc="#fafafa", mec="#333", label="town")),
        ("village", Line2D([], [], marker="o", ls="", mfc="#bdbdbd", mec="#555", ms=4,
                           label="village")),
        ("crossing", Line2D([], [], marker="X", ls="", color="#6d4c41", label="crossing")),
        ("border", Line2D([], [], ls=(0, (6, 3)), color="#8d6e63", label="border"))]
        if kind in kinds or (kind == "border" and network.borders)]
    bases = sorted({p.force for p in places if p.kind == "base" and p.force})
    handles += [Line2D([], [], marker="s", ls="", mfc=force_color(f), mec="k",
                       label=f"{f} base") for f in bases]
    # beside the map, never over it; an artist of its own, so that a figure's own legend
    # (placed with add_legend below it) adds to it instead of replacing it
    key = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                    borderaxespad=0.0, fontsize=6.5, framealpha=0.85, title="map",
                    title_fontsize=6.5)
    ax.add_artist(key)
    key.set_clip_on(False)  # add_artist clips to the axes: it would be cut off and not laid out


def add_legend(ax: Axes, handles: list, title: str = "") -> None:
    """A figure's own legend, beside the map below the network's (never over the map)."""
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.02, 0.0), borderaxespad=0.0,
              fontsize=7, title=title or None, title_fontsize=7, framealpha=0.85)
