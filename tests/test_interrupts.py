"""Stopping a sweep: Ctrl-C, signals, errors and lost workers, each with real processes.

Every test that stops a sweep starts ``python -m sim sweep`` in its own process
group, lets it save a few runs, then acts on it from outside as a user or the
system would (a signal to the sweep or its whole group, a file-size limit that
makes its next write fail, SIGKILL to one of its workers), and checks that no
process of the group is left, what the sweep says, and that it can be continued
to the very table an uninterrupted sweep gives.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import InputError
from sim.experiments.runner import sweep

ENV = {**os.environ, "PYTHONWARNINGS": "error"}

#: 20 runs of 3 days: a few seconds on two workers, long enough to stop it mid-way.
LONG = """
name = "long"
scenario = "derik-june-2020"
days = 3
replicates = 5
seed = 11
[design]
kind = "grid"
[parameters."forces.US.posture.block"]
values = [0.2, 0.9]
[parameters."missions.ru_derik.per_day"]
values = [0.5, 3.0]
"""

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").is_file(),
                                reason="reads processes from /proc (Linux)")


@pytest.fixture(scope="module")
def long_sweep(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The long sweep's file and the table it gives when nothing stops it."""
    folder = tmp_path_factory.mktemp("long")
    path = folder / "long.toml"
    path.write_text(LONG)
    return path, sweep(path, out=folder / "clean", workers=0, quiet=True)


def start(path: Path, out: Path, *options: str) -> subprocess.Popen:
    """``sim sweep`` on two workers, in a process group of its own (as a shell starts it)."""
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out),
                             "--workers", "2", "-q", *options], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def saved_runs(out: Path) -> int:
    return len(list((out / "runs").glob("run-*.parquet")))


