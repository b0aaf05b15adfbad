"""The app's pictures: the live map (everyone on the network) and the standoff and delay plots.

The map's static layers (network, places, axes, legend) are drawn once per
model with :func:`sim.viz.maps.draw_network`, as every map is, and each frame
restores those pixels and draws only the agents on them (blitting): a
1,000-pixel-wide frame then takes a few tens of milliseconds. The plots show the model's
DataCollector against simulated days.
"""

from __future__ import annotations

import io
import threading
import weakref

import numpy as np
import PIL.Image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.core.model import PatrolModel
from sim.viz.maps import Projection, draw_network, force_color, map_limits
from sim.viz.positions import snapshot

MAP_WIDTH_IN = 10.0
MAP_DPI = 100
#: Margins of the map's axes in the figure, inches: left, right, bottom (labels, legend), top.
MAP_MARGINS_IN = (0.65, 0.15, 1.0, 0.1)
PLOT_SIZE_IN = (4.6, 4.6)
PLOT_DPI = 100

_MAPS: weakref.WeakKeyDictionary[PatrolModel, LiveMap] = weakref.WeakKeyDictionary()


class LiveMap:
    """One model's map: the static layers drawn once, the agents blitted onto them per frame.

    Parameters
    ----------
    model : PatrolModel
        The model whose network and forces the map shows (not kept).
    """

    def __init__(self, model: PatrolModel) -> None:
        network = model.network
        self.projection = proj = Projection.for_network(network)
        x0, x1, y0, y1 = map_limits(network, proj)
        left, right, bottom, top = MAP_MARGINS_IN
        width = MAP_WIDTH_IN - left - right
        height = width * (y1 - y0) / (x1 - x0)
        fig_h = height + bottom + top
        self.figure = fig = Figure(figsize=(MAP_WIDTH_IN, fig_h), dpi=MAP_DPI)
        # fixed axes: a layout engine would double the drawing time
        self.ax = ax = fig.add_axes((left / MAP_WIDTH_IN, bottom / fig_h,
                                     width / MAP_WIDTH_IN, height / fig_h))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        draw_network(ax, network, proj, legend=False)
        self._legend(ax, sorted({m.force for m in model.spec.missions.values()}))
        ax.set_xlabel("km east", fontsize=9, labelpad=1)
        ax.set_ylabel("km north", fontsize=9)
        ax.tick_params(labelsize=8)
        none = np.empty((0, 2))
        self.layers = {  # animated: left out of the background, drawn per frame
            "civilians": ax.scatter(none[:, 0], none[:, 1], s=12, c="#6f8fa8", lw=0, alpha=0.8,
                                    zorder=3, animated=True),
            "held": ax.scatter(none[:, 0], none[:, 1], s=16, c="#202020", lw=0, zorder=3,
                               animated=True),
            "standoffs": ax.scatter(none[:, 0], none[:, 1], s=520, marker="*", c="#ffd400",
                                    edgecolors="black", lw=1.0, zorder=4, animated=True),
            "patrols": ax.scatter(none[:, 0], none[:, 1], s=70, marker="o", edgecolors="black",
                                  lw=0.8, zorder=5, animated=True),
            "blocking": ax.scatter(none[:, 0], none[:, 1], s=70, marker="s",
                                   edgecolors="black", lw=0.8, zorder=5, animated=True),
            "helicopters": ax.scatter(none[:, 0], none[:, 1], s=64, marker="^",
                                      edgecolors="black", lw=0.8, zorder=6, animated=True),
        }
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(fig.bbox)
        self._lock = threading.Lock()

    @staticmethod
    def _legend(ax: Axes, patrolling: list[str]) -> None:
        handles = [Line2D([], [], ls="", marker="o", ms=8, mfc=force_color(f), mec="black",
                          label=f"{f} patrol") for f in patrolling]
        handles += [
            Line2D([], [], ls="", marker="s", ms=8, mfc="white", mec="black",
                   label="blocking position"),
            Line2D([], [], ls="", marker="^", ms=8, mfc="white", mec="black",
                   label="helicopter"),
            Line2D([], [], ls="", marker="*", ms=15, mfc="#ffd400", mec="black",
                   label="standoff"),
            Line2D([], [], ls="", marker=".", ms=8, mfc="#6f8fa8", mec="none",
                   label="civilian vehicle"),
            Line2D([], [], ls="", marker=".", ms=8, mfc="#202020", mec="none",
                   label="held vehicle")]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09),
                  fontsize=9, ncols=(len(handles) + 1) // 2, frameon=False,
                  handletextpad=0.3, columnspacing=1.2)

    def _place(self, name: str, lat: np.ndarray, lon: np.ndarray,
               forces: list[str] | None = None) -> None:
        x, y = self.projection.xy(lat, lon)
        layer = self.layers[name]
        layer.set_offsets(np.column_stack([x, y]) if len(x) else np.empty((0, 2)))
        if forces is not None:
            layer.set_facecolor([force_color(f) for f in forces] or "none")

    def update(self, model: PatrolModel) -> None:
        """Put everyone where they are at the model's current time."""
        s = snapshot(model)
        held = s.civilian_held
        self._place("civilians", s.civilian_lat[~held], s.civilian_lon[~held])
        self._place("held", s.civilian_lat[held], s.civilian_lon[held])
        self._place("standoffs", s.standoff_lat, s.standoff_lon)
        blocking = np.array([k == "blocking" for k in s.patrol_kind], dtype=bool)
        forces = np.array(s.patrol_force, dtype=object)
        self._place("patrols", s.patrol_lat[~blocking], s.patrol_lon[~blocking],
                    list(forces[~blocking]))
        self._place("blocking", s.patrol_lat[blocking], s.patrol_lon[blocking],
                    list(forces[blocking]))
        self._place("helicopters", s.helicopter_lat, s.helicopter_lon, s.helicopter_force)

    def png(self, model: PatrolModel) -> bytes:
        """The frame at the model's current time, as PNG (fast compression: it is sent often)."""
        with self._lock:
            self.update(model)
            self.canvas.restore_region(self._background)
            for layer in self.layers.values():
                self.ax.draw_artist(layer)
            width, height = self.canvas.get_width_height()
            image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(),
                                         "raw", "RGBA", 0, 1)
            out = io.BytesIO()
            image.convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()


