"""Run results: the logs as DataFrames, the summary, provenance, and atomic writing.

A run folder holds ``standoffs.parquet``, ``trips.parquet``, ``missions.parquet``,
``timeseries.parquet`` (``--csv`` adds ``.csv`` copies) and ``run.json`` with the
summary and how the run was made. It is written to a hidden temporary folder
beside the target and renamed into place only when complete, so an interrupted
run never leaves a folder that looks whole.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.core.network import RoadNetwork
from sim.errors import InputError
from sim.io.atomic import atomic_folder, json_text
from sim.io.summary import Logs, summarise
from sim.scenario.schema import ScenarioSpec, canonical_json

if TYPE_CHECKING:
    from sim.core.model import PatrolModel

LOGS = ("standoffs", "trips", "missions", "timeseries")
STANDOFF_COLUMNS = [
    "standoff_id", "kind", "start", "end", "duration_h", "place", "at_place", "lat", "lon",
    "road", "force_a", "force_b", "vehicles_a", "vehicles_b", "helicopters", "helicopters_a",
    "helicopters_b", "helicopters_called", "helicopters_escort", "blocked_by", "outcome",
    "prevailed", "yielded", "mission_a", "mission_b", "vehicles_delayed", "delay_vehicle_h",
]
TRIP_COLUMNS = [
    "trip_id", "vehicle_id", "origin", "destination", "depart", "arrive", "free_flow_min",
    "actual_min", "delay_min", "cause", "rerouted",
]
MISSION_COLUMNS = [
    "mission_id", "mission", "kind", "force", "base", "target", "vehicles", "depart", "reached",
    "end", "outcome", "n_standoffs", "rerouted",
]

#: Column types of the logs built from Python rows (the rest are text; times are minutes
#: until converted to datetimes).
STANDOFF_TYPES = dict.fromkeys(
    ("vehicles_a", "vehicles_b", "helicopters", "helicopters_a", "helicopters_b",
     "helicopters_called", "helicopters_escort", "vehicles_delayed"), "int64") | dict.fromkeys(
    ("start", "end", "duration_h", "lat", "lon", "delay_vehicle_h"), "float64") | {
    "at_place": "bool"}
MISSION_TYPES = {"vehicles": "int64", "n_standoffs": "int64", "rerouted": "bool",
                 "depart": "float64", "reached": "float64", "end": "float64"}


def _typed_frame(rows: list[tuple], columns: list[str], types: dict[str, str]) -> pd.DataFrame:
    """A frame from row tuples, each column built once with its type (text inferred)."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({name: np.array(column, dtype=types[name]) if name in types
                         else pd.array(column, dtype="str")
                         for name, column in zip(columns, values, strict=True)})


def versions() -> dict[str, str]:
    """Versions of this package, Mesa, Python and the libraries that shape results."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Looked up once a process: installed versions do not change under a running program."""
    out = {"python": platform.python_version()}
    for dist in ("patrol-sim", "mesa", "numpy", "pandas", "pyarrow", "networkx", "pydantic"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return tuple(out.items())


def _clock(start: dt.datetime, minutes: Any) -> np.ndarray:
    """Simulated datetimes (to the second; NaN gives NaT) from minutes since the start.

    In numpy (``datetime64[us]``, as pandas keeps them): a log's tens of thousands
    of times are converted at array speed.
    """
    minutes = np.asarray(minutes, dtype="float64")
    missing = np.isnan(minutes)
    if missing.any():
        minutes = np.where(missing, 0.0, minutes)
    micros = np.round(minutes * 60.0).astype(np.int64) * 1_000_000
    micros[missing] = np.iinfo(np.int64).min  # NaT
    return np.datetime64(start, "us") + micros.view("m8[us]")


def standoff_frame(model: PatrolModel) -> pd.DataFrame:
    """One row per standoff (ongoing ones at the horizon have ``outcome = "ongoing"``)."""
    traffic, now = model.traffic, model.events.now
    rows = []
    for s in model.encounters.standoffs:
        a, b = s.parties
        ended = s.end == s.end
        end = s.end if ended else now
        heli = (s.helicopters_overhead(0, end), s.helicopters_overhead(1, end))
        blocked = [p.force for p, blocks in zip(s.parties, s.blocks, strict=True) if blocks]
        rows.append((
            s.standoff_id, s.kind, s.start, s.end, (end - s.start) / 60.0, s.place, s.at_place,
            s.lat, s.lon, s.road, a.force, b.force, a.vehicles, b.vehicles, heli[0] + heli[1],
            heli[0], heli[1],
            len(s.helicopters[0]) + len(s.helicopters[1]) - s.n_escorts, s.n_escorts,
            ",".join(blocked),
            s.outcome if ended else "ongoing", s.prevailed, s.yielded,
            a.sortie_id, b.sortie_id, traffic.vehicles_by_cause.get(s.standoff_id, 0),
            traffic.delay_by_cause.get(s.standoff_id, 0.0) / 60.0,
        ))
    frame = _typed_frame(rows, STANDOFF_COLUMNS, STANDOFF_TYPES)
    for column in ("start", "end"):
        frame[column] = _clock(model.spec.start, frame[column])
    return frame


def trip_frame(model: PatrolModel) -> pd.DataFrame:
    """One row per completed civilian trip."""
    columns = model.traffic.log.columns(names=model.network.place_id, coded=True)
    for name in ("origin", "destination", "cause"):  # a few distinct names: take, not convert
        labels, codes = columns[name]
        columns[name] = pd.array(labels, dtype="str").take(codes)
    # fresh arrays, each its own column: copy=False spares pandas a copy of every number
    frame = pd.DataFrame({name: columns[name] for name in TRIP_COLUMNS}, copy=False)
    for column in ("depart", "arrive"):
        frame[column] = _clock(model.spec.start, frame[column])
    return frame


def mission_outcome(patrol: Any) -> str:
    """``turned_back``, ``reached`` (its target) or ``unfinished`` (neither, at the horizon)."""
    if patrol.turned_back:
        return "turned_back"
    return "reached" if patrol.reached_at == patrol.reached_at else "unfinished"


def mission_frame(model: PatrolModel) -> pd.DataFrame:
    """One row per patrol sortie, blocking positions included."""
    place = model.network.place_id
    rows = [(p.sortie_id, p.mission, p.kind, p.force, place(p.base), place(p.target), p.vehicles,
             p.depart, p.reached_at, p.end, mission_outcome(p), p.n_standoffs, p.rerouted)
            for p in model.sorties.all]
    frame = _typed_frame(rows, MISSION_COLUMNS, MISSION_TYPES)
    for column in ("depart", "reached", "end"):
        frame[column] = _clock(model.spec.start, frame[column])
    return frame


def timeseries_frame(model: PatrolModel) -> pd.DataFrame:
    """The DataCollector's model variables, with simulated time as the first column."""
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    frame.insert(0, "time", _clock(model.spec.start, frame["time_min"]))
    return frame


def provenance(model: PatrolModel) -> dict[str, Any]:
    """How a run was made: scenario (content and hash), overrides, seed, versions, host."""
    spec = model.spec
    return {
        "scenario": spec.name,
        "scenario_ref": model.scenario_ref,
        "scenario_file": model.scenario_path.name if model.scenario_path else None,
        "scenario_sha256": spec.content_hash(),
        "scenario_content": json.loads(canonical_json(spec)),
        "overrides": {k: v for k, v in model.overrides.items()},
        "seed": model.seed,
        "days": spec.days,
        "network": model.network.summary(),
        "versions": versions(),
        "platform": platform.platform(),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) if sys.argv else "",
    }