def wait_for_runs(out: Path, n: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while saved_runs(out) < n:
        assert time.monotonic() < deadline, f"fewer than {n} runs after {timeout_s} s"
        time.sleep(0.02)


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it exited meanwhile
        return None
    return text.rpartition(")")[2].split()  # state, ppid, pgrp, ...


def group_members(pgid: int) -> list[int]:
    """Processes in process group ``pgid`` (zombies included), from /proc."""
    return [int(pid) for pid in os.listdir("/proc") if pid.isdigit()
            and (stat := _stat(pid)) is not None and int(stat[2]) == pgid]


def children(pid: int) -> list[int]:
    """Live child processes of ``pid``, from /proc."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit()
            and (stat := _stat(p)) is not None and int(stat[1]) == pid and stat[0] != "Z"]


def workers_of(proc: subprocess.Popen, n: int = 2, timeout_s: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while len(found := children(proc.pid)) < n:
        assert time.monotonic() < deadline, "the sweep's workers did not start"
        time.sleep(0.02)
    return found


def continue_with(text: str, after: str = "continue with: ") -> list[str]:
    """The command a sweep printed (after ``after``) to continue it, ready to run here."""
    command = shlex.split(text.split(after)[1].splitlines()[0])
    assert command[:2] == ["sim", "sweep"] and "--resume" in command
    return [sys.executable, "-m", "sim", *command[1:]]


def stop_and_check(proc: subprocess.Popen, out: Path, stop, status: int,
                   within_s: float = 5.0) -> str:
    """Stop the sweep with ``stop()``, check how it ended, return its standard error.

    It must exit with ``status`` within ``within_s`` seconds, leave no process of its
    group behind, and print no traceback.
    """
    assert len(children(proc.pid)) == 2
    began = time.monotonic()
    stop()
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the sweep hung after it was stopped")
    took = time.monotonic() - began
    assert proc.returncode == status, err
    assert took < within_s, f"took {took:.1f} s to exit"
    assert group_members(proc.pid) == [], "worker processes outlived the sweep"
    assert "Traceback" not in err
    return err


def assert_resumes_to(command: list[str], out: Path, clean: pd.DataFrame) -> None:
    """The printed command finishes the sweep, to the table of an uninterrupted one."""
    resumed = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), clean)


STOPS = {
    "ctrl-c to the sweep": (lambda p: os.kill(p.pid, signal.SIGINT), 130, "interrupted"),
    "ctrl-c at a terminal": (lambda p: os.killpg(p.pid, signal.SIGINT), 130, "interrupted"),
    "sigterm to the sweep": (lambda p: os.kill(p.pid, signal.SIGTERM), 143, "terminated"),
}


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("how", list(STOPS))
def test_a_stopped_sweep_ends_every_worker_within_seconds_and_says_how_to_resume(
        long_sweep, tmp_path, how):
    """Ctrl-C (to the sweep or its group) or SIGTERM ends it in seconds, and it can go on.

    Exit 130 (143 for SIGTERM), no worker left, no run recorded as failed; it prints
    the runs saved and the exact command that continues it, which completes the table
    of an uninterrupted sweep.
    """
    path, clean = long_sweep
    out = tmp_path / "s"
    send, status, word = STOPS[how]
    proc = start(path, out)
    wait_for_runs(out, 3)
    err = stop_and_check(proc, out, lambda: send(proc), status)
    saved = saved_runs(out)
    assert 3 <= saved < 20
    assert (f"{word}: {saved} runs are saved in {out}/; continue with: sim sweep {path} "
            f"--out {out} --resume --workers 2") in err
    statuses = pd.concat(pd.read_parquet(f) for f in (out / "runs").glob("*.parquet"))
    assert (statuses["status"] == "ok").all()
    assert_resumes_to(continue_with(err), out, clean)


@needs_proc
@pytest.mark.slow
def test_a_write_error_ends_every_worker_and_exits_1_saying_how_to_resume(long_sweep,
                                                                        tmp_path):
    """A failed write (as on a full disk) stops every worker and says how to go on.

    A file-size limit put on the running sweep makes its next run file fail to write:
    exit 1 within seconds, the error, the runs saved and the command to continue, which
    completes the same table once the cause is gone.
    """
    path, clean = long_sweep
    out = tmp_path / "s"
    proc = start(path, out)
    wait_for_runs(out, 3)
    limit = lambda: resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (512, 512))  # noqa: E731
    err = stop_and_check(proc, out, limit, 1)
    saved = saved_runs(out)
    assert "error: the sweep stopped: OSError:" in err and "File too large" in err
    assert f"{saved} runs are saved in {out}/; once that is fixed, continue with:" in err
    assert_resumes_to(continue_with(err), out, clean)


@needs_proc
@pytest.mark.slow
def test_a_run_whose_worker_is_killed_from_outside_is_run_again_not_recorded_failed(
        long_sweep, tmp_path):
    """A worker killed from outside (SIGKILL, as the out-of-memory killer sends) is no error.

    Its run goes to a fresh worker, and the table is exactly an undisturbed sweep's.
    """
    path, clean = long_sweep
    out = tmp_path / "s"
    proc = start(path, out)
    wait_for_runs(out, 3)
    victim = workers_of(proc)[0]
    os.kill(victim, signal.SIGKILL)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"worker process {victim} was lost (killed by SIGKILL); running it again" in err
    assert "20 runs, 0 failed;" in stdout and "lost" not in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), clean)
    assert group_members(proc.pid) == []


@needs_proc
@pytest.mark.slow
def test_a_run_lost_beyond_its_retries_is_recorded_lost_and_run_again_on_resume(long_sweep,
                                                                              tmp_path):
    """A run lost more often than ``--retries`` allows is kept as lost, for ``--resume``.

    The sweep finishes, says which run was lost and how to run it again, and that
    command does, to the table of an undisturbed sweep.
    """
    path, clean = long_sweep
    out = tmp_path / "s"
    proc = start(path, out, "--retries", "0")
    wait_for_runs(out, 3)
    os.kill(workers_of(proc)[0], signal.SIGKILL)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "20 runs, 0 failed, 1 lost with their worker process;" in stdout
    assert "(worker process lost: killed by SIGKILL (1 attempt)); run again by: sim sweep" \
        in stdout
    table = pd.read_parquet(out / "runs.parquet")
    (lost,) = table.index[table["status"] == "lost"]
    assert list((out / "runs").glob("lost-*.parquet")) == [
        out / "runs" / f"lost-{table.at[lost, 'run_id']:06d}.parquet"]
    assert json.loads((out / "sweep.json").read_text())["n_lost"] == 1
    assert_resumes_to(continue_with(stdout, "run again by: "), out, clean)
    assert not list((out / "runs").glob("lost-*.parquet"))


def test_a_worker_that_exits_with_an_error_of_its_own_stops_the_sweep(tmp_path):
    """A broken worker (here every worker exits with status 3 as it starts) is no lost run.

    Retrying it would start two processes a run for nothing: the sweep stops at once with
    exit 1, the worker's status, and the command to continue once that is fixed.
    """
    path = tmp_path / "long.toml"
    path.write_text(LONG)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(  # only workers run with PYTHONUNBUFFERED=1
        "import os\nif os.environ.get('PYTHONUNBUFFERED') == '1':\n    os._exit(3)\n")
    env = {key: value for key, value in ENV.items() if key != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    out = tmp_path / "s"
    done = subprocess.run([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out),
                           "--workers", "2", "-q"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    assert "error: the sweep stopped: WorkerError: worker process" in done.stderr
    assert "exited with status 3 by itself" in done.stderr
    assert f"0 runs are saved in {out}/; once that is fixed, continue with:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_run_that_fails_in_the_model_is_recorded_and_not_run_again_on_resume(tmp_path):
    """A model error is the run's result: ``--resume`` keeps its row and does not redo it."""
    path = tmp_path / "fail.toml"
    path.write_text(textwrap.dedent("""
        name = "fail"
        days = 0.5
        [parameters."missions.ru_derik.base"]
        values = ["qamishli_airport", "qasr_dib"]
        [parameters."missions.ru_derik.target"]
        values = ["derik", "qasr_dib"]
    """))
    first = sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    (failed,) = first.index[first["status"] == "failed"]
    file = tmp_path / "s" / "runs" / f"run-{first.at[failed, 'run_id']:06d}.parquet"
    written = file.stat().st_mtime_ns
    again = sweep(path, out=tmp_path / "s", workers=0, quiet=True, resume=True)
    pd.testing.assert_frame_equal(first, again)
    assert file.stat().st_mtime_ns == written


BASE = """
extends = "derik-june-2020"
name = "my-base"
[civilians]
trips_per_day = 2400
"""


def _small(tmp_path: Path, design: str = "") -> Path:
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "child.toml").write_text('extends = "base.toml"\nname = "child"\n')
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent("""
        name = "small"
        scenario = "child.toml"
        days = 0.5
        seed = 3
    """) + (design or textwrap.dedent("""
        [parameters."forces.US.posture.block"]
        values = [0.2, 0.9]
    """)))
    return path


