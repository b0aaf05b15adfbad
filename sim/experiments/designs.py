"""Sweep designs (a registry: one sampler per design kind) and run seeds.

Each design turns a ``SweepSpec`` into a table of points, one column per
parameter: a full factorial ``grid``; Latin hypercube (``lhs``) and scrambled
Sobol (``sobol``) samples from ``scipy.stats.qmc``; the nearly orthogonal Latin
hypercube of Cioppa and Lucas (``nolh``); Saltelli (``saltelli``) and Morris
(``morris``) samples from SALib, in the order SALib's analyses expect; an
explicit CSV ``table``; or draws from a calibration's ``posterior``, so that a
comparison can be repeated over what is not known about the parameters. Random
designs draw from the sweep's master seed.

Run seeds are spawned from the master seed with ``numpy.random.SeedSequence``
and recorded as integers, so any run can be re-run alone from its row.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import InputError, Problem
from sim.experiments.spec import MAX_RUNS, SweepSpec, refusal, table_file

DESIGN_KEY = 0  # SeedSequence spawn key of the design's randomness; runs use (1, k)


def run_seed(master: int, run_id: int, replicate: int, common_random_numbers: bool) -> int:
    """The seed of one run: spawned from the master by replicate (CRN) or by run id."""
    key = replicate if common_random_numbers else run_id
    state = np.random.SeedSequence(master, spawn_key=(1, key)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))  # 63 bits: a non-negative int64


def design_seed(master: int) -> int:
    """The seed the design's own sampling uses."""
    state = np.random.SeedSequence(master, spawn_key=(DESIGN_KEY,)).generate_state(1, np.uint32)
    return int(state[0])


def nolh_matrix(m: int) -> np.ndarray:
    """The orthogonal Latin hypercube of Cioppa and Lucas (2007) for ``2**m + 1`` runs.

    It has ``m + (m - 1)(m - 2) / 2`` columns (7 for 17 runs, 11 for 33, 16 for 65,
    22 for 129, 29 for 257: the sizes of the NOLH designs used in data farming), each a
    permutation of the levels ``-2**(m-1) .. 2**(m-1)``, and zero correlation between
    columns. Built from the permutation matrices ``A_k`` (Kronecker products of the
    identity ``I`` and the swap ``R``), the column ``e = (1 .. 2**(m-1))`` and sign
    vectors ``a_k``: columns ``e``, ``A_k e`` and ``A_j A_k e`` (j < k), signed by
    ``1``, ``a_k`` and ``a_j * a_k``, then mirrored about a centre run.
    """
    if m < 2:
        raise ValueError("m must be at least 2")
    eye, swap = np.eye(2, dtype=int), np.array([[0, 1], [1, 0]])
    plus, minus = np.ones(2, dtype=int), np.array([-1, 1])

    def kron(factors: list[np.ndarray]) -> np.ndarray:
        return reduce(np.kron, factors)

    q = 2 ** (m - 1)
    e = np.arange(1, q + 1)
    perm = {k: kron([eye] * (m - 1 - k) + [swap] * k) for k in range(1, m)}
    sign = {k: kron([minus if i == m - k else plus for i in range(1, m)]) for k in range(1, m)}
    columns, signs = [e], [np.ones(q, dtype=int)]
    for k in range(1, m):
        columns.append(perm[k] @ e)
        signs.append(sign[k])
    for j, k in itertools.combinations(range(1, m), 2):
        columns.append(perm[j] @ perm[k] @ e)
        signs.append(sign[j] * sign[k])
    half = np.column_stack(columns) * np.column_stack(signs)
    return np.vstack([half, np.zeros((1, half.shape[1]), dtype=int), -half])


def nolh_unit(n_factors: int, min_runs: int = 0) -> np.ndarray:
    """The smallest Cioppa–Lucas design with enough columns (and runs), scaled to [0, 1]."""
    m = 2
    while m + (m - 1) * (m - 2) // 2 < n_factors or 2**m + 1 < min_runs:
        m += 1
    matrix = nolh_matrix(m)[:, :n_factors]
    half = 2 ** (m - 1)
    return (matrix + half) / (2 * half)


