"""Calibration files: TOML → a validated ``CalibrationSpec`` (scenario, priors, patterns, sizes).

A calibration file names the scenario, the parameters to fit with their priors
(by dotted scenario name), the observed patterns to fit (``calibrate`` rows of the
observations file; held-out rows are refused), the run length, the population size
and the stopping rule. Everything is checked before any run, as for scenarios and
sweeps: one ``InputError`` naming the file, the field and the fix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError, Problem
from sim.experiments.observations import Observation, load_observations
from sim.scenario.bounds import FolderName
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, read_toml, resolve_path
from sim.scenario.validation import problems_from_pydantic


class Prior(BaseModel):
    """A parameter's prior: uniform or log-uniform between ``low`` and ``high``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    prior: Literal["uniform", "loguniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _range(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low = {self.low}, high = {self.high}: need low < high")
        if self.prior == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self


class CalibrationSpec(BaseModel):
    """A whole calibration, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: FolderName
    description: str = ""
    scenario: str = DEFAULT_SCENARIO
    observations: str = ""
    """An observations CSV relative to this file (empty: the shipped record)."""
    days: float = Field(30.0, gt=0, le=366)
    seed: int = Field(0, ge=0)
    population: int = Field(100, ge=2, le=100_000)
    generations: int = Field(6, ge=1, le=100)
    min_epsilon: float = Field(0.0, ge=0)
    """Stop once the tolerance falls to this (0: only the other rules stop it)."""
    min_acceptance_rate: float = Field(0.005, ge=0, le=1)
    """Stop once fewer than this share of simulations are accepted."""
    posterior_draws: int = Field(40, ge=1, le=10_000)
    """Runs of the posterior-predictive check (one posterior draw each)."""
    patterns: tuple[str, ...] = ()
    """Patterns to fit (default: every ``calibrate`` row of the observations)."""
    parameters: dict[str, Prior] = Field(min_length=1)

    def content_hash(self) -> str:
        """SHA-256 of the resolved calibration's canonical JSON."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def observations_path(spec: CalibrationSpec, base_dir: Path) -> Path | None:
    """The observations file a calibration names (None: the shipped record)."""
    if not spec.observations:
        return None
    path = Path(spec.observations)
    return (path if path.is_absolute() else base_dir / path).resolve()


def fitted(spec: CalibrationSpec, observations: list[Observation]) -> list[Observation]:
    """The observations a calibration fits, in file order."""
    wanted = set(spec.patterns)
    return [o for o in observations if (o.pattern in wanted if wanted else o.use == "calibrate")]


def check(spec: CalibrationSpec, path: Path) -> list[Problem]:
    """Problems with the scenario, the parameters' ends and the patterns (empty if none)."""
    problems: list[Problem] = []
    try:
        scenario_path = resolve_path(spec.scenario, relative_to=path.parent)
        load_scenario(scenario_path)
    except InputError as exc:
        return [Problem("scenario", f"= {spec.scenario!r}: {exc}")]
    for name, prior in spec.parameters.items():
        for value in (prior.low, prior.high):
            try:
                load_scenario(scenario_path, {name: value})
            except InputError as exc:
                detail = "; ".join(str(q) for q in exc.problems)
                problems.append(Problem(f"parameters.{name}", f"value {value!r} is not valid: "
                                        f"{detail}"))
                break
    try:
        observations = load_observations(observations_path(spec, path.parent))
    except InputError as exc:
        return [*problems, Problem("observations", f"cannot be used: {exc}")]
    by_name = {o.pattern: o for o in observations}
    for name in spec.patterns:
        if name not in by_name:
            problems.append(Problem("patterns", f"names unknown pattern {name!r}",
                                    f"known: {', '.join(by_name)}"))
        elif by_name[name].use != "calibrate":
            problems.append(Problem("patterns", f"names {name!r}, a held-out pattern",
                                    "held-out patterns are never fitted; choose calibrate rows"))
    if not problems and not fitted(spec, observations):
        problems.append(Problem("patterns", "select nothing to fit",
                                "mark rows use = calibrate, or list them under patterns"))
    return problems


def load_calibration(path: str | Path, **changes: Any) -> tuple[CalibrationSpec, Path]:
    """Read and validate a calibration file; ``changes`` override fields (population, ...).

    Raises
    ------
    InputError
        Listing every problem, before anything runs or is written.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.single(path, "calibration", "does not exist",
                                "give a calibration TOML file (see scenarios/calibration/)")
    raw = read_toml(path)
    raw.update({k: v for k, v in changes.items() if v is not None})
    try:
        spec = CalibrationSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, problems_from_pydantic(exc, CalibrationSpec)) from None
    problems = check(spec, path)
    if problems:
        raise InputError(path, problems)
    return spec, path