def test_resuming_after_the_base_scenario_changed_is_refused_naming_the_field_and_file(
        tmp_path, run_cli):
    """A changed base scenario (anywhere in its ``extends`` chain) refuses ``--resume``.

    The refusal names the field and the file; a change that alters no value (a comment)
    is no change.
    """
    path = _small(tmp_path)
    out = tmp_path / "s"
    sweep(path, out=out, workers=0, quiet=True)
    (tmp_path / "base.toml").write_text(BASE.replace("2400", "3000"))
    status, _, err = run_cli("sweep", path, "--out", out, "--resume", "--workers", "0")
    assert status == 2
    assert ("refused: changed since the sweep started: the base scenario child.toml "
            "(civilians.trips_per_day 2400.0 → 3000.0; changed file: base.toml)") in err
    (tmp_path / "base.toml").write_text(BASE + "# only a comment\n")
    status, _, err = run_cli("sweep", path, "--out", out, "--resume", "--workers", "0", "-q")
    assert status == 0, err


def test_resuming_after_the_design_table_changed_is_refused_naming_the_file(tmp_path):
    path = _small(tmp_path, design=textwrap.dedent("""
        [design]
        kind = "table"
        table = "points.csv"
        [parameters."forces.US.posture.block"]
        range = [0.0, 1.0]
    """))
    (tmp_path / "points.csv").write_text("forces.US.posture.block\n0.2\n0.9\n")
    sweep(path, out=tmp_path / "s", workers=0, quiet=True)
    (tmp_path / "points.csv").write_text("forces.US.posture.block\n0.2\n0.8\n")
    with pytest.raises(InputError, match=r"the design table file points\.csv"):
        sweep(path, out=tmp_path / "s", workers=0, quiet=True, resume=True)


