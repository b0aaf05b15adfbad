"""Sweep files: TOML → a validated ``SweepSpec`` (base scenario, parameters, design, replicates).

A sweep file names a base scenario, the parameters to vary by their dotted
scenario names (each a ``range = [low, high]`` or a list of ``values``), the
design, the number of replicates and the master seed. Everything is checked
before any run starts: parameters must exist in the scenario, every listed
value and both ends of every range must be valid there, and the design must
have the size it needs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError, Problem
from sim.io.summary import SUMMARY_TYPES
from sim.scenario.bounds import Days, FolderName
from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, read_toml, resolve_path
from sim.scenario.validation import problems_from_pydantic

DESIGNS = ("grid", "lhs", "sobol", "nolh", "saltelli", "morris", "table", "posterior")
SAMPLED = ("lhs", "sobol", "saltelli", "morris", "posterior")  # designs whose size is ``n``


class ParameterSpec(BaseModel):
    """How one scenario parameter varies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    range: tuple[float, float] | None = None
    values: tuple[Any, ...] | None = None
    levels: int | None = Field(None, ge=2)
    """For a ``range`` in a grid: how many evenly spaced levels."""
    integer: bool = False
    """Round sampled values to whole numbers."""

    @model_validator(mode="after")
    def _one_of(self) -> ParameterSpec:
        if (self.range is None) == (self.values is None):
            raise ValueError("give either range = [low, high] or values = [...]")
        if self.range is not None:
            low, high = self.range
            if not low < high:
                raise ValueError(f"range = [{low}, {high}] is empty or reversed: need low < high")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("values = [] is empty: list at least one value")
        return self


