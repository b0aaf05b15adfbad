"""What the app serves: a scenario (a shipped name or a file) or a finished run to replay.

``sim app SOURCE`` checks ``SOURCE`` here, before the server starts, and hands
it to the server's process in the environment variable :data:`SOURCE_ENV`; the
page reads it back with :func:`served_source`. Without one the app serves the
baseline scenario.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.io.results import RunResult
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, shipped_scenarios

#: The environment variable naming what the app's server serves.
SOURCE_ENV = "PATROL_SIM_APP_SOURCE"


@dataclass(frozen=True, slots=True)
class AppSource:
    """A scenario to simulate live, or a run folder to replay.

    Attributes
    ----------
    kind : str
        ``"scenario"`` or ``"run"``.
    ref : str
        A shipped scenario's name, or the absolute path of a scenario file or a
        run folder.
    """

    kind: str
    ref: str

    @property
    def is_replay(self) -> bool:
        """Whether this is a finished run to replay (no sliders: the run is fixed)."""
        return self.kind == "run"


def resolve_source(text: str | None) -> AppSource:
    """The source ``text`` names: a run folder, a scenario file or a shipped scenario's name.

    Parameters
    ----------
    text : str, optional
        What the user gave; empty or ``None`` means the baseline scenario.

    Raises
    ------
    InputError
        If ``text`` is a folder without ``run.json``, or names no valid scenario
        (the scenario's own problems are listed).
    """
    if not text or not text.strip():
        return AppSource("scenario", DEFAULT_SCENARIO)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "run.json").is_file():
            raise InputError.single(text, "source", "is a folder but not a run folder "
                                    "(no run.json)", "give a folder written by `sim run`, a "
                                    "scenario file or a shipped scenario's name")
        folder = str(path.resolve())
        run_scenario(folder)  # a run whose scenario no longer validates is refused now
        return AppSource("run", folder)
    _, file = load_scenario(text)
    return AppSource("scenario", text if text in shipped_scenarios() else str(file))


def served_source() -> AppSource:
    """The source named by :data:`SOURCE_ENV` (the baseline scenario if it is unset)."""
    return resolve_source(os.environ.get(SOURCE_ENV))


@functools.lru_cache(maxsize=8)
def read_run(folder: str) -> RunResult:
    """A run folder, read once per process (the app rebuilds its replay on every Reset)."""
    return RunResult.read(folder)


def run_scenario(folder: str) -> tuple[str, int]:
    """A run folder's scenario name and seed (checking that its scenario still validates)."""
    run = read_run(folder)
    return run.scenario().name, int(run.provenance["seed"])