def _levels(spec: SweepSpec, name: str) -> list:
    p = spec.parameters[name]
    if p.values is not None:
        return list(p.values)
    level = np.linspace(*p.range, p.levels or spec.design.levels)
    return sorted({round(float(v)) for v in level}) if p.integer else [float(v) for v in level]


def grid_points(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
    """Full factorial: every combination of every parameter's values or range levels."""
    names = list(spec.parameters)
    return pd.DataFrame(list(itertools.product(*(_levels(spec, n) for n in names))),
                        columns=names)


def table_points(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
    """The rows of a CSV file (see :func:`read_table`)."""
    return read_table(spec, base_dir)


def posterior_points(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
    """``n`` parameter sets drawn by weight (with replacement) from a calibration's posterior."""
    from sim.experiments.spec import posterior_folder
    from sim.io.calibration_folder import read_calibration

    _, posterior, _ = read_calibration(posterior_folder(spec, base_dir or Path(".")))
    weights = posterior["weight"].to_numpy(dtype=float)
    rng = np.random.default_rng(design_seed(spec.seed))
    rows = rng.choice(len(posterior), size=spec.design.n, p=weights / weights.sum())
    return posterior.iloc[rows][list(spec.parameters)].reset_index(drop=True)


def _scale(spec: SweepSpec, varied: list[str], unit: np.ndarray) -> np.ndarray:
    low = np.array([spec.parameters[n].range[0] for n in varied])
    high = np.array([spec.parameters[n].range[1] for n in varied])
    return low + unit * (high - low)


def lhs_points(spec: SweepSpec, varied: list[str]) -> np.ndarray:
    """Latin hypercube of ``n`` points (``scipy.stats.qmc``)."""
    unit = qmc.LatinHypercube(len(varied), seed=design_seed(spec.seed)).random(spec.design.n)
    return _scale(spec, varied, unit)


def sobol_points(spec: SweepSpec, varied: list[str]) -> np.ndarray:
    """Scrambled Sobol sequence of ``n`` (a power of 2) points (``scipy.stats.qmc``)."""
    sampler = qmc.Sobol(len(varied), scramble=True, seed=design_seed(spec.seed))
    return _scale(spec, varied, sampler.random_base2(int(math.log2(spec.design.n))))


def nolh_points(spec: SweepSpec, varied: list[str]) -> np.ndarray:
    """The smallest Cioppa–Lucas nearly orthogonal Latin hypercube that fits."""
    return _scale(spec, varied, nolh_unit(len(varied), spec.design.n or 0))


def saltelli_points(spec: SweepSpec, varied: list[str]) -> np.ndarray:
    """Saltelli's sample for Sobol indices (SALib), in the order its analysis expects."""
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(spec.salib_problem(), spec.design.n,
                               calc_second_order=spec.design.second_order, scramble=True,
                               seed=design_seed(spec.seed))


def morris_points(spec: SweepSpec, varied: list[str]) -> np.ndarray:
    """Morris trajectories (SALib), in the order its analysis expects."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(spec.salib_problem(), spec.design.n,
                                num_levels=spec.design.levels, seed=design_seed(spec.seed))


def _sampled(draw: Callable[[SweepSpec, list[str]], np.ndarray]) -> Sampler:
    """A sampler over the ranged parameters; parameters with one value stay constant."""

    def points(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
        names = list(spec.parameters)
        varied = [n for n in names if spec.parameters[n].range is not None]
        frame = pd.DataFrame(draw(spec, varied), columns=varied)
        for name in varied:
            if spec.parameters[name].integer:
                frame[name] = frame[name].round().astype("int64")
        for name in names:
            if name not in varied:
                frame[name] = spec.parameters[name].values[0]
        return frame[names]

    points.__doc__ = draw.__doc__
    return points


#: Makes a design's points: (spec, folder of the sweep file) -> one column per parameter.
Sampler = Callable[[SweepSpec, Path | None], pd.DataFrame]

#: One sampler per design kind.
SAMPLERS: dict[str, Sampler] = {
    "grid": grid_points,
    "lhs": _sampled(lhs_points),
    "sobol": _sampled(sobol_points),
    "nolh": _sampled(nolh_points),
    "saltelli": _sampled(saltelli_points),
    "morris": _sampled(morris_points),
    "table": table_points,
    "posterior": posterior_points,
}


def make_design(spec: SweepSpec, base_dir: Path | None = None) -> pd.DataFrame:
    """The design's points: ``point_id`` then one column per parameter, in the spec's order."""
    frame = SAMPLERS[spec.design.kind](spec, base_dir).reset_index(drop=True)
    frame.insert(0, "point_id", np.arange(len(frame), dtype="int64"))
    return frame


def read_table(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
    """An explicit design from CSV; its columns must be exactly the sweep's parameters.

    Every cell must be a finite number the base scenario accepts for its
    parameter: a bad cell is refused here, naming its row, not run and failed.
    """
    path = table_file(spec, base_dir)
    if not path.is_file():
        raise InputError.single(spec.name, "design.table", f"= {str(path)!r} does not exist",
                                "give a CSV file relative to the sweep file")
    try:
        frame = pd.read_csv(path, encoding="utf-8")
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise InputError.single(path, "design.table", f"is not a CSV table ({exc})",
                                "a UTF-8 CSV file: a header of parameter names, a row a "
                                "point") from None
    names = list(spec.parameters)
    missing, extra = set(names) - set(frame.columns), set(frame.columns) - set(names)
    problems = [Problem("design.table", f"lacks column {m!r}") for m in sorted(missing)]
    problems += [Problem("design.table", f"has column {x!r} that is not a parameter",
                         "list it under [parameters] or drop it") for x in sorted(extra)]
    if frame.empty:
        problems.append(Problem("design.table", "has no rows"))
    elif len(frame) * spec.replicates > MAX_RUNS:
        problems.append(Problem("design.table", f"has {len(frame):,} rows: with "
                                f"{spec.replicates} replicates, more than {MAX_RUNS:,} runs"))
    if not problems:
        problems = _cell_problems(spec, frame[names], base_dir)
    if problems:
        raise InputError(path, problems)
    return frame[names].reset_index(drop=True)


def _cell_problems(spec: SweepSpec, frame: pd.DataFrame,
                   base_dir: Path | None) -> list[Problem]:
    """Cells that are not finite numbers, or values the scenario refuses (first of each)."""
    from sim.scenario.loading import resolve_path

    scenario = resolve_path(spec.scenario, relative_to=base_dir)
    problems = []
    for name in frame.columns:
        numbers = pd.to_numeric(frame[name], errors="coerce")
        bad = frame.index[~np.isfinite(numbers.to_numpy(dtype=float))]
        if len(bad):
            row = int(bad[0])
            problems.append(Problem(f"design.table row {row + 2}, column {name}",
                                    f"= {frame[name].iloc[row]!r} is not a finite number",
                                    f"{len(bad)} such cells in this column"))
            continue
        values = numbers.unique()
        for value in values if len(values) <= 50 else (values.min(), values.max()):
            value = value.item()
            why = refusal(scenario, name, int(value) if float(value).is_integer()
                          and spec.parameters[name].integer else value)
            if why is not None:
                row = int(frame.index[numbers == value][0])
                problems.append(Problem(f"design.table row {row + 2}, column {name}", why))
                break
    return problems


def expand_runs(spec: SweepSpec, design: pd.DataFrame) -> pd.DataFrame:
    """One row per run: ``run_id``, ``point_id``, ``replicate``, ``seed`` and the parameters."""
    reps = spec.replicates
    runs = design.loc[design.index.repeat(reps)].reset_index(drop=True)
    runs.insert(0, "replicate", np.tile(np.arange(reps, dtype="int64"), len(design)))
    runs.insert(0, "run_id", np.arange(len(runs), dtype="int64"))
    runs.insert(3, "seed", [run_seed(spec.seed, int(r.run_id), int(r.replicate),
                                     spec.common_random_numbers) for r in runs.itertuples()])
    return runs[["run_id", "point_id", "replicate", "seed", *spec.parameters]]
