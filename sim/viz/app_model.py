"""The app's models: a scenario with the sliders' values, or a finished run re-simulated.

Both are ordinary :class:`~sim.core.model.PatrolModel` s built from plain keyword
parameters, so SolaraViz can rebuild them on **Reset**. Either can open at the
first standoff between forces, be moved to any moment (``seek``, the page's
time slider) and jump to the next standoff (``next_standoff_min``).
The same scenario and seed give the same history, event for event, whatever
the tick, so going back re-simulates from the start, and a look ahead is a
copy run to the horizon.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from sim.core.model import PatrolModel
from sim.errors import InputError
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, shipped_scenarios
from sim.scenario.schema import ScenarioSpec
from sim.viz.app_source import AppSource, read_run

#: Simulated minutes per Step of the app (the model's ``tick_min``).
STEP_MIN = 30.0
DEFAULT_SEED = 7
AT_FIRST_STANDOFF = "the first standoff between forces"
AT_START = "the start of the run"
OPEN_AT = (AT_FIRST_STANDOFF, AT_START)
#: Each slider: its scenario parameter, label, type, top of its range and step.
SLIDERS = {
    "us_block": ("forces.US.posture.block", "US blocking propensity", "SliderFloat", 1.0,
                 0.01),
    "ru_derik_per_day": ("missions.ru_derik.per_day", "Russian Derik patrols per day",
                         "SliderFloat", 3.0, 0.05),
    "trips_per_day": ("civilians.trips_per_day", "Civilian trips per day", "SliderInt", 12000,
                      100),
    "villagers_block": ("villagers.*.block", "Villagers' blocking propensity", "SliderFloat",
                        1.0, 0.01),
}


def _parse_seed(seed: int | str | None) -> int | None:
    if not isinstance(seed, str):
        return seed
    text = seed.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InputError.single("app", "seed", f"= {seed!r} must be an integer >= 0", "e.g. 7")
    return int(text)


def slider_values(spec: ScenarioSpec) -> dict[str, float]:
    """A scenario's value of each slider it has (villagers': the first community's)."""
    values: dict[str, float] = {"trips_per_day": spec.civilians.trips_per_day}
    if "US" in spec.forces:
        values["us_block"] = spec.forces["US"].posture.block
    if "ru_derik" in spec.missions:
        values["ru_derik_per_day"] = spec.missions["ru_derik"].per_day
    if spec.villagers:
        values["villagers_block"] = spec.villagers[sorted(spec.villagers)[0]].block
    return values


def _at(value: float, start: float | None, name: str) -> bool:
    """Whether a slider is at its starting value (to within half its step: it rounds)."""
    return start is not None and abs(value - start) < SLIDERS[name][4] / 2


@functools.lru_cache(maxsize=16)
def scenario_spec(ref: str) -> ScenarioSpec:
    """A scenario as written (no overrides), loaded once per process."""
    return load_scenario(ref)[0]


class _Viewed(PatrolModel):
    """A model the app shows: stepped under a lock, rebuilt at its start, looked ahead."""

    step_min: float

    def _open(self, open_at: str) -> None:
        if open_at not in OPEN_AT:
            raise InputError.single("app", "open_at", f"= {open_at!r} is not a choice",
                                    " or ".join(repr(c) for c in OPEN_AT))
        self._app_lock = threading.RLock()  # Play steps in a thread; the page seeks in another
        self._app_openings: list[float] | None = None
        if open_at == AT_FIRST_STANDOFF:
            first = self.next_standoff_min()
            if first is not None:
                self.seek(first)

    def step(self) -> None:
        """Advance one tick (``step_min`` minutes), as :meth:`PatrolModel.step`."""
        with self._app_lock:
            super().step()

    def restarted(self) -> _Viewed:
        """The same run again, at its start (same parameters, same seed)."""
        raise NotImplementedError

    def standoff_openings(self) -> list[float]:
        """When each standoff between forces of this run begins, minutes (a look ahead).

        A copy of the model is run to the horizon once, and the times are kept.
        """
        if self._app_openings is None:
            copy = self.restarted()
            opened: list[float] = []

            def record(standoff: Any) -> None:
                if standoff.kind != "villagers":
                    opened.append(copy.events.now)

            copy.encounters.on_standoff.append(record)
            copy.events.run_until(copy.horizon_min)
            self._app_openings = opened
        return self._app_openings

    def next_standoff_min(self) -> float | None:
        """When the next standoff between forces after now begins (None: no more)."""
        now = self.events.now
        return next((t for t in self.standoff_openings() if t > now + 1e-9), None)

    def seek(self, minute: float) -> _Viewed:
        """The run at ``minute`` (clipped to the run): this model moved on, or a new one.

        Going forward steps this model (every tick is collected) and runs the last
        part of a tick; going back starts the same run again and steps it forward.
        """
        minute = min(max(float(minute), 0.0), self.horizon_min)
        model = self
        if minute < self.events.now - 1e-9:
            model = self.restarted()
            model._app_openings = self._app_openings
        with model._app_lock:
            while model.running and model.events.now + model.step_min <= minute + 1e-9:
                model.step()
            if model.events.now < minute - 1e-9:
                model.events.run_until(minute)
                model.datacollector.collect(model)
                if model.events.now >= model.horizon_min:
                    model.running = False
        return model


