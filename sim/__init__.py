"""Agent-based simulation of patrol encounters around al-Malikiyah (Derik), north-east Syria.

>>> import sim
>>> result = sim.run("derik-june-2020", seed=7, days=30)   # doctest: +SKIP
>>> result.standoffs, result.trips, result.missions, result.summary  # doctest: +SKIP
>>> table = sim.sweep("scenarios/sweeps/blocking-vs-frequency.toml", workers=2)  # doctest: +SKIP
>>> sim.plot.standoff_map(result)                          # doctest: +SKIP
>>> sim.patterns("derik-june-2020", replicates=40)          # doctest: +SKIP
>>> sim.calibrate("scenarios/calibration/derik-2020.toml")  # doctest: +SKIP

The package is layered; the folders show it:

* ``sim.core``: event queue, road network, occupancy, encounters, traffic, the model;
* ``sim.agents``: patrols, blocking positions, helicopters, villagers, civilian vehicles;
* ``sim.scenario``: the schema, reading files and overrides, binding to a network;
* ``sim.io``: networks from files, run results and their summary, sweep folders, GeoJSON;
* ``sim.experiments``: sweeps, designs, executors, statistics, sensitivity analysis;
* ``sim.viz``: maps, charts, animation and the app.
"""

from typing import Any

from sim.errors import InputError, ScenarioError, SetupError

#: Public names, resolved on first use: ``import sim`` stays quick, and importing one layer
#: (a sweep worker runs only models) does not load the others.
_LAZY = {
    "run": ("sim.api", "run"),
    "PatrolModel": ("sim.core.model", "PatrolModel"),
    "RoadNetwork": ("sim.core.network", "RoadNetwork"),
    "RunResult": ("sim.io.results", "RunResult"),
    "DEFAULT_SCENARIO": ("sim.scenario.loading", "DEFAULT_SCENARIO"),
    "ScenarioSpec": ("sim.scenario.schema", "ScenarioSpec"),
    "load_scenario": ("sim.scenario.loading", "load_scenario"),
    "sweep": ("sim.experiments.runner", "sweep"),
    "read_sweep": ("sim.io.sweep_folder", "read_sweep"),
    "patterns": ("sim.experiments.patterns", "patterns"),
    "calibrate": ("sim.experiments.calibration", "calibrate"),
    "compare": ("sim.experiments.compare", "compare"),
    "observations": ("sim.experiments.observations", "observations_table"),
    "analyze": ("sim.experiments.analyze", None),
    "ema": ("sim.experiments.ema", None),
    "plot": ("sim.viz.run_figures", None),
    "sweepplot": ("sim.viz.sweep_figures", None),
}

__all__ = ["DEFAULT_SCENARIO", "InputError", "PatrolModel", "RoadNetwork", "RunResult",
           "ScenarioError", "ScenarioSpec", "SetupError", "analyze", "calibrate", "compare", "ema",
           "load_scenario", "observations", "patterns", "plot", "read_sweep", "run", "sweep",
           "sweepplot"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
