"""The ``sim`` command as a user runs it (a subprocess where it matters), with real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.io.results import LOGS
from tests.conftest import line_nodes, write_graphml

ENV = {**os.environ, "PYTHONWARNINGS": "error"}


def sim_cli(*args, cwd=None, check=False):
    proc = subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def test_sim_run_prints_the_summary_and_writes_every_log(tmp_path):
    proc = sim_cli("run", "derik-june-2020", "--seed", 7, "--days", 3, "--out", "runs/base",
                   "--csv", cwd=tmp_path, check=True)
    for label in ("standoffs", "standoff hours", "vehicle-hours of civilian delay",
                  "turned back"):
        assert label in proc.stdout
    out = tmp_path / "runs" / "base"
    for name in LOGS:
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    record = json.loads((out / "run.json").read_text())
    assert record["provenance"]["seed"] == 7 and record["summary"]["days"] == 3


def test_sim_run_takes_a_file_path_and_chooses_an_output_folder(tmp_path):
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "us-drawdown.toml"
    proc = sim_cli("run", scenario, "--seed", 2, "--days", 1, "-q", cwd=tmp_path, check=True)
    assert (tmp_path / "runs" / "us-drawdown-seed2-1d" / "run.json").is_file()
    assert "wrote runs/us-drawdown-seed2-1d/" in proc.stdout


def test_sim_run_never_overwrites_an_earlier_run_without_force(tmp_path, run_cli):
    """The README's sequence: an override run, then a plain one, keep both folders."""
    base = ("run", "derik-june-2020", "--seed", 7, "--days", 1, "-q")
    status, _, _ = run_cli(*base, "--set", "forces.US.posture.block=0.3", cwd=tmp_path)
    assert status == 0
    status, _, _ = run_cli(*base, cwd=tmp_path)
    assert status == 0
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == 2 and folders[0] == "derik-june-2020-seed7-1d"
    assert folders[1].startswith("derik-june-2020-seed7-1d-set")
    record = json.loads((tmp_path / "runs" / folders[1] / "run.json").read_text())
    assert record["provenance"]["overrides"]["forces.US.posture.block"] == 0.3

    before = (tmp_path / "runs" / folders[0] / "run.json").read_bytes()
    status, _, err = run_cli(*base, "--seed", 8, "--out", f"runs/{folders[0]}", cwd=tmp_path)
    assert status == 2 and "already holds a run" in err and "--force" in err
    assert (tmp_path / "runs" / folders[0] / "run.json").read_bytes() == before
    status, _, _ = run_cli(*base, "--seed", 8, "--out", f"runs/{folders[0]}", "--force",
                           cwd=tmp_path)
    record = json.loads((tmp_path / "runs" / folders[0] / "run.json").read_text())
    assert status == 0 and record["provenance"]["seed"] == 8


def test_an_override_runs_header_names_its_overrides(tmp_path, run_cli):
    status, out, _ = run_cli("run", "derik-june-2020", "--seed", 7, "--set", "days=1",
                             "--set", "forces.US.posture.block=0.3", cwd=tmp_path)
    assert status == 0
    assert "with forces.US.posture.block = 0.3\n" in out
    assert "seed 7, 1 days" in out


def test_days_and_seed_can_come_as_overrides_too(tmp_path, run_cli):
    """``--set days=`` and ``overrides={"days": ...}`` used to crash with a TypeError."""
    import sim

    a = sim.run("derik-june-2020", overrides={"days": 1, "seed": 3})
    b = sim.run("derik-june-2020", seed=3, days=1)
    assert a.summary == b.summary and a.provenance["seed"] == 3
    with pytest.raises(sim.InputError, match="days is given twice"):
        sim.run("derik-june-2020", days=2, overrides={"days": 1})
    status, _, err = run_cli("run", "derik-june-2020", "--days", 2, "--set", "days=1",
                             cwd=tmp_path)
    assert status == 2 and "days is given twice" in err


@pytest.mark.parametrize(("args", "message"), [
    (["run", "bad.toml"], "bad.toml: is not valid TOML"),
    (["run", "derik-june-2020", "--set", "forces.US.posture.block=1.5"],
     "forces.US.posture.block = 1.5 must be a probability in [0, 1]"),
    (["run", "derik-june-2020", "--set", "nonsense"], "--set = 'nonsense' is not NAME=VALUE"),
    (["run", "derik-june-2020", "--set", "missions.ru_derik.per_day=-2"],
     "missions.ru_derik.per_day = -2 must be >= 0"),
    (["run", "derik-june-2020", "--seed", "-1"], "seed = -1 must be an integer >= 0"),
    (["run", "nowhere"], "nowhere: scenario is not a shipped scenario"),
])
def test_bad_input_exits_2_with_one_clear_message_and_writes_nothing(tmp_path, args, message,
                                                                   run_cli):
    (tmp_path / "bad.toml").write_text("name = \n")
    status, _, err = run_cli(*args, "--out", "out", cwd=tmp_path)
    assert status == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_sim_scenarios_lists_each_shipped_scenario_on_one_line(run_cli):
    lines = run_cli("scenarios")[1].splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(["derik-june-2020", "qasr-dib-base", "us-drawdown",
                            "joint-patrol-surge", "villagers-resist", "deconfliction"])


