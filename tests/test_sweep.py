"""Sweeps: executors agree, runs can be re-run alone, a killed sweep resumes, bad files stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.sweeps import sweep

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONWARNINGS": "error"}

SMALL = """
name = "small"
scenario = "derik-june-2020"
days = 1
replicates = 2
seed = 5
[design]
kind = "grid"
[parameters."forces.US.posture.block"]
values = [0.2, 0.9]
[parameters."missions.ru_derik.per_day"]
values = [0.5, 3.0]
"""


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=600)


def test_a_sweep_gives_one_row_per_run_with_parameters_seed_and_figures(small, tmp_path):
    table = sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    assert len(table) == 4 * 2 and list(table["run_id"]) == list(range(8))
    assert {"forces.US.posture.block", "missions.ru_derik.per_day", "seed", "replicate",
            "status", "standoffs", "vehicle_hours_delay"} <= set(table.columns)
    assert (table["status"] == "ok").all()
    row = table.iloc[5]
    direct = sim.run("derik-june-2020", seed=int(row["seed"]), days=1, overrides={
        "forces.US.posture.block": row["forces.US.posture.block"],
        "missions.ru_derik.per_day": row["missions.ru_derik.per_day"]}).summary
    assert row["standoffs"] == direct["standoffs"]
    assert row["vehicle_hours_delay"] == direct["vehicle_hours_delay"]
    folder = tmp_path / "s"
    for name in ("sweep.json", "design.parquet", "runs.parquet", "points.parquet"):
        assert (folder / name).is_file()
    assert len(list((folder / "runs").glob("run-*.parquet"))) == 8
    manifest = json.loads((folder / "sweep.json").read_text())
    assert manifest["status"] == "complete" and manifest["master_seed"] == 5
    assert {"mesa", "python", "patrol-sim"} <= set(manifest["versions"])
    assert len(manifest["spec_sha256"]) == 64 and manifest["sessions"][0]["host"]


def test_the_table_is_identical_whatever_the_workers_or_executor(small, tmp_path):
    """In this process, two local workers, and a real Dask cluster: the same rows."""
    from distributed import LocalCluster

    serial = sweep(small, out=tmp_path / "a", workers=0, quiet=True)
    local = sweep(small, out=tmp_path / "b", workers=2, quiet=True)
    pd.testing.assert_frame_equal(serial, local)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = sweep(small, out=tmp_path / "c", scheduler=cluster.scheduler_address, quiet=True)
    pd.testing.assert_frame_equal(serial, dask)


def test_rerun_gives_the_sweeps_row_and_writes_the_runs_logs(small, tmp_path):
    sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    proc = cli("rerun", tmp_path / "s", 6)
    assert proc.returncode == 0, proc.stderr
    assert "identical to the sweep's row" in proc.stdout
    logs = tmp_path / "s" / "reruns" / "run-000006"
    assert (logs / "standoffs.parquet").is_file() and (logs / "run.json").is_file()
    proc = cli("rerun", tmp_path / "s", 99)
    assert proc.returncode == 2 and "run = 99 is not a run of this sweep" in proc.stderr


def test_common_random_numbers_pair_replicates_across_points(tmp_path):
    path = tmp_path / "crn.toml"
    path.write_text(SMALL.replace("seed = 5", "seed = 5\ncommon_random_numbers = true"))
    table = sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    assert table.groupby("replicate")["seed"].nunique().eq(1).all()
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["common_random_numbers"]


def test_a_sweep_killed_at_any_moment_resumes_without_losing_or_repeating_a_run(tmp_path):
    """SIGKILL the whole sweep (workers too) mid-way; --resume finishes it exactly."""
    path = tmp_path / "kill.toml"
    path.write_text(SMALL.replace("replicates = 2", "replicates = 6").replace("days = 1",
                                                                             "days = 3"))
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out),
                             "--workers", "2", "-q"], env=ENV, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("run-*.parquet"))) < 5:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((out / "runs").glob("run-*.parquet")))
    assert 5 <= finished < 24 and not (out / "runs.parquet").exists()
    resumed = cli("sweep", path, "--out", out, "--workers", "2", "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    table = pd.read_parquet(out / "runs.parquet")
    assert list(table["run_id"]) == list(range(24))
    clean = sweep(path, out=tmp_path / "clean", workers=0, quiet=True)
    pd.testing.assert_frame_equal(table, clean)
    sessions = json.loads((out / "sweep.json").read_text())["sessions"]
    assert len(sessions) == 2


def test_resuming_with_a_changed_sweep_is_refused(small, tmp_path):
    sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    small.write_text(SMALL.replace("values = [0.2, 0.9]", "values = [0.2, 0.8]"))
    proc = cli("sweep", small, "--out", tmp_path / "s", "--resume")
    assert proc.returncode == 2 and "refused: the sweep (file, options or design) changed" in (
        proc.stderr)
    proc = cli("sweep", small, "--out", tmp_path / "s", "--resume", "--replicates", "3")
    assert proc.returncode == 2 and "refused" in proc.stderr
    proc = cli("sweep", small, "--out", tmp_path / "s")
    assert proc.returncode == 2 and "already holds files" in proc.stderr


def test_a_run_that_fails_is_recorded_with_its_error_and_seed_and_the_sweep_goes_on(tmp_path):
    """Base and target are each valid, but the same place together: that run fails."""
    path = tmp_path / "fail.toml"
    path.write_text(textwrap.dedent("""
        name = "fail"
        days = 1
        [parameters."missions.ru_derik.base"]
        values = ["qamishli_airport", "qasr_dib"]
        [parameters."missions.ru_derik.target"]
        values = ["derik", "qasr_dib"]
    """))
    proc = cli("sweep", path, "--out", tmp_path / "s", "--workers", "2", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "4 runs, 1 failed" in proc.stdout and "base and target must differ" in proc.stdout
    table = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    failed = table[table["status"] == "failed"]
    assert len(failed) == 1 and failed.iloc[0]["seed"] > 0
    assert "base and target must differ" in failed.iloc[0]["error"]
    assert failed.iloc[0][["standoffs", "vehicle_hours_delay"]].isna().all()
    assert (table.drop(failed.index)["status"] == "ok").all()
    points = pd.read_parquet(tmp_path / "s" / "points.parquet")
    assert points["n_failed"].sum() == 1


BAD = [
    ("[parameters.\"forces.US.posture.blok\"]\nrange = [0, 1]",
     'parameters.forces.US.posture.blok value 0.0 is not valid: forces.US.posture.blok is not'),
    ("[parameters.\"forces.US.posture.block\"]\nvalues = []", "values = [] is empty"),
    ("[parameters.\"forces.US.posture.block\"]\nrange = [0.8, 0.2]", "is empty or reversed"),
    ("[parameters.\"forces.US.posture.block\"]\nrange = [0.0, 1.5]",
     "value 1.5 is not valid: forces.US.posture.block = 1.5 must be a probability"),
    ("[design]\nkind = \"lhs\"\n[parameters.\"forces.US.posture.block\"]\nrange = [0, 1]",
     "a lhs design needs its size: n = ..."),
    ("replicates = 0\n[parameters.\"forces.US.posture.block\"]\nrange = [0, 1]",
     "replicates = 0 input should be greater than or equal to 1"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_sweep_file_is_refused_before_any_run_and_nothing_is_written(tmp_path, body,
                                                                          message):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\ndays = 1\n' + body + "\n")
    proc = cli("sweep", path, "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout
    assert "bad.toml" in proc.stderr and message in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_points_hold_each_figures_mean_spread_and_confidence_interval(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(SMALL.replace("replicates = 2", "replicates = 4"))
    sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    runs = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    points = pd.read_parquet(tmp_path / "s" / "points.parquet")
    assert len(points) == 4 and (points["n_ok"] == 4).all()
    values = runs.loc[runs["point_id"] == 2, "vehicle_hours_delay"].to_numpy()
    row = points.set_index("point_id").loc[2]
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert row["vehicle_hours_delay_mean"] == pytest.approx(values.mean())
    assert row["vehicle_hours_delay_std"] == pytest.approx(values.std(ddof=1))
    assert row["vehicle_hours_delay_ci_high"] == pytest.approx(values.mean() + half)
    assert row["vehicle_hours_delay_too_few"] == (half > 0.1 * abs(values.mean()))


def test_keep_logs_writes_every_runs_logs(small, tmp_path):
    sweep(small, out=tmp_path / "s", workers=2, quiet=True, keep_logs=True)
    logs = sorted((tmp_path / "s" / "logs").iterdir())
    assert len(logs) == 8 and all((d / "trips.parquet").is_file() for d in logs)


def test_progress_is_plain_lines_off_a_terminal_and_silent_when_quiet(small, tmp_path):
    loud = cli("sweep", small, "--out", tmp_path / "a", "--workers", "1")
    assert "sweep: 8/8 runs, 0 failed" in loud.stderr and "\r" not in loud.stderr
    quiet = cli("sweep", small, "--out", tmp_path / "b", "--workers", "1", "-q")
    assert quiet.stderr == ""


def test_a_script_without_a_main_guard_can_run_a_parallel_sweep(small, tmp_path):
    """No fork-only tricks: workers are fresh processes that never import the caller."""
    script = tmp_path / "analysis.py"
    script.write_text(f"import sim\ntable = sim.sweep({str(small)!r}, out={str(tmp_path / 's')!r},"
                      f" workers=2, quiet=True)\nprint(len(table), 'rows')\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "8 rows"


def test_the_shipped_sweep_files_are_valid_and_run_at_reduced_size(tmp_path):
    bvf = sweep(ROOT / "scenarios/sweeps/blocking-vs-frequency.toml", out=tmp_path / "b",
                sample=2, replicates=2, days=2, workers=2, quiet=True)
    assert len(bvf) == 2 * 5 * 2
    sens = sweep(ROOT / "scenarios/sweeps/standoff-sensitivity.toml", out=tmp_path / "s",
                 sample=4, days=2, workers=2, quiet=True)
    assert len(sens) == 4 * (6 + 2)
    indices = sim.analyze.sobol(tmp_path / "s", output="standoff_hours")
    design = pd.read_parquet(tmp_path / "s" / "design.parquet")
    assert list(indices.index) == list(design.columns[1:])
    assert np.isfinite(indices[["S1", "ST"]].to_numpy()).all()


def test_a_parallel_sweep_runs_from_a_jupyter_kernel(small, tmp_path):
    """A notebook cell calling sim.sweep(..., workers=2), executed by a real kernel."""
    import nbformat
    from nbclient import NotebookClient

    cell = (f"import sim\ntable = sim.sweep({str(small)!r}, out={str(tmp_path / 's')!r}, "
            "workers=2, quiet=True)\nprint(len(table), (table['status'] == 'ok').sum())")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    stdout = [o["text"] for o in notebook.cells[0].outputs if o.get("name") == "stdout"]
    assert "".join(stdout).strip() == "8 8"


def test_models_are_freed_once_unused_whether_run_or_not():
    """Nothing keeps a model alive (Mesa 3.3's agent-id registry would; ours is weak)."""
    import gc
    import weakref

    from sim.model import PatrolModel

    models = weakref.WeakSet()
    for seed in range(3):
        models.add(PatrolModel(rng=seed, days=1))  # built, never run
        model = PatrolModel(rng=seed, days=1)
        model.run_model()
        models.add(model)
        del model
    gc.collect()
    assert len(models) == 0
