"""The interactive app: a Mesa SolaraViz page with the live map, counters, plots and sliders.

Run it with ``sim app`` (offline, on the asset cache of :mod:`sim.viz.app_assets`)
or ``solara run sim.viz.app`` (Solara then fetches its browser assets from its
CDN). The page shows the baseline scenario's patrols, blocking positions,
helicopters, standoffs and civilian vehicles on the road network at their real
coordinates, with live counters and plots. The sliders set the main scenario
parameters; like every SolaraViz parameter they apply on **Reset**. Each Step
advances :data:`STEP_MIN` simulated minutes.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
import weakref
from typing import Any

import numpy as np
import solara
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim.core.model import REPORTERS, PatrolModel
from sim.core.network import RoadNetwork
from sim.errors import InputError
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario
from sim.scenario.schema import ScenarioSpec
from sim.viz.maps import Projection, draw_network, force_color, map_limits
from sim.viz.positions import snapshot

with warnings.catch_warnings():
    # Mesa 3.3's own ComponentsView returns before a hook, and Solara's hook checker
    # warns about it when the module is imported (fixed in Mesa 3.5); not our code.
    warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView: `use_state` found despite",
                            category=UserWarning)
    from mesa.visualization import SolaraViz, make_plot_component

TITLE = "Patrols around al-Malikiyah (Derik)"
#: Simulated minutes per Step of the app (the model's ``tick_min``).
STEP_MIN = 30.0
DEFAULT_SEED = 7
MAP_SIZE_IN = (4.4, 3.2)
MAP_DPI = 125
MAP_AXES = (0.1, 0.25, 0.88, 0.73)  # left, bottom, width, height (share of the figure)
MAP_SCALE = 0.55  # markers and text of the shared network map, shrunk for this small figure


@functools.cache
def baseline() -> ScenarioSpec:
    """The baseline scenario, whose values are the sliders' defaults."""
    return load_scenario(DEFAULT_SCENARIO)[0]


def _parse_seed(seed: int | str | None) -> int | None:
    if not isinstance(seed, str):
        return seed
    text = seed.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InputError.single("app", "seed", f"= {seed!r} must be an integer >= 0", "e.g. 7")
    return int(text)


class AppModel(PatrolModel):
    """The baseline scenario with the app's sliders as plain keyword parameters.

    Every parameter left as ``None`` keeps the baseline's value.

    Parameters
    ----------
    us_block : float, optional
        Propensity of US patrols to block a rival (``forces.US.posture.block``).
    ru_derik_per_day : float, optional
        Russian patrols towards Derik per day (``missions.ru_derik.per_day``).
    trips_per_day : int, optional
        Civilian trips per day (``civilians.trips_per_day``).
    villagers_block : float, optional
        Propensity of every villager community to block (``villagers.*.block``).
    days : float, optional
        Days simulated.
    step_min : float
        Simulated minutes per ``step()`` (``tick_min``).
    seed : int or str, optional
        The run's seed (text from the app's input box is accepted).
    rng : int, optional
        Mesa's name for the seed.
    """

    def __init__(self, us_block: float | None = None, ru_derik_per_day: float | None = None,
                 trips_per_day: int | None = None, villagers_block: float | None = None, *,
                 days: float | None = None, step_min: float = STEP_MIN,
                 seed: int | str | None = None, rng: int | None = None) -> None:
        overrides: dict[str, Any] = {"tick_min": step_min}
        for name, value in [("forces.US.posture.block", us_block),
                            ("missions.ru_derik.per_day", ru_derik_per_day),
                            ("civilians.trips_per_day", trips_per_day)]:
            if value is not None:
                overrides[name] = value
        if villagers_block is not None:
            overrides.update({f"villagers.{vid}.block": villagers_block
                              for vid in sorted(baseline().villagers)})
        super().__init__(DEFAULT_SCENARIO, rng=rng, seed=_parse_seed(seed), days=days,
                         **overrides)
        self.us_block, self.ru_derik_per_day = us_block, ru_derik_per_day
        self.trips_per_day, self.villagers_block = trips_per_day, villagers_block
        self.days, self.step_min = days, step_min


