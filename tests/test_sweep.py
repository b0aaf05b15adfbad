"""Sweeps: executors agree, runs can be re-run alone, a killed sweep resumes, bad files stop."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.errors import InputError
from sim.experiments.runner import sweep

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


@pytest.mark.slow
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


def test_rerun_gives_the_sweeps_row_and_writes_the_runs_logs(small, tmp_path, run_cli):
    sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    status, out, err = run_cli("rerun", tmp_path / "s", 6)
    assert status == 0, err
    assert "identical to the sweep's row" in out
    logs = tmp_path / "s" / "reruns" / "run-000006"
    assert (logs / "standoffs.parquet").is_file() and (logs / "run.json").is_file()
    status, out, err = run_cli("rerun", tmp_path / "s", 99)
    assert status == 2 and "run = 99 is not a run of this sweep" in err


def test_common_random_numbers_pair_replicates_across_points(tmp_path):
    path = tmp_path / "crn.toml"
    path.write_text(SMALL.replace("seed = 5", "seed = 5\ncommon_random_numbers = true"))
    table = sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    assert table.groupby("replicate")["seed"].nunique().eq(1).all()
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["common_random_numbers"]


def start_sweep(path: Path, out: Path, replicates: int, days: int, workers: int,
                **popen) -> subprocess.Popen:
    """Write the small sweep at a larger size and start ``sim sweep`` on it, quietly."""
    path.write_text(SMALL.replace("replicates = 2", f"replicates = {replicates}").replace(
        "days = 1", f"days = {days}"))
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out),
                             "--workers", str(workers), "-q"], env=ENV, **popen)


def wait_for_runs(out: Path, n: int, timeout_s: float = 120) -> None:
    """Until ``n`` run files are written (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(list((out / "runs").glob("run-*.parquet"))) < n:
        time.sleep(0.05)


@pytest.mark.slow
def test_a_sweep_killed_at_any_moment_resumes_without_losing_or_repeating_a_run(tmp_path):
    """SIGKILL the whole sweep (workers too) mid-way; --resume finishes it exactly."""
    path, out = tmp_path / "kill.toml", tmp_path / "s"
    proc = start_sweep(path, out, replicates=6, days=3, workers=2, start_new_session=True)
    wait_for_runs(out, 5)
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


def test_resuming_with_a_changed_sweep_is_refused(small, tmp_path, run_cli):
    path = tmp_path / "one.toml"
    path.write_text(SMALL.replace("values = [0.5, 3.0]", "values = [0.5]").replace(
        "replicates = 2", "replicates = 1"))
    sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    path.write_text(SMALL.replace("values = [0.5, 3.0]", "values = [0.6]").replace(
        "replicates = 2", "replicates = 1"))
    status, _, err = run_cli("sweep", path, "--out", tmp_path / "s", "--resume")
    assert status == 2 and ('refused: changed since the sweep started: '
                            'parameters."missions.ru_derik.per_day".values [0.5] → [0.6]') in err
    status, _, err = run_cli("sweep", path, "--out", tmp_path / "s", "--resume",
                             "--replicates", "3")
    assert status == 2 and "--replicates not given (replicates = 1 in the file) → 3" in err
    status, _, err = run_cli("sweep", path, "--out", tmp_path / "s")
    assert status == 2 and "already holds files" in err


#: Processes this test process starts, seen through Python's audit hooks (while recording).
_STARTED: list | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "subprocess.Popen" and _STARTED is not None:
        _STARTED.append(args)


sys.addaudithook(_audit)


def test_a_refused_sweep_starts_no_worker(small, tmp_path):
    """The folder is checked before any worker process is started (or a cluster reached)."""
    global _STARTED
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    _STARTED = []
    try:
        with pytest.raises(InputError, match="already holds files"):
            sweep(small, out=tmp_path / "s", workers=2, quiet=True)
        with pytest.raises(InputError, match="has no sweep to resume"):
            sweep(small, out=tmp_path / "t", workers=2, quiet=True, resume=True)
        started, _STARTED = _STARTED, None
    finally:
        _STARTED = None
    assert started == []


def test_a_misspelt_output_is_refused_before_any_run(small, tmp_path):
    """``outputs`` must name summary fields; a typo gets a did-you-mean, and nothing runs."""
    small.write_text(SMALL.replace("days = 1", 'days = 1\noutputs = ["standoff_hours", '
                                               '"vehicle_hours_dealy"]'))
    with pytest.raises(InputError, match=r"'vehicle_hours_dealy' \(did you mean "
                                         r"'vehicle_hours_delay'\?\)"):
        sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_in_this_process_and_says_how_to_resume(tmp_path):
    """``--workers 0``: SIGINT ends it with exit 130, the runs saved, and the resume command."""
    path, out = tmp_path / "long.toml", tmp_path / "s"
    proc = start_sweep(path, out, replicates=30, days=2, workers=0, stderr=subprocess.PIPE,
                       text=True)
    wait_for_runs(out, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    saved = len(list((out / "runs").glob("run-*.parquet")))
    assert f"interrupted: {saved} runs are saved in {out}/" in err
    assert f"sim sweep {path} --out {out} --resume" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_stray_output_on_a_workers_stdout_neither_hangs_nor_spoils_the_sweep(small, tmp_path):
    """A library that prints on standard output (here at interpreter start) is ignored."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os\nos.write(1, b'a banner from some library\\n')\n")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "sim", "sweep", str(small), "--out",
                           str(tmp_path / "s"), "--workers", "2", "-q"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(tmp_path / "s" / "runs.parquet")
    assert len(table) == 8 and (table["status"] == "ok").all()
    clean = sweep(small, out=tmp_path / "clean", workers=0, quiet=True)
    pd.testing.assert_frame_equal(table, clean)


def test_every_summary_field_is_computed_tabulated_and_printed_from_one_table(small, tmp_path):
    """The summary, the sweep's columns and ``sim run``'s lines all come from SUMMARY_FIELDS."""
    from sim.experiments.designs import make_design
    from sim.experiments.runner import row_schema
    from sim.experiments.spec import load_sweep
    from sim.io.summary import SUMMARY_FIELDS, SUMMARY_TYPES, summary_lines

    result = sim.run("derik-june-2020", seed=3, days=1)
    assert list(result.summary) == ["scenario", "seed", *SUMMARY_TYPES, "blocking_positions_US"]
    spec, path = load_sweep(small)
    schema = row_schema(make_design(spec, path.parent), spec)
    assert [n for n in schema.names if n in SUMMARY_TYPES] == list(SUMMARY_TYPES)
    table = sweep(small, out=tmp_path / "s", workers=0, quiet=True)
    assert set(SUMMARY_TYPES) <= set(table.columns)
    labelled = [f for f in SUMMARY_FIELDS if f.label]
    assert len(summary_lines(result.summary)) == len(labelled) + 1 == 14  # + US's positions


def test_a_run_that_fails_is_recorded_with_its_error_and_seed_and_the_sweep_goes_on(tmp_path,
                                                                                    run_cli):
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
    status, out, err = run_cli("sweep", path, "--out", tmp_path / "s", "--workers", "2", "-q")
    assert status == 0, err
    assert "4 runs, 1 failed" in out and "base and target must differ" in out
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
    ("reference_point = 2\n[parameters.\"forces.US.posture.block\"]\nvalues = [0.2, 0.9]",
     "reference_point = 2 but the design has 2 points"),
    ("[design]\nkind = \"lhs\"\nn = 2\n[parameters.\"forces.US.posture.block\"]\n"
     "range = [0, inf]", "value inf is not valid"),
    ("[design]\nkind = \"saltelli\"\nn = 4\n[parameters.\"forces.US.posture.block\"]\n"
     "values = [0.5]", "has no range: a saltelli design samples ranges"),
    ("[design]\nkind = \"sobol\"\nn = 1073741824\n[parameters.\"forces.US.posture.block\"]\n"
     "range = [0, 1]", "= 1,073,741,824 runs (at most 1,000,000)"),
    ("[parameters.\"forces.US.posture.block\"]\nvalues = [\"high\", 0.5]",
     "value 'high' is not valid"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_sweep_file_is_refused_before_any_run_and_nothing_is_written(tmp_path, body,
                                                                          message, run_cli):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\ndays = 1\n' + body + "\n")
    status, out, err = run_cli("sweep", path, "--out", tmp_path / "out")
    assert status == 2, out
    assert "bad.toml" in err and message in err, err
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
    scale = max(abs(values.mean()), points["vehicle_hours_delay_mean"].abs().mean())
    assert row["vehicle_hours_delay_too_few"] == (half > 0.1 * scale)
    assert "vehicle_hours_delay_diff" not in points   # only under common random numbers


def test_under_crn_points_hold_the_paired_difference_from_the_reference_point(tmp_path):
    """Replicate r of point 3 minus replicate r of point 1, averaged, with its t-interval."""
    path = tmp_path / "p.toml"
    path.write_text(SMALL.replace("replicates = 2", "replicates = 5").replace(
        "seed = 5", "seed = 5\ncommon_random_numbers = true\nreference_point = 1"))
    sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    runs = pd.read_parquet(tmp_path / "s" / "runs.parquet").set_index(["point_id", "replicate"])
    points = pd.read_parquet(tmp_path / "s" / "points.parquet").set_index("point_id")
    for figure in ("standoffs", "vehicle_hours_delay", "missions"):
        d = (runs.loc[3, figure] - runs.loc[1, figure]).to_numpy(dtype=float)
        row = points.loc[3]
        assert row[f"{figure}_diff"] == pytest.approx(d.mean())
        if row[f"{figure}_diff_interval"] == "t":
            half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
            assert row[f"{figure}_diff_lo"] == pytest.approx(d.mean() - half)
            assert row[f"{figure}_diff_hi"] == pytest.approx(d.mean() + half)
        assert row[f"{figure}_diff_lo"] <= row[f"{figure}_diff"] <= row[f"{figure}_diff_hi"]
        reference = points.loc[1]
        assert (reference[f"{figure}_diff"], reference[f"{figure}_diff_lo"],
                reference[f"{figure}_diff_hi"]) == (0, 0, 0)


def test_a_mean_near_zero_is_judged_against_the_figures_scale_not_flagged_forever():
    """A rare event (1 run in 20) at one point, a common one at another."""
    from sim.experiments.points import point_stats
    from sim.experiments.spec import SweepSpec

    spec = SweepSpec(name="t", outputs=("standoffs",), ci_share=0.1,
                     parameters={"forces.US.posture.block": {"values": [0.0, 0.5, 1.0]}})
    values = {0: [0.0] * 20, 1: [0.0] * 19 + [1.0], 2: [10.0, 10.2] * 10}
    table = pd.DataFrame([{"point_id": p, "replicate": r, "status": "ok", "standoffs": v,
                           "forces.US.posture.block": p / 2}
                          for p, vs in values.items() for r, v in enumerate(vs)])
    points = point_stats(table, spec).set_index("point_id")
    rare = np.array(values[1])
    half = stats.t.ppf(0.975, 19) * rare.std(ddof=1) / np.sqrt(20)
    scale = np.mean([0.0, 0.05, 10.1])
    assert half > 0.1 * rare.mean()            # the bare relative rule would flag it
    assert half <= 0.1 * scale                 # but against the figure's scale it is precise
    assert not points["standoffs_too_few"].any()
    few = point_stats(table[table["replicate"] < 3], spec).set_index("point_id")
    assert few.loc[1, "standoffs_too_few"] == (few.loc[1, "standoffs_ci_high"]
                                               - few.loc[1, "standoffs_mean"] > 0.1 * scale)


def test_the_noise_share_is_the_within_point_variance_of_the_means_over_their_spread():
    from sim.experiments.analyze import noise_share

    runs = pd.DataFrame({"point_id": [0, 0, 1, 1, 2, 2], "y": [1.0, 3.0, 4.0, 6.0, 10.0, 10.0]})
    # within-point variances 2, 2, 0 over n = 2: mean 2/3; point means 2, 5, 10: variance 49/3
    assert noise_share(runs, "y") == pytest.approx((2 / 3) / (49 / 3))
    assert np.isnan(noise_share(runs.drop_duplicates("point_id"), "y"))
    assert noise_share(pd.DataFrame({"point_id": [0, 0, 1, 1], "y": [1.0, 3.0, 1.0, 3.0]}),
                       "y") == 1.0


def test_under_common_random_numbers_only_noise_a_replicate_does_not_share_counts():
    """A replicate's common shift cancels between points; the two-way residual remains."""
    from sim.experiments.analyze import noise_share

    # replicate 1 is replicate 0 shifted by 5 at every point: no noise between points
    shifted = pd.DataFrame({"point_id": [0, 0, 1, 1, 2, 2], "replicate": [0, 1] * 3,
                            "y": [1.0, 6.0, 4.0, 9.0, 10.0, 15.0]})
    assert noise_share(shifted, "y", crn=True) == 0.0
    assert noise_share(shifted, "y") > 0.25  # read as independent seeds, it looks noisy
    # by hand: the residual sum of squares of the 3 x 2 table over its (3 - 1)(2 - 1) degrees
    # of freedom, over n = 2 replicates, over the variance of the point means
    uneven = shifted.assign(y=[1.0, 6.0, 4.0, 9.0, 11.0, 14.0])
    means = uneven.groupby("point_id")["y"].mean()
    table = uneven.pivot_table(index="point_id", columns="replicate", values="y").to_numpy()
    resid = table - table.mean(1)[:, None] - table.mean(0) + table.mean()
    expected = (resid ** 2).sum() / 2 / 2 / means.var(ddof=1)
    assert noise_share(uneven, "y", crn=True) == pytest.approx(expected)
    assert 0 < expected < noise_share(uneven, "y")


@pytest.mark.slow
def test_keep_logs_writes_every_runs_logs(small, tmp_path):
    sweep(small, out=tmp_path / "s", workers=2, quiet=True, keep_logs=True)
    logs = sorted((tmp_path / "s" / "logs").iterdir())
    assert len(logs) == 8 and all((d / "trips.parquet").is_file() for d in logs)


def test_progress_is_plain_lines_off_a_terminal_and_silent_when_quiet():
    from sim.experiments.progress import Progress

    stream = io.StringIO()
    progress = Progress(3, stream=stream, every_s=3600)
    for failed in (False, True, False):
        progress.update(failed)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sweep: 3/3 runs, 1 failed, ")
    assert "\r" not in stream.getvalue()
    quiet = io.StringIO()
    progress = Progress(3, quiet=True, stream=quiet)
    progress.update(False)
    progress.close()
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_a_script_without_a_main_guard_can_run_a_parallel_sweep(small, tmp_path):
    """No fork-only tricks: workers are fresh processes that never import the caller."""
    script = tmp_path / "analysis.py"
    script.write_text(f"import sim\ntable = sim.sweep({str(small)!r}, out={str(tmp_path / 's')!r},"
                      f" workers=2, quiet=True)\nprint(len(table), 'rows')\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "8 rows"


@pytest.mark.slow
def test_the_shipped_sweep_files_are_valid_and_run_at_reduced_size(tmp_path):
    bvf = sweep(ROOT / "scenarios/sweeps/blocking-vs-frequency.toml", out=tmp_path / "b",
                sample=2, replicates=2, days=2, workers=2, quiet=True)
    assert len(bvf) == 2 * 5 * 2
    sens = sweep(ROOT / "scenarios/sweeps/standoff-sensitivity.toml", out=tmp_path / "s",
                 sample=4, days=2, workers=2, quiet=True)
    assert len(sens) == 4 * (6 + 2) * 2
    post = sweep(ROOT / "scenarios/sweeps/posterior-check.toml", out=tmp_path / "p",
                 sample=3, replicates=1, days=1, workers=2, quiet=True)
    assert len(post) == 3 and (post["status"] == "ok").all()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "standoff_hours: .* run-to-run noise")
        indices = sim.analyze.sobol(tmp_path / "s", output="standoff_hours")
    assert 0 <= indices.attrs["noise_share"] <= 1
    design = pd.read_parquet(tmp_path / "s" / "design.parquet")
    assert list(indices.index) == list(design.columns[1:])
    assert np.isfinite(indices[["S1", "ST"]].to_numpy()).all()


@pytest.mark.slow
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

    from sim.core.model import PatrolModel

    models = weakref.WeakSet()
    for seed in range(3):
        models.add(PatrolModel(rng=seed, days=1))  # built, never run
        model = PatrolModel(rng=seed, days=1)
        model.run_model()
        models.add(model)
        del model
    gc.collect()
    assert len(models) == 0


@pytest.mark.slow
def test_the_delay_study_screens_then_apportions_among_the_survivors(tmp_path):
    """delay-screening.toml (Morris) then delay-sobol.toml (Saltelli) on what it kept."""
    screen = sweep(ROOT / "scenarios/sweeps/delay-screening.toml", out=tmp_path / "m",
                   sample=2, replicates=1, days=1, workers=0, quiet=True)
    assert len(screen) == 2 * (10 + 1) and (screen["status"] == "ok").all()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*run-to-run noise")
        effects = sim.analyze.morris(tmp_path / "m", output="vehicle_hours_delay")
    assert len(effects) == 10 and (effects["mu_star"] >= 0).all()
    kept = sweep(ROOT / "scenarios/sweeps/delay-sobol.toml", out=tmp_path / "s", sample=2,
                 replicates=1, days=1, workers=0, quiet=True)
    assert len(kept) == 2 * (7 + 2)
    survivors = pd.read_parquet(tmp_path / "s" / "design.parquet").columns[1:]
    assert set(survivors) < set(effects.index)


@pytest.mark.parametrize(("cells", "message"), [
    (b"forces.US.posture.block\n0.5\nabc\nnan\n",
     "row 3, column forces.US.posture.block = 'abc' is not a finite number"),
    (b"forces.US.posture.block\n0.5\n1.5\n", "row 3, column forces.US.posture.block"),
    (bytes(range(256)) * 3, "is not a CSV table"),
])
def test_a_bad_table_design_is_refused_before_any_run(tmp_path, run_cli, cells, message):
    (tmp_path / "points.csv").write_bytes(cells)
    (tmp_path / "t.toml").write_text('name = "t"\ndays = 0.25\n[design]\nkind = "table"\n'
                                     'table = "points.csv"\n[parameters."forces.US.posture.block"]'
                                     '\nrange = [0, 1]\n')
    status, _, err = run_cli("sweep", tmp_path / "t.toml", "--out", tmp_path / "out")
    assert status == 2 and message in err, err
    assert not (tmp_path / "out").exists()


def test_impossible_options_and_unreadable_files_are_refused_up_front(small, tmp_path, run_cli):
    status, _, err = run_cli("sweep", small, "--out", tmp_path / "out", "--days", "inf")
    assert status == 2 and "days = inf must be a finite number" in err
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    status, _, err = run_cli("sweep", latin1, "--out", tmp_path / "out")
    assert status == 2 and "is not UTF-8 text" in err
    (tmp_path / "x.toml").write_text(SMALL.replace('name = "small"', 'name = "../../x"'))
    status, _, err = run_cli("sweep", tmp_path / "x.toml", cwd=tmp_path)
    assert status == 2 and "must be a plain name" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "sweeps").exists()


@pytest.mark.slow
def test_an_unreachable_scheduler_is_named_with_how_to_start_one(small, tmp_path, run_cli):
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, _, err = run_cli("sweep", small, "--out", tmp_path / "out", "--scheduler",
                             f"tcp://127.0.0.1:{port}")
    assert status == 1 and "cannot reach the Dask scheduler" in err
    assert "dask scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_end_of_a_sweep_counts_the_points_with_too_few_replicates(small, tmp_path, run_cli):
    status, out, _ = run_cli("sweep", small, "--out", tmp_path / "s", "--workers", 0,
                             "--quiet")
    points = pd.read_parquet(tmp_path / "s" / "points.parquet")
    flagged = int(points["standoff_hours_too_few"].sum())
    assert status == 0 and flagged > 0  # one day, two replicates: wide intervals
    assert "note: too few replicates for 95% intervals within ±10% at:" in out
    assert f"standoff_hours {flagged} of {len(points)} points" in out
