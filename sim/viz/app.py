"""The interactive app: a Mesa SolaraViz page with a large live map, a time slider and plots.

Run it with ``sim app [SCENARIO | RUN_FOLDER]`` (offline, on the asset cache of
:mod:`sim.viz.app_assets`) or ``solara run sim.viz.app`` (Solara then fetches its
browser assets from its CDN). It serves what :mod:`sim.viz.app_source` names: a
scenario, simulated live, with a scenario picker and sliders for its main
parameters (they apply on **Reset**, like every SolaraViz parameter), or a
finished run folder, simulated again from its ``run.json`` (the same history,
event for event). SolaraViz draws the controls and parameters in the sidebar;
the page draws the rest: what is shown, live counters, a time slider (any
moment; going back re-simulates from the start), a button to the next
standoff between forces, the map with everyone at their real coordinates, and
the standoff and delay plots. The run opens at its first standoff between
forces (or its start, as the "Open at" choice says). Each Step advances
:data:`~sim.viz.app_model.STEP_MIN` simulated minutes.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path
from typing import Any

import solara

from sim.core.model import REPORTERS
from sim.errors import InputError
from sim.viz.app_map import PLOT_DPI, draw_plots, map_png
from sim.viz.app_model import build_model, model_params
from sim.viz.app_source import AppSource, served_source

with warnings.catch_warnings():
    # Mesa 3.3's own ComponentsView returns before a hook, and Solara's hook checker
    # warns about it when the module is imported (fixed in Mesa 3.5); not our code.
    warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView: `use_state` found despite",
                            category=UserWarning)
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import force_update, update_counter

TITLE = "Patrols around al-Malikiyah (Derik)"
#: Steps of the time slider, hours.
TIME_STEP_H = 0.25

#: Every slider shows its value (Vuetify shows it only while dragging), with room above
#: for it; the map and plots fill their boxes, and the map wraps above the plots on a
#: narrow screen.
CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-input__slider { padding-top: 30px; }
.patrol-main { width: 100%; }
.patrol-body { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; width: 100%; }
.patrol-map { flex: 1 1 720px; min-width: 0; }
.patrol-plots { flex: 1 1 300px; max-width: 460px; min-width: 0; }
.patrol-map img, .patrol-plots img { width: 100%; height: auto; display: block; }
.patrol-map img { max-height: calc(100vh - 150px); object-fit: contain; }
.time-row { align-items: center; width: 100%; }
.time-row .v-input__slider { flex: 1 1 auto; }
"""


def _clock(model: Any) -> str:
    now, days = model.events.now, model.spec.days
    when = model.spec.start + dt.timedelta(minutes=now)
    day = min(int(now // 1440) + 1, math.ceil(days))  # the horizon is the last day's end
    return f"{when:%d %b %Y %H:%M} (day {day} of {days:g})"


def counter_lines(model: Any) -> list[str]:
    """The live counters, in three lines, from the model's reporters."""
    r = {name: reporter(model) for name, reporter in REPORTERS.items()}
    return [
        f"Simulated time: {_clock(model)}",
        f"Standoffs: {r['standoffs']} ({r['active_standoffs']} under way, "
        f"{r['standoff_hours']:.1f} h) · vehicle-hours of delay: {r['vehicle_hours_delay']:,.1f}",
        f"Trips under way: {r['trips_under_way']} ({r['queued_vehicles']} queued) · "
        f"patrols out: {r['patrols_out']} · helicopters up: {r['helicopters_up']}",
    ]


def source_line(model: Any, source: AppSource) -> str:
    """What the page shows: the scenario and seed, or the run folder replayed."""
    spec = model.spec
    title = f": {spec.title}" if spec.title else ""
    if source.is_replay:
        return (f"Replay of run folder {Path(source.ref).name} — {spec.name}{title}, "
                f"seed {model.seed}, {spec.days:g} days")
    return f"Scenario {spec.name}{title} — seed {model.seed}"


@solara.component
def TimeControls(model: solara.Reactive[Any]) -> None:
    """The time slider (any moment of the run) and the jump to the next standoff."""
    update_counter.get()  # re-run on every step, as the model moves in place
    note = solara.use_reactive("")

    def show(new: Any) -> None:
        if new is model.value:
            force_update()
        else:
            model.value = new

    def on_time(*args: Any) -> None:  # Vuetify's "change": on release or a key, not while dragging
        note.set("")
        show(model.value.seek(float(args[-1]) * 60.0))

    def on_next() -> None:
        when = model.value.next_standoff_min()
        note.set("" if when is not None else "No later standoff between forces in this run.")
        if when is not None:
            show(model.value.seek(when))

    m = model.value
    with solara.Row(classes=["time-row"]):
        slider = solara.v.Slider(v_model=m.events.now / 60.0, min=0, max=m.horizon_min / 60.0,
                                 step=TIME_STEP_H, thumb_label="always", hide_details=True,
                                 label="Hours from the start", class_="time-slider")
        solara.v.use_event(slider, "change", on_time)
        solara.Button("Next standoff", color="primary", outlined=True, on_click=on_next,
                      classes=["next-standoff"])
    if note.value:
        solara.Info(note.value, dense=True)


@solara.component
def MainView(model: solara.Reactive[Any], source: AppSource) -> None:
    """What is shown, counters, time controls, map and plots (re-run on every step)."""
    update_counter.get()
    m = model.value
    with solara.Column(gap="4px", classes=["patrol-main"]):
        solara.Text(source_line(m, source), classes=["source-line"],
                    style={"font-size": "15px", "font-weight": "500"})
        with solara.Column(gap="0px", classes=["counter-text"]):
            for line in counter_lines(m):
                solara.Text(line, style={"font-size": "13px", "line-height": "18px"})
        TimeControls(model)
        with solara.Div(classes=["patrol-body"]):
            with solara.Div(classes=["patrol-map"]):
                solara.Image(map_png(m), format="png", classes=["patrol-map-image"])
            with solara.Div(classes=["patrol-plots"]):
                solara.FigureMatplotlib(draw_plots(m), format="png", dpi=PLOT_DPI)


def open_source() -> tuple[AppSource, dict[str, Any], Any] | str:
    """The served source, its SolaraViz parameters and its first model; or what is wrong."""
    try:
        source = served_source()
        return source, model_params(source), build_model(source)
    except InputError as exc:
        return f"Cannot serve this: {exc}"


@solara.component
def Page() -> None:
    """The app: one model per browser session, built when the session opens."""
    solara.Style(CSS)
    opened = solara.use_memo(open_source, [])
    model = solara.use_reactive(None if isinstance(opened, str) else opened[2])
    if isinstance(opened, str):
        solara.Error(opened)
    else:
        source, params, _ = opened
        # No components for SolaraViz's own grid (one "Page 0" tab of 390 px cells): it
        # draws the sidebar, and MainView the page.
        SolaraViz(model, components=[], model_params=params, name=TITLE, play_interval=150)
        MainView(model, source)
