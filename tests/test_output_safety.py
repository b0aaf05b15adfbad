"""Output that cannot be written: refused before the work, or a clear message, never a mess.

Uses real filesystems: a read-only and a 1 MB tmpfs mounted for the test where the
machine allows it (root), else a folder without write permission.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.io.atomic import remove_stale

ENV = {**os.environ, "PYTHONWARNINGS": "error"}


def _mount(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def read_only(tmp_path):
    where = tmp_path / "ro"
    if _mount(where, "size=1m,ro"):
        yield where
        subprocess.run(["umount", str(where)], check=True)
    elif os.geteuid() != 0:
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
    else:
        pytest.skip("root without mount: no folder here is read-only")


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "small"
    if not _mount(where, "size=1m"):
        pytest.skip("mounting a small filesystem needs root")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=300)


@pytest.mark.slow
def test_sim_run_refuses_a_read_only_output_before_simulating(read_only):
    proc = sim("run", "derik-june-2020", "--seed", 1, "--days", 30, "--out", read_only / "run")
    assert proc.returncode == 2, proc.stderr
    assert "--out cannot be written" in proc.stderr and "Traceback" not in proc.stderr
    assert list(read_only.iterdir()) == []


@pytest.mark.slow
def test_a_full_disk_mid_write_is_a_message_and_leaves_nothing_that_looks_whole(small_disk):
    proc = sim("run", "derik-june-2020", "--seed", 1, "--days", 30, "--out", small_disk / "run")
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    assert list(small_disk.iterdir()) == []  # no run folder, no temporary leftovers


@pytest.mark.slow
def test_plot_and_export_of_a_run_in_a_read_only_folder_fail_cleanly(tmp_path, read_only):
    run = tmp_path / "run"
    assert sim("run", "derik-june-2020", "--seed", 1, "--days", 1, "--out", run,
               "-q").returncode == 0
    if read_only.stat().st_dev != tmp_path.stat().st_dev:  # tmpfs: remount the run there
        subprocess.run(["mount", "-o", "remount,rw", str(read_only)], check=True)
        subprocess.run(["cp", "-r", str(run), str(read_only)], check=True)
        subprocess.run(["mount", "-o", "remount,ro", str(read_only)], check=True)
    else:
        subprocess.run(["cp", "-r", str(run), str(read_only)], check=False)
    for command in (("plot", read_only / "run"), ("export", read_only / "run", "--geojson")):
        proc = sim(*command)
        assert proc.returncode in (1, 2), proc.stderr
        assert "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_leftovers_of_a_killed_writer_are_removed_but_a_live_writers_are_kept(tmp_path):
    host = socket.gethostname().replace(".", "_")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run.{host}-{dead.pid}.abc.partial"
    stale.mkdir()
    (stale / "trips.parquet").write_bytes(b"half")
    live = tmp_path / f".run.{host}-{os.getpid()}.def.partial"
    live.mkdir()
    other_host = tmp_path / f".run.elsewhere-{dead.pid}.ghi.partial"
    other_host.mkdir()
    assert remove_stale(tmp_path, "run") == 1
    assert not stale.exists() and live.exists() and other_host.exists()


@pytest.mark.slow
def test_sim_run_cleans_up_after_a_run_killed_in_the_same_folder(tmp_path):
    import signal
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "derik-june-2020", "--seed", "1",
                             "--days", "60", "--out", str(out), "-q"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".run.*.partial/*")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".run.*.partial")), "the kill came too late to leave a partial"
    assert sim("run", "derik-june-2020", "--seed", 1, "--days", 1, "--out", out,
               "-q").returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_new_writer_clears_a_folder_of_dead_writers_leftovers_once(tmp_path):
    """Sweep run files: one listing of the folder per process, not one per file written."""
    from sim.io import atomic

    host = socket.gethostname().replace(".", "_")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run-000007.parquet.{host}-{dead.pid}.x1.tmp"
    stale.write_bytes(b"half")
    keep = tmp_path / ".hidden-notes"
    keep.write_text("mine")
    atomic._SWEPT.discard(tmp_path)
    atomic.atomic_write(tmp_path / "run-000001.parquet", lambda p: p.write_bytes(b"x"))
    assert not stale.exists() and keep.exists() and tmp_path in atomic._SWEPT
    stale.write_bytes(b"half")  # appears later: this process does not list the folder again
    atomic.atomic_write(tmp_path / "run-000002.parquet", lambda p: p.write_bytes(b"y"))
    assert stale.exists()