def model_params() -> dict[str, Any]:
    """SolaraViz's ``model_params``: a slider per main parameter, and the seed."""
    spec = baseline()
    village = spec.villagers[sorted(spec.villagers)[0]]
    return {
        "us_block": {"type": "SliderFloat", "label": "US blocking propensity", "min": 0.0,
                     "max": 1.0, "step": 0.05, "value": spec.forces["US"].posture.block},
        "ru_derik_per_day": {"type": "SliderFloat", "label": "Russian Derik patrols per day",
                             "min": 0.0, "max": 3.0, "step": 0.1,
                             "value": spec.missions["ru_derik"].per_day},
        "trips_per_day": {"type": "SliderInt", "label": "Civilian trips per day", "min": 0,
                          "max": 12000, "step": 200, "value": spec.civilians.trips_per_day},
        "villagers_block": {"type": "SliderFloat", "label": "Villagers' blocking propensity",
                            "min": 0.0, "max": 1.0, "step": 0.05, "value": village.block},
        "seed": {"type": "InputText", "label": "Seed", "value": DEFAULT_SEED},
    }


# -- the map ------------------------------------------------------------------------------

_PROJECTIONS: weakref.WeakKeyDictionary[RoadNetwork, Projection] = weakref.WeakKeyDictionary()
_BACKGROUNDS: weakref.WeakKeyDictionary[PatrolModel, np.ndarray] = weakref.WeakKeyDictionary()


def _projection(network: RoadNetwork) -> Projection:
    if network not in _PROJECTIONS:
        _PROJECTIONS[network] = Projection.for_network(network)
    return _PROJECTIONS[network]


def _map_axes(network: RoadNetwork) -> tuple[Figure, Axes]:
    """A figure whose axes sit at the same place, with the same limits, every time."""
    fig = Figure(figsize=MAP_SIZE_IN, dpi=MAP_DPI)
    ax = fig.add_axes(MAP_AXES)  # fixed: a layout engine would double the drawing time
    x0, x1, y0, y1 = map_limits(network, _projection(network))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    return fig, ax


def map_background(model: PatrolModel) -> np.ndarray:
    """The map without its agents (network, places, axes, legend) as RGBA pixels.

    Drawn once per model (with :func:`sim.viz.maps.draw_network`, as every map is) and
    pasted under every frame, so a frame draws only the agents (about five times
    faster than drawing everything).
    """
    if model in _BACKGROUNDS:
        return _BACKGROUNDS[model]
    fig, ax = _map_axes(model.network)
    draw_network(ax, model.network, _projection(model.network), scale=MAP_SCALE, legend=False)
    patrolling = sorted({m.force for m in model.spec.missions.values()})
    handles = [Line2D([], [], ls="", marker="o", mfc=force_color(f), mec="black",
                      label=f"{f} patrol") for f in patrolling]
    handles += [
        Line2D([], [], ls="", marker="s", mfc="white", mec="black", label="blocking position"),
        Line2D([], [], ls="", marker="^", mfc="white", mec="black", label="helicopter"),
        Line2D([], [], ls="", marker="*", ms=10, mfc="#ffd400", mec="black", label="standoff"),
        Line2D([], [], ls="", marker=".", mfc="#6f8fa8", mec="none", label="civilian vehicle"),
        Line2D([], [], ls="", marker=".", mfc="#202020", mec="none", label="held vehicle")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=6,
              ncols=4, frameon=False, handletextpad=0.2, columnspacing=0.8)
    ax.set_xlabel("km east", fontsize=7)
    ax.set_ylabel("km north", fontsize=7)
    ax.tick_params(labelsize=6)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba()).copy()
    _BACKGROUNDS[model] = pixels
    return pixels


