"""Sweep designs and seeds, checked against their defining properties and analytic oracles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import sobol as salib_sobol

from sim.experiments.analyze import morris_indices, sobol_indices
from sim.experiments.designs import design_seed, expand_runs, make_design, nolh_matrix, run_seed
from sim.experiments.spec import SweepSpec


def spec_of(kind: str, params: dict, **design) -> SweepSpec:
    return SweepSpec.model_validate({"name": "t", "seed": 42, "replicates": 3,
                                     "design": {"kind": kind, **design}, "parameters": params})


THREE = {"a": {"range": [0.0, 1.0]}, "b": {"range": [10.0, 20.0]}, "c": {"range": [-1.0, 1.0]}}


def test_a_grid_is_the_full_factorial_of_values_and_levels():
    spec = spec_of("grid", {"a": {"range": [0, 1], "levels": 3}, "b": {"values": ["x", "y"]}})
    design = make_design(spec)
    assert list(design["point_id"]) == list(range(6))
    assert sorted(zip(design["a"], design["b"], strict=True)) == [
        (a, b) for a in (0.0, 0.5, 1.0) for b in ("x", "y")]


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 7, 8])
def test_the_nolh_is_an_orthogonal_latin_hypercube_of_cioppa_and_lucas_size(m):
    """2**m + 1 runs, m + C(m-1, 2) columns, each a permutation of its levels, uncorrelated."""
    matrix = nolh_matrix(m)
    runs, half = 2**m + 1, 2 ** (m - 1)
    assert matrix.shape == (runs, m + (m - 1) * (m - 2) // 2)
    for column in matrix.T:
        assert sorted(column) == list(range(-half, half + 1))
    correlation = np.corrcoef(matrix.T)
    assert np.abs(correlation - np.eye(matrix.shape[1])).max() < 1e-12


def test_a_nolh_design_takes_the_smallest_design_with_enough_factors():
    """Seven factors fit the 17-run design; eight need 33 runs."""
    seven = {f"p{i}": {"range": [0.0, 2.0]} for i in range(7)}
    design = make_design(spec_of("nolh", seven))
    assert len(design) == 17 and design.iloc[:, 1:].min().min() == 0.0
    assert np.abs(np.corrcoef(design.iloc[:, 1:].T) - np.eye(7)).max() < 1e-12
    eight = {f"p{i}": {"range": [0.0, 1.0]} for i in range(8)}
    assert len(make_design(spec_of("nolh", eight))) == 33


def test_a_latin_hypercube_puts_one_point_in_each_stratum_of_each_parameter():
    design = make_design(spec_of("lhs", THREE, n=20))
    for name, (low, high) in (("a", (0, 1)), ("b", (10, 20)), ("c", (-1, 1))):
        strata = np.floor((design[name] - low) / (high - low) * 20)
        assert sorted(strata) == list(range(20))


def test_random_designs_come_from_the_master_seed():
    a, b = make_design(spec_of("lhs", THREE, n=8)), make_design(spec_of("lhs", THREE, n=8))
    pd.testing.assert_frame_equal(a, b)
    other = SweepSpec.model_validate({**spec_of("lhs", THREE, n=8).model_dump(), "seed": 43})
    assert not make_design(other).equals(a)


def test_a_sobol_sample_is_scrambled_in_range_and_a_power_of_two():
    design = make_design(spec_of("sobol", THREE, n=32))
    assert len(design) == 32 and design["b"].between(10, 20).all()
    with pytest.raises(ValueError, match="power of 2"):
        spec_of("sobol", THREE, n=30)


def test_a_saltelli_design_is_salibs_own_sample_in_its_order():
    spec = spec_of("saltelli", THREE, n=8)
    design = make_design(spec)
    problem = {"num_vars": 3, "names": ["a", "b", "c"],
               "bounds": [[0, 1], [10, 20], [-1, 1]]}
    expected = salib_sobol.sample(problem, 8, calc_second_order=False, scramble=True,
                                  seed=design_seed(42))
    np.testing.assert_array_equal(design[["a", "b", "c"]].to_numpy(), expected)
    assert len(design) == 8 * (3 + 2)


def test_morris_trajectories_move_one_parameter_a_step_at_a_time():
    design = make_design(spec_of("morris", THREE, n=5, levels=4))
    assert len(design) == 5 * (3 + 1)
    steps = np.diff(design[["a", "b", "c"]].to_numpy(), axis=0)
    within = [steps[t * 4 + k] for t in range(5) for k in range(3)]
    assert all((np.abs(s) > 0).sum() == 1 for s in within)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


PI = {name: {"range": [-np.pi, np.pi]} for name in ("x1", "x2", "x3")}


def test_sobol_indices_recover_the_ishigami_functions_known_values():
    """Analytic S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)."""
    spec = spec_of("saltelli", PI, n=4096)
    design = make_design(spec)
    table = sobol_indices(spec, ishigami(design[["x1", "x2", "x3"]].to_numpy()))
    np.testing.assert_allclose(table["S1"], [0.314, 0.442, 0.0], atol=0.03)
    np.testing.assert_allclose(table["ST"], [0.558, 0.442, 0.244], atol=0.03)
    assert (table["S1_conf"] > 0).all()


def test_morris_screening_ranks_the_ishigami_inputs():
    """x3 alone has no first-order effect; x1 and x2 matter more by mu*."""
    spec = spec_of("morris", PI, n=60, levels=4)
    x = make_design(spec)[["x1", "x2", "x3"]].to_numpy()
    table = morris_indices(spec, x, ishigami(x))
    assert table.loc["x2", "mu_star"] > table.loc["x3", "mu_star"]
    assert table.loc["x1", "mu_star"] > table.loc["x3", "mu_star"]


def test_run_seeds_are_spawned_from_the_master_and_paired_under_common_random_numbers():
    spec = spec_of("grid", {"a": {"values": [1, 2, 3]}})
    runs = expand_runs(spec, make_design(spec))
    assert list(runs["run_id"]) == list(range(9)) and list(runs["replicate"]) == [0, 1, 2] * 3
    assert runs["seed"].nunique() == 9
    assert run_seed(42, 4, 1, False) == runs.loc[4, "seed"]
    crn = SweepSpec.model_validate({**spec.model_dump(), "common_random_numbers": True})
    paired = expand_runs(crn, make_design(crn))
    assert paired.groupby("replicate")["seed"].nunique().eq(1).all()
    assert paired["seed"].nunique() == 3
    assert run_seed(43, 4, 1, False) != run_seed(42, 4, 1, False)
    assert all(0 <= s < 2**63 for s in runs["seed"])


def test_every_design_kind_has_exactly_one_sampler():
    """The registry and the sweep file's allowed kinds are the same list."""
    from sim.experiments.designs import SAMPLERS
    from sim.experiments.spec import DESIGNS

    assert list(SAMPLERS) == list(DESIGNS)