def test_sim_network_summarises_the_builtin_network(run_cli):
    out = run_cli("network")[1]
    assert "nodes 34, named places 34" in out and "roads 41" in out


def test_sim_network_validates_a_users_file_and_says_what_it_dropped(tmp_path, run_cli):
    nodes = {**line_nodes("abc"), "z": (37.05, 42.05)}
    path = write_graphml(tmp_path / "my-roads.graphml", nodes,
                         [("a", "b", 1, 50), ("b", "c", 2, 50)])
    out = run_cli("network", path)[1]
    assert "nodes 3" in out and "dropped 1 nodes outside the largest strongly" in out
    broken = tmp_path / "broken.graphml"
    broken.write_text("<graphml>")
    status, _, err = run_cli("network", broken)
    assert status == 2 and "broken.graphml: network is not readable GraphML" in err


def test_sim_validate_checks_every_shipped_scenario(run_cli):
    out = run_cli("validate", "derik-june-2020", "qasr-dib-base", "deconfliction")[1]
    assert out.count("ok: ") == 3


def complete(folder: Path) -> bool:
    return (folder / "run.json").is_file() and all(
        (folder / f"{name}.parquet").is_file() for name in LOGS)


@pytest.mark.slow
def test_a_killed_run_never_leaves_a_folder_that_looks_complete(tmp_path):
    """SIGKILL at several moments: the output folder is absent or whole, never partial."""
    out = tmp_path / "out"
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "derik-june-2020",
                                 "--seed", "1", "--days", "30", "--out", str(out), "-q"],
                                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists() or complete(out)
        visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
        assert visible in ([], ["out"])
    sim_cli("run", "derik-june-2020", "--seed", 1, "--days", 2, "--out", out, "-q", "--force",
            check=True)
    assert complete(out)


def test_a_run_from_a_relative_path_can_be_drawn_and_exported_from_any_folder(tmp_path,
                                                                            run_cli):
    """A relative scenario naming a relative network records the network's absolute path."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    nodes = line_nodes("abc")
    write_graphml(project / "sub" / "roads.graphml", nodes, [("a", "b", 5, 50),
                                                             ("b", "c", 5, 50)])
    places = "\n".join(f"[places.{n}]\nlat = {lat}\nlon = {lon}\nkind = \"town\"\n"
                        f"population = 5000\n" for n, (lat, lon) in nodes.items())
    (project / "sub" / "mine.toml").write_text(
        'name = "mine"\ndays = 1\nnetwork = "roads.graphml"\n[forces.US]\n' + places)
    status, _, err = run_cli("run", "sub/mine.toml", "--seed", 1, "--out", "runs/mine", "-q",
                             cwd=project)
    assert status == 0, err
    record = json.loads((project / "runs" / "mine" / "run.json").read_text())
    source = record["provenance"]["network"]["source"]
    assert Path(source).is_absolute() and Path(source).is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status, _, err = run_cli("export", project / "runs" / "mine", "--geojson", "--out", "gj",
                             cwd=elsewhere)
    assert status == 0, err
    assert (elsewhere / "gj" / "network.geojson").is_file()


def test_a_missing_tool_is_a_setup_error_with_exit_1_not_bad_input(tmp_path, run_cli,
                                                                   monkeypatch):
    """An MP4 needs ffmpeg: without it on the PATH, say so and how to get it (exit 1)."""
    status, _, err = run_cli("run", "derik-june-2020", "--seed", 1, "--days", 1, "--out",
                             tmp_path / "r", "-q")
    assert status == 0, err
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    status, _, err = run_cli("animate", tmp_path / "r", "--out", tmp_path / "film.mp4")
    assert status == 1
    assert "ffmpeg, which is not installed" in err and "or write a .gif" in err
    assert not (tmp_path / "film.mp4").exists()


FOURTH_FORCE = """
extends = "derik-june-2020"
name = "fourth"
rivalries = [["US", "RU"], ["US", "RU+TR"], ["XX", "RU"]]
[forces.XX]
name = "A fourth force"
[forces.XX.posture]
deploy_blocking = 0.3
[forces.XX.blocking]
base = "yaarubiyah"
protect = ["derik"]
triggers = ["approach"]
within_km = 5
lead_min = 600
"""


def test_validate_warns_of_a_setting_that_can_never_act_and_the_run_counts_it(tmp_path,
                                                                              run_cli):
    """A fourth force's blocking whose base can never be ahead of a rival: warned, and zero."""
    (tmp_path / "fourth.toml").write_text(FOURTH_FORCE)
    status, out, _ = run_cli("validate", "fourth.toml", cwd=tmp_path)
    assert status == 0
    assert ("warning: forces.XX.posture.deploy_blocking = 0.3 can never take effect" in out)
    status, out, _ = run_cli("validate", "derik-june-2020", cwd=tmp_path)
    assert "warning" not in out
    status, out, _ = run_cli("run", "fourth.toml", "--seed", 1, "--days", 3, cwd=tmp_path)
    assert status == 0
    lines = [line.split() for line in out.splitlines()]
    assert ["XX", "0"] in lines and any(line[:1] == ["US"] for line in lines)