class DesignSpec(BaseModel):
    """The experimental design."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal[DESIGNS] = "grid"
    n: int | None = Field(None, ge=1)
    """Points (lhs, sobol, posterior), base sample N (saltelli), or trajectories (morris)."""
    levels: int = Field(4, ge=2)
    """Grid levels for ranges without their own (grid); Morris levels (morris)."""
    second_order: bool = False
    """Saltelli: also estimate second-order Sobol indices."""
    table: str | None = None
    """A CSV of points (table), relative to the sweep file; one column per parameter."""
    posterior: str | None = None
    """A calibration folder (posterior): ``n`` parameter sets drawn from its posterior by
    weight; the parameters are the calibrated ones. Relative to the sweep file."""

    @model_validator(mode="after")
    def _size(self) -> DesignSpec:
        if self.kind in SAMPLED and self.n is None:
            raise ValueError(f"a {self.kind} design needs its size: n = ...")
        if self.kind == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"a sobol design needs n a power of 2 (got {self.n}); "
                             "e.g. 64, 128 or 256")
        if self.kind == "table" and not self.table:
            raise ValueError('a table design needs table = "points.csv"')
        if self.kind == "posterior" and not self.posterior:
            raise ValueError('a posterior design needs posterior = "a calibration folder"')
        return self


class SweepSpec(BaseModel):
    """A whole sweep, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: FolderName
    description: str = ""
    scenario: str = DEFAULT_SCENARIO
    days: Days | None = None
    replicates: int = Field(1, ge=1, le=100_000)
    seed: int = Field(0, ge=0)
    common_random_numbers: bool = False
    """Replicate r uses the same seed at every design point (paired comparisons)."""
    ci_share: float = Field(0.1, gt=0)
    """Flag a point's figure when its 95% CI half-width exceeds this share of its mean (or,
    for a mean near zero, of the figure's mean magnitude over all points)."""
    reference_point: int = Field(0, ge=0)
    """With common random numbers, each point is compared with this one, replicate by
    replicate (``F_diff``, ``F_diff_lo``, ``F_diff_hi`` in ``points.parquet``)."""
    design: DesignSpec = DesignSpec()
    parameters: dict[str, ParameterSpec] = {}
    """What varies; for a posterior design, filled in from the posterior."""
    outputs: tuple[str, ...] = ()
    """Summary fields to aggregate per point (default: every one but ``days``)."""

    @model_validator(mode="after")
    def _known_outputs(self) -> SweepSpec:
        unknown = [name for name in self.outputs if name not in SUMMARY_TYPES]
        if unknown:
            close = {name: difflib.get_close_matches(name, list(SUMMARY_TYPES), n=1)
                     for name in unknown}
            hints = [f"{name!r} (did you mean {close[name][0]!r}?)" if close[name]
                     else repr(name) for name in unknown]
            raise ValueError(f"outputs names unknown summary fields: {', '.join(hints)}; "
                             f"known: {', '.join(SUMMARY_TYPES)}")
        return self

    def output_names(self) -> list[str]:
        """The summary fields aggregated per point: ``outputs``, else all but ``days``."""
        return list(self.outputs) or [name for name in SUMMARY_TYPES if name != "days"]

    def salib_problem(self) -> dict:
        """SALib's problem of the parameters given as ranges (names and bounds)."""
        names = [n for n in self.parameters if self.parameters[n].range is not None]
        return {"num_vars": len(names), "names": names,
                "bounds": [list(self.parameters[n].range) for n in names]}

    def content_hash(self) -> str:
        """SHA-256 of the resolved sweep's canonical JSON."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def refusal(scenario: Path, name: str, value: Any) -> str | None:
    """Why the scenario refuses ``name = value`` (its problems, joined), or None if it takes it."""
    try:
        load_scenario(scenario, {name: value})
    except InputError as exc:
        return "; ".join(str(q) for q in exc.problems)
    return None


def check_parameters(spec: SweepSpec, source: str, base_dir: Path | None) -> list[Problem]:
    """Problems with the parameters against the base scenario (names, values, range ends)."""
    problems: list[Problem] = []
    try:
        scenario_path = resolve_path(spec.scenario, relative_to=base_dir)
        load_scenario(scenario_path)
    except InputError as exc:
        return [Problem("scenario", f"= {spec.scenario!r}: {exc}")]
    for name, p in spec.parameters.items():
        field = f"parameters.{name}"
        if name in ("seed", "rng"):
            problems.append(Problem(field, "cannot be swept", "seeds come from the master seed"))
            continue
        candidates = list(p.values) if p.values is not None else list(p.range)
        for value in candidates:
            if (why := refusal(scenario_path, name, value)) is not None:
                problems.append(Problem(field, f"value {value!r} is not valid: {why}"))
                break
        if spec.design.kind not in ("grid", "table") and p.values is not None and len(
                p.values) > 1:
            problems.append(Problem(field, f"has values, but a {spec.design.kind} design samples "
                                    "ranges", "give range = [low, high]"))
    if spec.design.kind == "grid":
        for name, p in spec.parameters.items():
            if p.range is not None and p.levels is None and spec.design.levels < 2:
                problems.append(Problem(f"parameters.{name}", "needs levels for a grid"))
    return problems


def load_sweep(path: str | Path, **changes: Any) -> tuple[SweepSpec, Path]:
    """Read and validate a sweep file; ``changes`` override top-level fields (e.g. replicates).

    ``sample`` sets the design size: ``design.n`` for sampled designs, the number
    of levels of every range for a grid.

    Raises
    ------
    InputError
        Listing every problem, before anything runs or is written.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.single(path, "sweep", "does not exist", "give a sweep TOML file")
    raw = read_toml(path)
    sample = changes.pop("sample", None)
    raw.update({k: v for k, v in changes.items() if v is not None})
    if sample is not None:
        design = dict(raw.get("design", {}))
        if design.get("kind", "grid") == "grid":
            design["levels"] = sample
            raw["parameters"] = {name: {k: v for k, v in p.items() if k != "levels"}
                                 if isinstance(p, dict) else p
                                 for name, p in raw.get("parameters", {}).items()}
        else:
            design["n"] = sample
        raw["design"] = design
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError(path, problems_from_pydantic(exc, SweepSpec)) from None
    if spec.design.kind == "posterior":
        spec = with_posterior_parameters(spec, path)
    elif not spec.parameters:
        raise InputError.single(path, "parameters", "is empty", "name at least one parameter")
    problems = check_parameters(spec, str(path), path.parent)
    problems += design_problems(spec)
    if problems:
        raise InputError(path, problems)
    return spec, path


#: The most runs one sweep may hold (points × replicates): beyond it the design itself
#: would not fit in memory, let alone the runs in any reasonable time.
MAX_RUNS = 1_000_000

#: Design kinds that sample ranges (a parameter with one value stays constant).
RANGED = ("lhs", "sobol", "nolh", "saltelli", "morris")