def check_out_folder(out: Path, replace: bool = True) -> None:
    """Refuse an output path that would lose something if written.

    A path that exists and is not a run folder is never overwritten; an earlier
    run's folder is replaced only when ``replace`` is true.

    Raises
    ------
    InputError
        Naming the path and the fix.
    """
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not out.is_dir() or not (out / "run.json").is_file():
        raise InputError.single(str(out), "--out", "exists and is not a run folder",
                                "choose a new folder or remove it")
    if not replace:
        raise InputError.single(str(out), "--out", "already holds a run",
                                "pass --force to replace it, or choose another --out")


@dataclass
class RunResult:
    """Everything one run produced.

    Attributes
    ----------
    standoffs, trips, missions, timeseries : pandas.DataFrame
        The run's logs (see the README for their columns).
    summary : dict
        Headline figures (standoffs, standoff hours, vehicle-hours of delay, ...).
    provenance : dict
        Scenario content and hash, seed, versions.
    """

    standoffs: pd.DataFrame
    trips: pd.DataFrame
    missions: pd.DataFrame
    timeseries: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    _network: RoadNetwork | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_model(cls, model: PatrolModel) -> RunResult:
        """Collect a finished (or stopped) model's logs."""
        frames = dict(standoffs=standoff_frame(model), trips=trip_frame(model),
                      missions=mission_frame(model), timeseries=timeseries_frame(model))
        blocking_forces = tuple(fid for fid, f in sorted(model.spec.forces.items())
                                if f.blocking is not None and f.posture.deploy_blocking > 0)
        logs = Logs(frames["standoffs"], frames["trips"], frames["missions"], model.spec.days,
                    model.traffic.n_under_way, blocking_forces)
        summary = summarise(logs, model.spec.name, model.seed)
        return cls(**frames, summary=summary, provenance=provenance(model))

    def write(self, out: str | Path, csv: bool = False) -> Path:
        """Write the run folder atomically; an existing run folder at ``out`` is replaced.

        Raises
        ------
        InputError
            If ``out`` exists and is not a run folder (it is never overwritten).
        """
        out = Path(out)
        check_out_folder(out)

        def fill(tmp: Path) -> None:
            for name in LOGS:
                frame = getattr(self, name)
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
                if csv:
                    frame.to_csv(tmp / f"{name}.csv", index=False)
            record = {"summary": self.summary, "provenance": self.provenance}
            (tmp / "run.json").write_text(json_text(record), encoding="utf-8")

        return atomic_folder(out, fill)

    def scenario(self) -> ScenarioSpec:
        """The resolved scenario the run was made from, its network named by absolute path."""
        spec = ScenarioSpec.model_validate(self.provenance["scenario_content"])
        return spec.model_copy(update={"network": self.provenance["network"]["source"]})

    def network(self) -> RoadNetwork:
        """The run's road network, with the scenario's places (built once, then kept)."""
        from sim.scenario.binding import build_network

        if self._network is None:
            self._network = build_network(self.scenario())
        return self._network

    @classmethod
    def read(cls, folder: str | Path) -> RunResult:
        """Read a run folder written by :meth:`write`.

        Raises
        ------
        InputError
            If ``folder`` is not a run folder.
        """
        folder = Path(folder)
        if not (folder / "run.json").is_file():
            raise InputError.single(str(folder), "folder", "is not a run folder (no run.json)",
                                    "give a folder written by `sim run`")
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in LOGS}
        return cls(**frames, summary=record["summary"], provenance=record["provenance"])

    @classmethod
    def coerce(cls, result: RunResult | str | Path) -> RunResult:
        """A RunResult as it is, or read from a run folder."""
        return result if isinstance(result, RunResult) else cls.read(result)