def draw_map(model: PatrolModel) -> Figure:
    """The map at the model's current time: the cached background, then everyone on it."""
    proj = _projection(model.network)
    fig, ax = _map_axes(model.network)
    fig.figimage(map_background(model), origin="upper", zorder=-1)  # pixels, not resampled
    ax.set_axis_off()
    s = snapshot(model)
    x, y = proj.xy(s.civilian_lat, s.civilian_lon)
    ax.scatter(x[~s.civilian_held], y[~s.civilian_held], s=7, c="#6f8fa8", lw=0, alpha=0.8,
               zorder=3)
    ax.scatter(x[s.civilian_held], y[s.civilian_held], s=9, c="#202020", lw=0, zorder=3)
    x, y = proj.xy(s.standoff_lat, s.standoff_lon)
    ax.scatter(x, y, s=260, marker="*", c="#ffd400", edgecolors="black", lw=0.8, zorder=4)
    x, y = proj.xy(s.patrol_lat, s.patrol_lon)
    shapes = np.array(["s" if k == "blocking" else "o" for k in s.patrol_kind])
    for shape in ("o", "s"):
        on = shapes == shape
        ax.scatter(x[on], y[on], s=40, marker=shape, edgecolors="black", lw=0.6, zorder=5,
                   c=[force_color(f) for f, o in zip(s.patrol_force, on, strict=True) if o])
    x, y = proj.xy(s.helicopter_lat, s.helicopter_lon)
    ax.scatter(x, y, s=36, marker="^", edgecolors="black", lw=0.6, zorder=6,
               c=[force_color(f) for f in s.helicopter_force])
    return fig


def _clock(model: PatrolModel) -> str:
    now = model.events.now
    when = model.spec.start + dt.timedelta(minutes=now)
    return f"{when:%d %b %Y %H:%M} (day {int(now // 1440) + 1} of {model.spec.days:g})"


def counter_lines(model: PatrolModel) -> list[str]:
    """The live counters, in three lines, from the model's reporters."""
    r = {name: reporter(model) for name, reporter in REPORTERS.items()}
    return [
        f"Simulated time: {_clock(model)}",
        f"Standoffs: {r['standoffs']} ({r['active_standoffs']} under way, "
        f"{r['standoff_hours']:.1f} h) · vehicle-hours of delay: {r['vehicle_hours_delay']:,.1f}",
        f"Trips under way: {r['trips_under_way']} ({r['queued_vehicles']} queued) · "
        f"patrols out: {r['patrols_out']} · helicopters up: {r['helicopters_up']}",
    ]


def MapView(model: PatrolModel) -> solara.Column:
    """Counters above the map (a plain function: SolaraViz re-runs it on every step)."""
    with solara.Column(gap="2px", classes=["patrol-map"]) as main:
        with solara.Column(gap="0px", classes=["counter-text"]):
            for line in counter_lines(model):
                solara.Text(line, style={"font-size": "13px", "line-height": "18px"})
        solara.FigureMatplotlib(draw_map(model), format="png", dpi=MAP_DPI)
    return main


def _days_axis(ax: Axes, ylabel: str) -> None:
    # Row i of the DataCollector is collected after step i + 1 (STEP_MIN minutes each).
    n = max((len(line.get_xdata()) for line in ax.get_lines()), default=0)
    ax.set_xlim(0, max(n - 1, 1))
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
    ax.set_ylabel(ylabel)
    top = ax.secondary_xaxis("top", functions=(lambda s: (s + 1) * STEP_MIN / 1440.0,
                                               lambda d: d * 1440.0 / STEP_MIN - 1))
    top.set_xlabel("days from the start")


def _standoff_axes(ax: Axes) -> None:
    _days_axis(ax, "standoffs")
    for line in ax.get_lines()[1:]:  # under way: dashed, so "so far" shows where they meet
        line.set_linestyle("--")
    ax.legend(["so far", "under way"], loc="upper left")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


COMPONENTS = [
    MapView,
    make_plot_component({"standoffs": "#d62728", "active_standoffs": "#ff8c00"},
                        post_process=_standoff_axes),
    make_plot_component("vehicle_hours_delay",
                        post_process=lambda ax: _days_axis(ax, "vehicle-hours of delay")),
]


#: Mesa's grid cells are 390 px high: fit the pictures in (keeping their shape).
CSS = """
.vue-grid-item img.widget-image { max-width: 100%; max-height: 385px; width: auto; height: auto; }
.patrol-map img.widget-image { max-height: 325px; }
"""


@solara.component
def Page() -> None:
    """The app: one model per browser session, built when the session opens."""
    model = solara.use_memo(lambda: AppModel(seed=DEFAULT_SEED), [])
    solara.Style(CSS)
    SolaraViz(model, components=COMPONENTS, model_params=model_params(), name=TITLE,
              play_interval=150)