def design_points(spec: SweepSpec) -> int | None:
    """How many points the design will have, computed without making it (None: unknown)."""
    ranged = sum(p.range is not None for p in spec.parameters.values())
    n = spec.design.n or 0
    if spec.design.kind == "grid":
        return math.prod(len(p.values) if p.values is not None else (
            p.levels or spec.design.levels) for p in spec.parameters.values())
    if spec.design.kind in ("lhs", "sobol", "posterior"):
        return n
    if spec.design.kind == "saltelli":
        return n * ((2 * ranged + 2) if spec.design.second_order else (ranged + 2))
    if spec.design.kind == "morris":
        return n * (ranged + 1)
    return None  # nolh (at most 257 points) and table (checked when read)


def design_problems(spec: SweepSpec) -> list[Problem]:
    """Problems with the design as a whole: nothing to vary, or too many runs."""
    problems = []
    if spec.design.kind in RANGED and not any(
            p.range is not None for p in spec.parameters.values()):
        problems.append(Problem("parameters", f"has no range: a {spec.design.kind} design "
                                "samples ranges", "give at least one parameter range = "
                                "[low, high]"))
    points = design_points(spec)
    if points is not None and points * spec.replicates > MAX_RUNS:
        problems.append(Problem("design", f"would make {points:,} points x "
                                f"{spec.replicates} replicates = "
                                f"{points * spec.replicates:,} runs (at most {MAX_RUNS:,})",
                                "lower design.n, the levels or the replicates"))
    return problems


def table_file(spec: SweepSpec, base_dir: Path | None) -> Path:
    """The CSV a table design names, relative to the sweep file."""
    path = Path(spec.design.table)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def scenario_chain(path: Path) -> list[Path]:
    """A scenario file and every file its ``extends`` chain reads, child first."""
    chain = [path.resolve()]
    while True:
        parent = read_toml(chain[-1]).get("extends")
        if not isinstance(parent, str):
            return chain
        nxt = resolve_path(parent, relative_to=chain[-1].parent)
        if nxt in chain:  # a cycle, which loading the scenario reports
            return chain
        chain.append(nxt)


def _file_record(path: Path) -> dict[str, str]:
    return {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def sweep_inputs(spec: SweepSpec, base_dir: Path | None) -> dict[str, Any]:
    """What a sweep's runs read besides the sweep file, each with its SHA-256.

    ``scenario``: the resolved base scenario (its ``extends`` chain merged) as
    JSON, its hash, and each file of the chain; ``network``: a network file it
    names; ``design table`` or ``design posterior``: the file a design reads.
    A resumed sweep must find them all unchanged.
    """
    from sim.core.network import BUILTIN
    from sim.scenario.binding import network_path
    from sim.scenario.schema import canonical_json

    path = resolve_path(spec.scenario, relative_to=base_dir)
    scenario, _ = load_scenario(path)
    inputs: dict[str, Any] = {"scenario": {
        "sha256": scenario.content_hash(), "resolved": json.loads(canonical_json(scenario)),
        "files": [_file_record(f) for f in scenario_chain(path)]}}
    network = network_path(scenario, path)
    if network != BUILTIN and Path(network).is_file():
        inputs["network"] = _file_record(Path(network))
    if spec.design.kind == "table" and table_file(spec, base_dir).is_file():
        inputs["design table"] = _file_record(table_file(spec, base_dir))
    if spec.design.kind == "posterior":
        posterior = posterior_folder(spec, base_dir or Path()) / "posterior.parquet"
        if posterior.is_file():
            inputs["design posterior"] = _file_record(posterior)
    return inputs


def posterior_folder(spec: SweepSpec, base_dir: Path) -> Path:
    """The calibration folder a posterior design names, relative to the sweep file."""
    folder = Path(spec.design.posterior)
    return folder if folder.is_absolute() else base_dir / folder


def with_posterior_parameters(spec: SweepSpec, path: Path) -> SweepSpec:
    """A posterior design's parameters: the calibrated ones, each over its posterior's range.

    Raises
    ------
    InputError
        If the folder is not a finished calibration, or the sweep lists other parameters.
    """
    from sim.io.calibration_folder import read_calibration

    manifest, posterior, _ = read_calibration(posterior_folder(spec, path.parent))
    names = list(manifest["spec"]["parameters"])
    if spec.parameters and set(spec.parameters) != set(names):
        raise InputError.single(path, "parameters", f"= {sorted(spec.parameters)} are not the "
                                f"calibrated ones ({', '.join(names)})",
                                "leave [parameters] out of a posterior design")
    found = {}
    for name in names:
        low, high = float(posterior[name].min()), float(posterior[name].max())
        found[name] = ParameterSpec(range=(low, high)) if low < high else ParameterSpec(
            values=(low,))
    return spec.model_copy(update={"parameters": found})
