"""Calibration by ABC-SMC (pyabc), its check against held-out patterns, and posterior sweeps."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.calibration import calibrate
from sim.experiments.observations import load_observations
from sim.experiments.runner import sweep

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONWARNINGS": "error"}

SMALL = """
name = "small"
scenario = "derik-june-2020"
days = 2
seed = 11
population = 6
generations = 2
posterior_draws = 4
[parameters."forces.US.posture.deploy_blocking"]
low = 0.0
high = 1.0
[parameters."encounters.duration_median_h"]
low = 0.5
high = 3.0
"""


@pytest.fixture(scope="module")
def small_calibration(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cal")
    (folder / "small.toml").write_text(SMALL)
    calibrate(folder / "small.toml", out=folder / "out", workers=0)
    return folder


def test_a_calibration_writes_its_posterior_generations_and_check(small_calibration):
    out = small_calibration / "out"
    manifest = json.loads((out / "calibration.json").read_text())
    assert manifest["status"] == "complete" and manifest["generations_done"] == 2
    assert manifest["patterns_fitted"] == [o.pattern for o in load_observations()
                                           if o.use == "calibrate"]
    assert {"pyabc", "mesa"} <= set(manifest["versions"])
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert len(posterior) == 6 and posterior["weight"].sum() == pytest.approx(1.0)
    assert posterior["forces.US.posture.deploy_blocking"].between(0, 1).all()
    assert posterior["encounters.duration_median_h"].between(0.5, 3).all()
    assert (posterior["seed"] > 0).all()
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1]
    assert generations["epsilon"].is_monotonic_decreasing
    assert (generations["accepted"] == 6).all()
    check = pd.read_csv(out / "ppc" / "patterns.csv")
    assert len(check) == len(load_observations()) and "hold_out" in set(check["use"])
    median = manifest["posterior_median"]["encounters.duration_median_h"]
    assert posterior["encounters.duration_median_h"].min() <= median <= posterior[
        "encounters.duration_median_h"].max()


def test_a_calibration_in_this_process_is_reproducible_from_its_seed(small_calibration,
                                                                      tmp_path):
    again = calibrate(small_calibration / "small.toml", out=tmp_path / "again", workers=0)
    first = pd.read_parquet(small_calibration / "out" / "posterior.parquet")
    pd.testing.assert_frame_equal(again["posterior"], first)


def test_sim_plot_draws_a_calibrations_figures(small_calibration, tmp_path, run_cli):
    status, _, err = run_cli("plot", small_calibration / "out", "--out", tmp_path / "f")
    assert status == 0, err
    assert {p.name for p in (tmp_path / "f").iterdir()} == {
        "posterior-marginals.png", "posterior-pairs.png", "generations.png",
        "posterior-check.png"}


def test_a_posterior_design_draws_parameter_sets_from_a_calibration(small_calibration,
                                                                    tmp_path):
    """Each point of the sweep is a particle of the posterior; parameters are the fitted ones."""
    spec = tmp_path / "post.toml"
    spec.write_text(f'name = "post"\ndays = 1\nseed = 4\n[design]\nkind = "posterior"\n'
                    f'posterior = "{(small_calibration / "out").as_posix()}"\nn = 5\n')
    table = sweep(spec, out=tmp_path / "s", workers=0, quiet=True)
    posterior = pd.read_parquet(small_calibration / "out" / "posterior.parquet")
    names = ["forces.US.posture.deploy_blocking", "encounters.duration_median_h"]
    assert len(table) == 5 and (table["status"] == "ok").all()
    particles = {tuple(row) for row in posterior[names].to_numpy()}
    assert all(tuple(row) in particles for row in table[names].to_numpy())


BAD = [
    ('[parameters."forces.US.posture.blok"]\nlow = 0\nhigh = 1\n',
     "parameters.forces.US.posture.blok value 0.0 is not valid"),
    ('[parameters."forces.US.posture.block"]\nlow = 0.8\nhigh = 0.2\n', "need low < high"),
    ('patterns = ["ru_yield_share"]\n[parameters."forces.US.posture.block"]\nlow = 0\nhigh = 1\n',
     "names 'ru_yield_share', a held-out pattern"),
    ('population = 1\n[parameters."forces.US.posture.block"]\nlow = 0\nhigh = 1\n',
     "population = 1 input should be greater than or equal to 2"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_calibration_file_exits_2_naming_the_field_and_writes_nothing(tmp_path, run_cli,
                                                                           body, message):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n' + body)
    status, _, err = run_cli("calibrate", path, "--out", tmp_path / "out")
    assert status == 2 and "bad.toml" in err and message in err, err
    assert not (tmp_path / "out").exists()


def _query(db: Path, sql: str) -> list:
    """Rows of a query, the connection closed at once (an open read would block pyabc)."""
    with closing(sqlite3.connect(db)) as con:
        return con.execute(sql).fetchall()


def _generations_done(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        return _query(db, "select count(*) from populations where t >= 0")[0][0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_a_killed_calibration_resumes_from_its_last_finished_generation(tmp_path):
    """SIGKILL after the first generation is stored; --resume keeps it and finishes."""
    path = tmp_path / "k.toml"
    path.write_text(SMALL.replace("population = 6", "population = 8"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "calibrate", str(path), "--out",
                             str(out), "--workers", "0", "-q"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and _generations_done(out / "abc.db") < 1:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _generations_done(out / "abc.db")
    assert done == 1  # killed within 0.1 s of the first generation; the second takes longer
    assert json.loads((out / "calibration.json").read_text())["status"] == "running"
    first = _query(out / "abc.db", "select epsilon from populations where t = 0")[0][0]
    resumed = subprocess.run([sys.executable, "-m", "sim", "calibrate", str(path), "--out",
                              str(out), "--workers", "0", "--resume", "-q"], env=ENV,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1]
    assert generations["epsilon"].iloc[0] == pytest.approx(first)
    manifest = json.loads((out / "calibration.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["sessions"]) == 2


@pytest.mark.slow
def test_a_calibration_runs_on_a_dask_cluster(tmp_path):
    """The same file through pyabc's Dask sampler on a real local cluster."""
    from distributed import LocalCluster

    path = tmp_path / "d.toml"
    path.write_text(SMALL.replace("generations = 2", "generations = 1"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        result = calibrate(path, out=tmp_path / "out", scheduler=cluster.scheduler_address)
    assert len(result["posterior"]) == 6 and np.isfinite(result["posterior"]["distance"]).all()


@pytest.mark.parametrize("name", ["../x", "/abs", "a/b", ".hidden", ""])
def test_a_calibration_name_that_is_not_a_plain_folder_name_is_refused(tmp_path, name):
    """The name becomes calibrations/<name>: no path may escape through it."""
    from sim.errors import InputError
    from sim.experiments.calibration_spec import load_calibration

    text = (ROOT / "scenarios/calibration/derik-2020.toml").read_text(encoding="utf-8")
    lines = [f"name = {name!r}" if line.startswith("name =") else line
             for line in text.splitlines()]
    (tmp_path / "c.toml").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="must be a plain name"):
        load_calibration(tmp_path / "c.toml")