class AppModel(_Viewed):
    """A scenario with the app's sliders as plain keyword parameters.

    A slider left at its starting value (``sliders_from``'s value, to within half
    the slider's step) keeps the chosen scenario's own value, so picking another
    scenario without moving a slider runs that scenario as it is; a slider whose
    parameter the chosen scenario lacks is ignored.

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
    scenario_ref : str
        A shipped scenario's name or a scenario file.
    sliders_from : str, optional
        The scenario whose values the sliders started at (default ``scenario_ref``).
    open_at : str
        One of :data:`OPEN_AT`: where the run opens.
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
                 scenario_ref: str = DEFAULT_SCENARIO, sliders_from: str | None = None,
                 open_at: str = AT_START, days: float | None = None,
                 step_min: float = STEP_MIN, seed: int | str | None = None,
                 rng: int | None = None) -> None:
        chosen = slider_values(scenario_spec(scenario_ref))
        start = slider_values(scenario_spec(sliders_from or scenario_ref))
        overrides: dict[str, Any] = {"tick_min": step_min}
        moved = {"us_block": us_block, "ru_derik_per_day": ru_derik_per_day,
                 "trips_per_day": trips_per_day, "villagers_block": villagers_block}
        for name, value in moved.items():
            if value is None or name not in chosen or _at(value, start.get(name), name):
                continue
            if name == "villagers_block":
                overrides.update({f"villagers.{vid}.block": value
                                  for vid in sorted(scenario_spec(scenario_ref).villagers)})
            else:
                overrides[SLIDERS[name][0]] = value
        super().__init__(scenario_ref, rng=rng, seed=_parse_seed(seed), days=days,
                         **overrides)
        self.us_block, self.ru_derik_per_day = us_block, ru_derik_per_day
        self.trips_per_day, self.villagers_block = trips_per_day, villagers_block
        self.sliders_from, self.open_at = sliders_from, open_at
        self.days, self.step_min = days, step_min
        self._open(open_at)

    def restarted(self) -> AppModel:
        """The same scenario, sliders and seed, at the start."""
        return AppModel(self.us_block, self.ru_derik_per_day, self.trips_per_day,
                        self.villagers_block, scenario_ref=self.scenario_ref,
                        sliders_from=self.sliders_from, days=self.days,
                        step_min=self.step_min, seed=self.seed)


class ReplayModel(_Viewed):
    """A finished run, simulated again from its ``run.json`` (scenario content and seed).

    Parameters
    ----------
    run_folder : str
        A folder written by ``sim run``.
    open_at : str
        One of :data:`OPEN_AT`: where the replay opens.
    step_min : float
        Simulated minutes per ``step()``.
    """

    def __init__(self, run_folder: str, *, open_at: str = AT_START,
                 step_min: float = STEP_MIN) -> None:
        run = read_run(run_folder)
        spec = run.scenario().model_copy(update={"tick_min": step_min})
        super().__init__(spec, rng=int(run.provenance["seed"]))
        self.run_folder, self.open_at, self.step_min = run_folder, open_at, step_min
        self._open(open_at)

    def restarted(self) -> ReplayModel:
        """The same run, at its start."""
        return ReplayModel(self.run_folder, step_min=self.step_min)


def model_params(source: AppSource) -> dict[str, Any]:
    """SolaraViz's ``model_params`` for a source: a replay's run, or a scenario's sliders.

    A scenario gets a scenario picker (the shipped ones and the served one),
    one slider per parameter it has (starting at its values) and the seed.
    """
    opening = {"type": "Select", "label": "Open at", "value": AT_FIRST_STANDOFF,
               "values": list(OPEN_AT)}
    if source.is_replay:
        return {"run_folder": source.ref, "open_at": opening}
    start = slider_values(scenario_spec(source.ref))
    names = list(shipped_scenarios())
    params: dict[str, Any] = {
        "scenario_ref": {"type": "Select", "label": "Scenario", "value": source.ref,
                         "values": names if source.ref in names else [source.ref, *names]},
        "sliders_from": source.ref,
    }
    for name, (_, label, kind, top, step) in SLIDERS.items():
        if name in start:
            value = int(start[name]) if kind == "SliderInt" else start[name]
            params[name] = {"type": kind, "label": label, "min": 0, "max": max(top, value),
                            "step": step, "value": value}
    params["seed"] = {"type": "InputText", "label": "Seed", "value": DEFAULT_SEED}
    params["open_at"] = opening
    return params


def build_model(source: AppSource) -> _Viewed:
    """The model the page opens with: :func:`model_params`' values, as Mesa would pass them."""
    kwargs = {name: p["value"] if isinstance(p, dict) and "type" in p else p
              for name, p in model_params(source).items()}
    return ReplayModel(**kwargs) if source.is_replay else AppModel(**kwargs)
