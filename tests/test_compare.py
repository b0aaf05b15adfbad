"""Scenario comparison: paired statistics by hand, the sequential rule, resume, Dask, bad input."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.experiments.compare import compare, table_of
from sim.experiments.paired import (
    adjusted_levels,
    converged,
    heavy_tailed,
    paired_difference,
)

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONWARNINGS": "error"}
REF = np.array([10.0, 12.0, 9.0, 11.0, 13.0])
OTHER = np.array([12.0, 13.0, 12.0, 12.0, 16.0])


def test_the_paired_t_interval_of_a_tiny_table_by_hand():
    """D = (2, 1, 3, 1, 3): mean 2, sd 1, so 2 ± t(0.975, 4)·1/√5 = 2 ± 1.2416."""
    d = paired_difference(REF, OTHER)
    assert d.interval == "t" and (d.n, d.reference_mean, d.mean, d.diff) == (5, 11.0, 13.0, 2.0)
    assert (d.diff_lo, d.diff_hi) == pytest.approx((2 - 1.24164, 2 + 1.24164), abs=1e-4)
    assert d.p_value == pytest.approx(2 * stats.t.sf(2 / (1 / math.sqrt(5)), 4))
    assert d.relative_change == pytest.approx(2 / 11)
    assert d.cohens_d == pytest.approx(2 / math.sqrt((2.5 + 3.0) / 2))  # variances 2.5, 3
    # unpaired half-width t·√(2.5/5 + 3/5) = 2.9114: pairing makes it 57% narrower
    assert d.pairing_gain == pytest.approx(1 - 1.24164 / 2.91143, abs=1e-4)
    assert d.pairing_r == pytest.approx(np.corrcoef(REF, OTHER)[0, 1])


def test_heavy_tailed_differences_get_a_seeded_bootstrap_interval():
    """One huge difference among small ones (delay-like): BCa bootstrap, the same each time."""
    rng = np.random.default_rng(3)
    ref = rng.exponential(10, 40)
    other = ref + np.concatenate([rng.normal(1, 0.5, 39), [80.0]])
    assert heavy_tailed(other - ref)
    first, again = paired_difference(ref, other, seed=5), paired_difference(ref, other, seed=5)
    assert first.interval == "bootstrap" and (first.diff_lo, first.diff_hi) == (
        again.diff_lo, again.diff_hi)
    assert first.diff_lo < first.diff < first.diff_hi
    t_lo, t_hi = paired_difference(ref, other, method="t").diff_lo, paired_difference(
        ref, other, method="t").diff_hi
    assert (first.diff_lo, first.diff_hi) != (t_lo, t_hi)


def test_a_bootstrap_agrees_with_t_on_well_behaved_differences():
    rng = np.random.default_rng(8)
    ref = rng.normal(10, 2, 200)
    other = ref + rng.normal(1, 1, 200)
    t = paired_difference(ref, other, method="t")
    boot = paired_difference(ref, other, method="bootstrap", seed=1)
    assert boot.half_width == pytest.approx(t.half_width, rel=0.1)


def test_multiplicity_widens_the_family_of_intervals():
    """Bonferroni: all at 1 - α/m; Holm: 1 - α/(m - k) for the k-th smallest p."""
    p = [0.01, 0.04, 0.03]
    assert adjusted_levels(p, 0.95, "none") == [0.95] * 3
    assert adjusted_levels(p, 0.95, "bonferroni") == pytest.approx([1 - 0.05 / 3] * 3)
    assert adjusted_levels(p, 0.95, "holm") == pytest.approx([1 - 0.05 / 3, 0.95, 0.975])


def test_an_interval_has_converged_when_narrow_or_confidently_zero():
    d = paired_difference(REF, OTHER)  # half-width 1.24, difference 2
    assert converged(d, 0.7) and not converged(d, 0.5)
    same = paired_difference(REF, REF + np.array([0.1, -0.1, 0.0, 0.1, -0.1]))
    assert same.diff_lo <= 0 <= same.diff_hi and converged(same, 0.05)


def test_a_comparison_is_a_tidy_table_with_its_folder(tmp_path):
    table = compare(["derik-june-2020", "deconfliction"], replicates=3, days=2,
                    outputs=["standoffs", "vehicle_hours_delay"], out=tmp_path / "c",
                    workers=0)
    assert list(table["output"]) == ["standoffs", "vehicle_hours_delay"]
    assert (table["mean"] == 0).all() and (table["diff"] == -table["reference_mean"]).all()
    assert {p.name for p in (tmp_path / "c").iterdir()} == {
        "compare.json", "runs", "runs.parquet", "comparison.csv", "report.md"}
    runs = pd.read_parquet(tmp_path / "c" / "runs.parquet")
    assert len(runs) == 6 and runs.groupby("replicate")["seed"].nunique().eq(1).all()


def test_over_the_posterior_each_replicate_draws_once_and_interventions_stand(tmp_path):
    """Replicate r of both scenarios uses posterior draw r; interventions stand.

    us-drawdown keeps its own deploy_blocking; each row is the run sim.run gives with
    that draw.
    """
    posterior = ROOT / "scenarios" / "calibration" / "derik-2020"
    compare(["derik-june-2020", "us-drawdown"], replicates=3, days=1, posterior=posterior,
            outputs=["standoffs", "trips"], out=tmp_path / "c", workers=0)
    runs = pd.read_parquet(tmp_path / "c" / "runs.parquet")
    names = [c for c in pd.read_parquet(posterior / "posterior.parquet").columns
             if "." in c]
    assert set(names) <= set(runs.columns)
    base, drawdown = (runs[runs["point_id"] == i].set_index("replicate") for i in (0, 1))
    shared = [n for n in names if n != "forces.US.posture.deploy_blocking"]
    assert (base[shared] == drawdown[shared]).all().all()
    assert base["forces.US.posture.block"].nunique() == 3        # a new draw each replicate
    assert (drawdown["forces.US.posture.deploy_blocking"] == 0.1).all()
    assert (base["forces.US.posture.deploy_blocking"] != 0.1).all()
    for name, frame in (("derik-june-2020", base), ("us-drawdown", drawdown)):
        row = frame.loc[2]
        again = sim.run(name, seed=int(row["seed"]), days=1,
                        overrides={n: float(row[n]) for n in names})
        assert again.summary["trips"] == row["trips"]
        assert again.summary["standoffs"] == row["standoffs"]
    report = (tmp_path / "c" / "report.md").read_text()
    assert "us-drawdown keeps forces.US.posture.deploy_blocking = 0.1" in report
    assert "posterior draw from derik-2020;" in report
    assert str(ROOT) not in (tmp_path / "c" / "compare.json").read_text() + report


def test_the_sequential_rule_stops_at_the_first_batch_where_every_interval_is_narrow(tmp_path):
    """Batches of 3 up to 12: the comparison stops exactly where the rule first holds."""
    table = compare(["derik-june-2020", "deconfliction"], replicates=3, batch=3,
                    precision=0.5, max_replicates=12, days=7, outputs=["standoffs"],
                    out=tmp_path / "c", workers=0)
    runs = pd.read_parquet(tmp_path / "c" / "runs.parquet")
    n = int(table["n"].iloc[0])
    assert n == runs["replicate"].max() + 1 and n < 12
    for m in range(3, n + 1, 3):  # the rule, recomputed independently at each batch
        part = runs[runs["replicate"] < m]
        row = table_of(part, ["derik-june-2020", "deconfliction"], ["standoffs"], 0.95,
                       "none", 0).iloc[0]
        narrow = (row["diff_hi"] - row["diff_lo"]) / 2 <= 0.5 * abs(row["diff"])
        assert narrow == (m == n)
    assert table["converged"].iloc[0] and table["replicates_needed"].iloc[0] == n


def test_a_comparison_that_cannot_reach_the_precision_says_so(tmp_path, run_cli):
    status, out, err = run_cli("compare", "derik-june-2020", "us-drawdown", "--replicates", 2,
                               "--precision", 0.001, "--max-replicates", 4, "--days", 1,
                               "--outputs", "standoffs", "--out", tmp_path / "c",
                               "--workers", 0, "-q")
    assert status == 0, err
    assert "NOT CONVERGED" in out
    assert "(not converged)" in (tmp_path / "c" / "report.md").read_text()
    assert (tmp_path / "c" / "figures" / "comparison.png").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["derik-june-2020"], "names one scenario"),
    (["derik-june-2020", "nowhere"], "scenario 'nowhere' cannot be used"),
    (["derik-june-2020", "deconfliction", "--precision", "0"], "--precision = 0.0 must be > 0"),
    (["derik-june-2020", "deconfliction", "--adjust", "sidak"], "--adjust = 'sidak'"),
])
def test_bad_comparisons_exit_2_and_write_nothing(tmp_path, run_cli, args, message):
    status, _, err = run_cli("compare", *args, "--out", tmp_path / "c", cwd=tmp_path)
    assert status == 2 and message in err, err
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_a_killed_comparison_resumes_to_the_same_table(tmp_path):
    args = ["derik-june-2020", "us-drawdown", "--replicates", "12", "--days", "3",
            "--outputs", "standoffs", "vehicle_hours_delay", "-q"]
    out = tmp_path / "k"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "compare", *args, "--out", str(out),
                             "--workers", "2"], env=ENV, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("run-*"))) < 6:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "comparison.csv").exists()
    resumed = subprocess.run([sys.executable, "-m", "sim", "compare", *args, "--out", str(out),
                              "--workers", "2", "--resume"], env=ENV, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    compare(["derik-june-2020", "us-drawdown"], replicates=12, days=3,
            outputs=["standoffs", "vehicle_hours_delay"], out=tmp_path / "clean", workers=0)
    pd.testing.assert_frame_equal(pd.read_csv(out / "comparison.csv"),
                                  pd.read_csv(tmp_path / "clean" / "comparison.csv"))


@pytest.mark.slow
def test_dask_gives_the_same_table_as_local_processes(tmp_path):
    from distributed import LocalCluster

    kwargs = {"replicates": 4, "days": 2, "outputs": ["standoffs", "standoff_hours"]}
    local = compare(["derik-june-2020", "qasr-dib-base"], out=tmp_path / "a", workers=2,
                    **kwargs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = compare(["derik-june-2020", "qasr-dib-base"], out=tmp_path / "b",
                       scheduler=cluster.scheduler_address, **kwargs)
    pd.testing.assert_frame_equal(local, dask)


@pytest.mark.slow
def test_ctrl_c_stops_a_comparison_and_prints_the_command_that_continues_it(tmp_path):
    args = ["derik-june-2020", "us-drawdown", "--replicates", "12", "--days", "3",
            "--outputs", "standoffs", "-q", "--workers", "2"]
    out = tmp_path / "c"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "compare", *args, "--out", str(out)],
                            env=ENV, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("run-*"))) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    saved = len(list((out / "runs").glob("run-*.parquet")))
    assert f"interrupted: {saved} runs are saved in {out}/; continue with: sim compare " in err
    command = err.split("continue with: ")[1].strip()
    assert command.endswith("--resume") and f"--out {out}" in command
    done = subprocess.run([sys.executable, "-m", *command.split()], env=ENV,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "comparison.csv").is_file()


def test_resuming_after_a_scenario_was_edited_names_it(tmp_path, run_cli):
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "derik-june-2020"\nname = "mine"\n')
    args = ["compare", "derik-june-2020", mine, "--replicates", 2, "--days", 0.25,
            "--workers", 0, "--outputs", "standoffs", "-q", "--out", tmp_path / "c"]
    assert run_cli(*args, cwd=tmp_path)[0] == 0
    mine.write_text('extends = "derik-june-2020"\nname = "mine"\n[civilians]\n'
                    'trips_per_day = 3000\n')
    status, _, err = run_cli(*args, "--resume", cwd=tmp_path)
    assert status == 2 and f"{mine} changed since the comparison started" in err
