"""Sweep designs and run seeds.

Each design turns a ``SweepSpec`` into a table of points, one column per
parameter: a full factorial ``grid``; Latin hypercube (``lhs``) and scrambled
Sobol (``sobol``) samples from ``scipy.stats.qmc``; the nearly orthogonal Latin
hypercube of Cioppa and Lucas (``nolh``); Saltelli (``saltelli``) and Morris
(``morris``) samples from SALib, in the order SALib's analyses expect; or an
explicit CSV ``table``. Random designs draw from the sweep's master seed.

Run seeds are spawned from the master seed with ``numpy.random.SeedSequence``
and recorded as integers, so any run can be re-run alone from its row.
"""

from __future__ import annotations

import itertools
import math
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.errors import Problem, ScenarioError
from sim.sweepspec import SweepSpec

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


def _problem(spec: SweepSpec, names: list[str]) -> dict:
    return {"num_vars": len(names), "names": names,
            "bounds": [list(spec.parameters[name].range) for name in names]}


def _unit_sample(spec: SweepSpec, names: list[str], base_dir: Path | None) -> np.ndarray:
    """Points in [0, 1]^d for sampled designs (rows of SALib designs are already scaled)."""
    d, kind, seed = len(names), spec.design.kind, design_seed(spec.seed)
    if kind == "lhs":
        return qmc.LatinHypercube(d, seed=seed).random(spec.design.n)
    if kind == "sobol":
        return qmc.Sobol(d, scramble=True, seed=seed).random_base2(int(math.log2(spec.design.n)))
    if kind == "nolh":
        return nolh_unit(d, spec.design.n or 0)
    raise AssertionError(kind)


def make_design(spec: SweepSpec, base_dir: Path | None = None) -> pd.DataFrame:
    """The design's points: ``point_id`` then one column per parameter, in the spec's order."""
    names = list(spec.parameters)
    kind = spec.design.kind
    varied = [n for n in names if spec.parameters[n].range is not None
              or len(spec.parameters[n].values) > 1]
    constant = {n: spec.parameters[n].values[0] for n in names if n not in varied}
    if kind == "grid":
        axes = []
        for name in names:
            p = spec.parameters[name]
            if p.values is not None:
                axes.append(list(p.values))
            else:
                level = np.linspace(*p.range, p.levels or spec.design.levels)
                axes.append(sorted({round(float(v)) for v in level}) if p.integer
                            else [float(v) for v in level])
        frame = pd.DataFrame(list(itertools.product(*axes)), columns=names)
    elif kind == "table":
        frame = read_table(spec, base_dir)
    else:
        if kind in ("saltelli", "morris"):
            from SALib.sample import morris as morris_sample
            from SALib.sample import sobol as sobol_sample

            problem = _problem(spec, varied)
            if kind == "saltelli":
                values = sobol_sample.sample(problem, spec.design.n,
                                             calc_second_order=spec.design.second_order,
                                             scramble=True, seed=design_seed(spec.seed))
            else:
                values = morris_sample.sample(problem, spec.design.n,
                                              num_levels=spec.design.levels,
                                              seed=design_seed(spec.seed))
        else:
            unit = _unit_sample(spec, varied, base_dir)
            low = np.array([spec.parameters[n].range[0] for n in varied])
            high = np.array([spec.parameters[n].range[1] for n in varied])
            values = low + unit * (high - low)
        frame = pd.DataFrame(values, columns=varied)
        for name in varied:
            if spec.parameters[name].integer:
                frame[name] = frame[name].round().astype("int64")
        for name, value in constant.items():
            frame[name] = value
        frame = frame[names]
    frame.insert(0, "point_id", np.arange(len(frame), dtype="int64"))
    return frame


def read_table(spec: SweepSpec, base_dir: Path | None) -> pd.DataFrame:
    """An explicit design from CSV; its columns must be exactly the sweep's parameters."""
    path = Path(spec.design.table)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise ScenarioError.single(spec.name, "design.table", f"= {str(path)!r} does not exist",
                                   "give a CSV file relative to the sweep file")
    frame = pd.read_csv(path)
    names = list(spec.parameters)
    missing, extra = set(names) - set(frame.columns), set(frame.columns) - set(names)
    problems = [Problem("design.table", f"lacks column {m!r}") for m in sorted(missing)]
    problems += [Problem("design.table", f"has column {x!r} that is not a parameter",
                         "list it under [parameters] or drop it") for x in sorted(extra)]
    if frame.empty:
        problems.append(Problem("design.table", "has no rows"))
    if problems:
        raise ScenarioError(path, problems)
    return frame[names].reset_index(drop=True)


def expand_runs(spec: SweepSpec, design: pd.DataFrame) -> pd.DataFrame:
    """One row per run: ``run_id``, ``point_id``, ``replicate``, ``seed`` and the parameters."""
    reps = spec.replicates
    runs = design.loc[design.index.repeat(reps)].reset_index(drop=True)
    runs.insert(0, "replicate", np.tile(np.arange(reps, dtype="int64"), len(design)))
    runs.insert(0, "run_id", np.arange(len(runs), dtype="int64"))
    runs.insert(3, "seed", [run_seed(spec.seed, int(r.run_id), int(r.replicate),
                                     spec.common_random_numbers) for r in runs.itertuples()])
    return runs[["run_id", "point_id", "replicate", "seed", *spec.parameters]]