def test_a_refused_resume_names_each_option_that_changed_and_the_command_that_works(
        tmp_path, run_cli):
    """A refusal names what changed (``--replicates 1 → 3``, a field), not two hashes.

    It also gives the command that resumes with the options the sweep started with.
    """
    path = _small(tmp_path)
    out = tmp_path / "s"
    status, _, err = run_cli("sweep", path, "--out", out, "--workers", "0", "--replicates",
                             "1", "-q")
    assert status == 0, err
    status, _, err = run_cli("sweep", path, "--out", out, "--resume", "--replicates", "3")
    assert status == 2
    assert "refused: changed since the sweep started: --replicates 1 → 3" in err
    assert f"resume with: sim sweep {path} --out {out} --resume --replicates 1;" in err
    status, _, err = run_cli("sweep", path, "--out", out, "--resume", "--workers", "0", "-q")
    assert status == 0, err  # the file's replicates are 1 too: the same sweep
    path.write_text(path.read_text().replace("seed = 3", "seed = 4"))
    status, _, err = run_cli("sweep", path, "--out", out, "--resume", "--replicates", "1")
    assert status == 2 and "changed since the sweep started: seed 3 → 4" in err


def test_a_folder_left_by_a_kill_while_preparing_is_started_or_resumed(tmp_path):
    """A folder a kill left while the sweep was preparing it leads somewhere.

    Before its manifest is written it holds no run, so it counts as empty: a fresh start
    or ``--resume`` both run the sweep, clearing the leftovers. Once the manifest is
    written, ``--resume`` continues even with nothing else there.
    """
    path = _small(tmp_path)
    clean = sweep(path, out=tmp_path / "clean", workers=0, quiet=True)
    for resume in (False, True):
        out = tmp_path / f"left-{resume}"
        (out / "runs").mkdir(parents=True)
        (out / ".sweep.json.k2x9q1.tmp").write_text('{"name": "sm')
        (out / ".design.parquet.a81jd0.tmp").write_bytes(b"PAR1")
        table = sweep(path, out=out, workers=0, quiet=True, resume=resume)
        pd.testing.assert_frame_equal(table, clean)
        assert not list(out.glob(".*.tmp"))
    empty = tmp_path / "empty"
    empty.mkdir()
    pd.testing.assert_frame_equal(sweep(path, out=empty, workers=0, quiet=True, resume=True),
                                  clean)
    manifest_only = tmp_path / "manifest-only"
    manifest_only.mkdir()
    shutil.copy(tmp_path / "clean" / "sweep.json", manifest_only / "sweep.json")
    with pytest.raises(InputError, match="already holds files"):
        sweep(path, out=manifest_only, workers=0, quiet=True)
    pd.testing.assert_frame_equal(
        sweep(path, out=manifest_only, workers=0, quiet=True, resume=True), clean)


@needs_proc
@pytest.mark.slow
def test_a_sweep_killed_as_its_folder_appears_can_be_resumed(tmp_path):
    """SIGKILL to the whole group the moment the folder exists: ``--resume`` finishes it."""
    path = _small(tmp_path)
    clean = sweep(path, out=tmp_path / "clean", workers=0, quiet=True)
    out = tmp_path / "s"
    proc = start(path, out)
    deadline = time.monotonic() + 60
    while not out.exists():
        assert time.monotonic() < deadline and proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    resumed = subprocess.run([sys.executable, "-m", "sim", "sweep", str(path), "--out",
                              str(out), "--workers", "2", "--resume", "-q"],
                             capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), clean)