def live_map(model: PatrolModel) -> LiveMap:
    """The model's map (made on first use, kept as long as the model)."""
    if model not in _MAPS:
        _MAPS[model] = LiveMap(model)
    return _MAPS[model]


def map_png(model: PatrolModel) -> bytes:
    """The map at the model's current time, as PNG."""
    return live_map(model).png(model)


def draw_plots(model: PatrolModel) -> Figure:
    """Standoffs (so far and under way) and vehicle-hours of delay against simulated days."""
    frame = model.datacollector.get_model_vars_dataframe()
    days = frame["time_min"].to_numpy(dtype=float) / 1440.0 if len(frame) else np.empty(0)
    fig = Figure(figsize=PLOT_SIZE_IN, dpi=PLOT_DPI)
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.1, top=0.98, hspace=0.08)  # no engine
    top, bottom = fig.subplots(2, 1, sharex=True)
    if len(frame):
        top.step(days, frame["standoffs"], where="post", color="#d62728", label="so far")
        top.step(days, frame["active_standoffs"], where="post", color="#ff8c00", ls="--",
                 label="under way")
        bottom.plot(days, frame["vehicle_hours_delay"], color="#1f5fbf")
    top.legend(loc="upper right", fontsize=8)
    top.set_ylabel("standoffs")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylabel("vehicle-hours of delay")
    bottom.set_xlabel("days from the start")
    for ax in (top, bottom):
        ax.axvline(model.events.now / 1440.0, color="black", lw=0.8, alpha=0.5)
        ax.set_xlim(0, model.horizon_min / 1440.0)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
        ax.grid(alpha=0.3)
    return fig
