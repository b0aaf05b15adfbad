"""The SolaraViz app: its model, its map, its offline assets, and the page in a real browser.

The browser test starts ``solara run`` on the app as ``sim app`` does (assets from
the npm registry's tarballs, the CDN pointed at a closed port) and drives Debian's
Chromium with Playwright. It skips, saying why, where there is no Chromium or the
assets cannot be prepared; with ``PATROL_SIM_REQUIRE_BROWSER=1`` (set by
``.ci/run``) it fails instead.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.errors import InputError, SetupError
from sim.viz import app_assets
from sim.viz.app_assets import (
    ASSETS_ENV,
    fetch_assets,
    require_assets,
    server_command,
    server_env,
)
from sim.viz.app_source import SOURCE_ENV

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
REQUIRE_BROWSER = os.environ.get("PATROL_SIM_REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (PATROL_SIM_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


# -- the model behind the page ----------------------------------------------------------

def test_moved_sliders_set_their_scenario_parameters():
    """Each moved slider sets its dotted scenario parameter; villagers' sets every community."""
    from sim.viz.app_model import AppModel

    m = AppModel(us_block=0.2, ru_derik_per_day=2.0, trips_per_day=0, villagers_block=0.9,
                 seed="11")
    assert m.spec.forces["US"].posture.block == 0.2
    assert m.spec.missions["ru_derik"].per_day == 2.0
    assert m.spec.civilians.trips_per_day == 0
    assert {v.block for v in m.spec.villagers.values()} == {0.9}
    assert m.seed == 11 and m.us_block == 0.2 and m.trips_per_day == 0


def test_sliders_at_their_starting_values_keep_the_scenario_as_it_is():
    """A slider at its starting value changes nothing, so communities keep their own values."""
    from sim.viz.app_model import AppModel, model_params, scenario_spec
    from sim.viz.app_source import AppSource

    params = model_params(AppSource("scenario", "derik-june-2020"))
    start = {name: params[name]["value"] for name in
             ("us_block", "ru_derik_per_day", "trips_per_day", "villagers_block")}
    m = AppModel(**start, seed=1)
    assert m.spec == AppModel(seed=1).spec
    assert {v.block for v in m.spec.villagers.values()} == {
        v.block for v in scenario_spec("derik-june-2020").villagers.values()}
    assert len({v.block for v in m.spec.villagers.values()}) > 1


def test_picking_another_scenario_runs_it_with_its_own_values():
    """Sliders left where the served scenario put them do not carry its values over."""
    from sim.viz.app_model import AppModel, scenario_spec

    base = scenario_spec("derik-june-2020")
    m = AppModel(ru_derik_per_day=base.missions["ru_derik"].per_day, us_block=0.3,
                 scenario_ref="qasr-dib-base", sliders_from="derik-june-2020", seed=1)
    qasr = scenario_spec("qasr-dib-base")
    assert m.spec.name == "qasr-dib-base"
    assert m.spec.missions["ru_derik"].per_day == qasr.missions["ru_derik"].per_day != (
        base.missions["ru_derik"].per_day)
    assert m.spec.forces["US"].posture.block == 0.3  # a moved slider still applies


def test_a_step_advances_step_min_and_collects_once():
    """One app step is ``step_min`` simulated minutes and one row of the time series."""
    from sim.viz.app_model import AppModel

    m = AppModel(seed=7, step_min=30)
    for _ in range(3):
        m.step()
    df = m.datacollector.get_model_vars_dataframe()
    assert m.events.now == 90.0
    assert df["time_min"].tolist() == [30.0, 60.0, 90.0]


def test_the_app_model_stops_at_the_horizon():
    """``running`` turns False at the horizon, so Play stops there."""
    from sim.viz.app_model import AppModel

    m = AppModel(seed=7, days=0.25, step_min=60)
    steps = 0
    while m.running and steps < 100:
        m.step()
        steps += 1
    assert steps == 6 and m.events.now == 360.0


def test_a_bad_seed_is_refused_by_name():
    """Text in the seed box that is not a whole number is refused, naming the field."""
    from sim.viz.app_model import AppModel

    with pytest.raises(InputError, match="seed"):
        AppModel(seed="seven")


def _between_forces(model):
    return [s for s in model.encounters.standoffs if s.kind != "villagers"]


def test_the_run_opens_at_its_first_standoff_between_forces():
    """Opened at the first standoff, the model is where it begins: under way, and the only one."""
    from sim.viz.app_model import AT_FIRST_STANDOFF, AppModel

    m = AppModel(seed=7, open_at=AT_FIRST_STANDOFF)
    (first,) = _between_forces(m)
    assert first in m.encounters.active and first.start == m.events.now > 0
    assert m.standoff_openings()[0] == m.events.now


def test_a_run_without_standoffs_opens_at_its_start():
    """Where no forces meet (deconfliction), the run opens at its start, not its end."""
    from sim.viz.app_model import AT_FIRST_STANDOFF, AppModel

    m = AppModel(scenario_ref="deconfliction", open_at=AT_FIRST_STANDOFF, days=2, seed=7)
    assert m.events.now == 0.0 and m.running and m.next_standoff_min() is None


def test_next_standoff_moves_to_where_the_next_one_begins():
    """Each jump lands on a new standoff between forces, under way; after the last, None."""
    from sim.viz.app_model import AppModel

    m = AppModel(seed=7, days=13)
    openings = m.standoff_openings()
    assert len(openings) >= 2
    for k, when in enumerate(openings, start=1):
        assert m.next_standoff_min() == when
        assert m.seek(when) is m
        assert len(_between_forces(m)) == k and _between_forces(m)[-1] in m.encounters.active
    assert m.next_standoff_min() is None


def test_going_back_re_simulates_the_same_history():
    """Seeking back starts the run again; forward again, it has the same standoffs and delay."""
    from sim.viz.app_model import AppModel

    m = AppModel(seed=7, days=3).seek(2500.0)
    before = [(s.standoff_id, s.start, s.end) for s in m.encounters.standoffs]
    delay = m.traffic.vehicle_hours_delay
    back = m.seek(100.0)
    assert back is not m and back.events.now == 100.0
    assert back.datacollector.get_model_vars_dataframe()["time_min"].tolist() == [
        30.0, 60.0, 90.0, 100.0]
    again = back.seek(2500.0)
    assert again is back and before
    assert [(s.standoff_id, s.start, s.end) for s in again.encounters.standoffs] == before
    assert again.traffic.vehicle_hours_delay == delay


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A finished two-day run of the baseline, written as ``sim run`` writes it."""
    import sim

    return sim.run("derik-june-2020", seed=7, days=2).write(
        tmp_path_factory.mktemp("runs") / "baseline")


def test_a_replay_is_the_run_event_for_event(run_folder):
    """Replayed to its horizon, a run folder gives back its own standoffs and summary."""
    from sim.io.results import RunResult
    from sim.viz.app_model import ReplayModel

    written = RunResult.read(run_folder)
    m = ReplayModel(str(run_folder))
    assert m.seek(1e9) is m and not m.running
    again = RunResult.from_model(m)
    columns = ["standoff_id", "kind", "start", "end", "outcome"]
    assert len(written.standoffs) > 0
    assert again.standoffs[columns].equals(written.standoffs[columns])
    assert again.summary["vehicle_hours_delay"] == written.summary["vehicle_hours_delay"]


def test_the_source_is_a_scenario_name_a_file_or_a_run_folder(run_folder, tmp_path):
    """Names stay names, files and run folders become absolute; anything else is refused."""
    from sim.scenario.loading import shipped_scenarios
    from sim.viz.app_source import AppSource, resolve_source

    assert resolve_source(None) == AppSource("scenario", "derik-june-2020")
    assert resolve_source("qasr-dib-base") == AppSource("scenario", "qasr-dib-base")
    file = shipped_scenarios()["us-drawdown"]
    assert resolve_source(str(file)) == AppSource("scenario", str(file.resolve()))
    assert resolve_source(str(run_folder)) == AppSource("run", str(run_folder.resolve()))
    with pytest.raises(InputError, match="not a run folder"):
        resolve_source(str(tmp_path))
    with pytest.raises(InputError, match="no-such-scenario"):
        resolve_source("no-such-scenario")


def test_sim_app_refuses_a_bad_source_before_serving(tmp_path, capsys):
    """``sim app`` checks what it is to serve and exits 2, naming it, with no server started."""
    from sim.cli import main

    assert main(["app", str(tmp_path), "--no-open", "--port", "9"]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_the_parameters_fit_the_source(run_folder):
    """A scenario gets a picker of every shipped one and sliders at its values; a replay none."""
    from sim.scenario.loading import shipped_scenarios
    from sim.viz.app_model import model_params, scenario_spec
    from sim.viz.app_source import AppSource

    params = model_params(AppSource("scenario", "qasr-dib-base"))
    assert params["scenario_ref"]["value"] == "qasr-dib-base"
    assert params["scenario_ref"]["values"] == list(shipped_scenarios())
    qasr = scenario_spec("qasr-dib-base")
    assert params["ru_derik_per_day"]["value"] == qasr.missions["ru_derik"].per_day
    file = str(shipped_scenarios()["us-drawdown"])
    assert model_params(AppSource("scenario", file))["scenario_ref"]["values"][0] == file
    replay = model_params(AppSource("run", str(run_folder)))
    assert set(replay) == {"run_folder", "open_at"}


def test_every_parameter_is_a_keyword_mesa_accepts(run_folder):
    """SolaraViz rebuilds the model with ``type(model)(**params)``: Mesa's own check passes."""
    __import__("sim.viz.app")  # first: it imports Mesa's SolaraViz without its hook warning
    from mesa.visualization.solara_viz import _check_model_params

    from sim.viz.app_model import AppModel, ReplayModel, build_model, model_params
    from sim.viz.app_source import AppSource

    for source, cls in [(AppSource("scenario", "derik-june-2020"), AppModel),
                        (AppSource("run", str(run_folder)), ReplayModel)]:
        _check_model_params(cls.__init__, model_params(source))
        assert type(build_model(source)) is cls


def test_the_map_draws_everyone_on_the_network():
    """The map holds one marker per patrol, helicopter, standoff and civilian vehicle."""
    import PIL.Image

    from sim.viz.app_map import live_map, map_png
    from sim.viz.app_model import AT_FIRST_STANDOFF, AppModel
    from sim.viz.positions import snapshot

    m = AppModel(seed=7, open_at=AT_FIRST_STANDOFF)
    s = snapshot(m)
    live = live_map(m)
    live.update(m)
    drawn = sum(len(layer.get_offsets()) for layer in live.layers.values())
    assert len(s.standoff_lat) >= 1 and len(s.civilian_lat) > 0
    assert drawn == (len(s.patrol_lat) + len(s.civilian_lat) + len(s.standoff_lat)
                     + len(s.helicopter_lat))
    image = PIL.Image.open(io.BytesIO(map_png(m)))
    assert image.format == "PNG" and image.width >= 1000


# -- offline assets -------------------------------------------------------------------------

def test_the_assets_are_the_packages_solaras_page_loads():
    """The list is read from Solara's templates: its Vue 2 app and RequireJS, pinned."""
    packages = app_assets.required_packages()
    assert any(p.startswith("@widgetti/solara-vuetify-app@") for p in packages)
    assert any(p.startswith("requirejs@") for p in packages)
    assert not any("vuetify3" in p for p in packages)


def test_a_missing_cache_says_how_to_fetch_it(tmp_path):
    """Without the assets the app refuses to start and names the one-time fix."""
    with pytest.raises(SetupError, match=r"sim app --fetch-assets"):
        require_assets(tmp_path)


def test_the_server_is_kept_off_the_internet():
    """The CDN is a closed local port and telemetry is off."""
    env = server_env(Path("assets"))
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert "--production" in server_command(8765)


# -- the page in a browser ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trips(text: str) -> int:
    return int(re.search(r"Trips under way: (\d+)", text)[1])


@pytest.fixture(scope="module")
def asset_folder():
    """Solara's browser assets, where there is a Chromium to load them in."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        folder, _ = fetch_assets()
    except SetupError as exc:
        skip_or_fail(f"Solara's browser assets cannot be prepared: {exc}")
    return folder


@contextlib.contextmanager
def _serving(command: list[str], env: dict[str, str], tmp: Path):
    """Run a server command in its own session; yield (url, log) once it answers."""
    port, log = int(command[command.index("--port") + 1]), tmp / "server.log"
    env = {**{k: v for k, v in os.environ.items() if k != SOURCE_ENV}, **env}  # no stray source
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=tmp, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer from {url} in 90 s:\n{log.read_text()}")
                time.sleep(0.2)
        yield url, log
    finally:  # the whole session: `sim app`, solara and its reloader children
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    server_log = log.read_text()
    assert "Could not load URL" not in server_log
    assert "Traceback" not in server_log


@pytest.fixture(scope="module")
def app_server(asset_folder, tmp_path_factory):
    """``solara run sim.viz.app`` on the offline asset cache (the baseline); yields (url, log)."""
    tmp = tmp_path_factory.mktemp("app")
    with _serving(server_command(_free_port()), server_env(asset_folder), tmp) as served:
        yield served


@contextlib.contextmanager
def _sim_app(source: str, asset_folder: Path, tmp: Path):
    """``sim app SOURCE`` (as a user runs it); yields (url, log)."""
    command = [sys.executable, "-m", "sim", "app", source, "--no-open", "--port",
               str(_free_port())]
    with _serving(command, {ASSETS_ENV: str(asset_folder)}, tmp) as served:
        yield served


@contextlib.contextmanager
def _browser_page(sync_api, url: str):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            yield page
        finally:
            browser.close()


def _expected_clock(model) -> str:
    from sim.viz.app import counter_lines

    return counter_lines(model)[0]


def _slider_hours(model) -> str:
    """The time slider's value for the model's time, as Vuetify rounds it to its step."""
    from sim.viz.app import TIME_STEP_H

    steps = math.floor(model.events.now / 60.0 / TIME_STEP_H + 0.5)  # JavaScript's Math.round
    return f"{steps * TIME_STEP_H:g}"


def _standoffs_under_way(text: str) -> int:
    return int(re.search(r"\((\d+) under way", text)[1])


@pytest.mark.slow
def test_the_page_opens_at_a_standoff_with_a_large_map_and_every_value_shown(
        app_server, tmp_path):
    """The baseline opens at its first standoff between forces, on a map over 700 px wide.

    No "Page 0" tab; every slider shows its value as text; Step, "Next standoff" and
    the time slider move the clock as the model does; a slider applies on Reset
    (civilian trips at 0: none under way).
    """
    from sim.viz.app_model import build_model
    from sim.viz.app_source import AppSource

    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    model = build_model(AppSource("scenario", "derik-june-2020"))
    url, _ = app_server
    with _browser_page(sync_api, url) as page:
        counter = page.locator(".counter-text")
        expect(counter).to_contain_text(_expected_clock(model), timeout=30_000)
        assert _standoffs_under_way(counter.inner_text()) >= 1
        expect(page.locator(".source-line")).to_contain_text("Scenario derik-june-2020")
        expect(page.locator(".patrol-map img")).to_be_visible()
        expect(page.locator(".patrol-plots img")).to_be_visible()
        assert page.locator(".patrol-map img").bounding_box()["width"] >= 700
        expect(page.get_by_role("tab")).to_have_count(0)
        expect(page.get_by_text("Page 0")).to_have_count(0)
        for label, value in [("US blocking propensity", "0.55"),
                             ("Russian Derik patrols per day", "0.5"),
                             ("Civilian trips per day", "2400"),
                             ("Villagers' blocking propensity", "0.18")]:
            slider = page.locator(".v-input", has_text=label)
            expect(slider.locator(".v-slider__thumb-label")).to_be_visible()
            expect(slider.locator(".v-slider__thumb-label")).to_have_text(value)
        page.screenshot(path=tmp_path / "app-opening.png")

        step = page.get_by_role("button", name="Step", exact=True)
        for _ in range(3):
            step.click()
            model.step()
        expect(counter).to_contain_text(_expected_clock(model))
        assert _trips(counter.inner_text()) > 0

        time_slider = page.locator(".time-row").get_by_role("slider")
        expect(time_slider).to_have_attribute("aria-valuenow", _slider_hours(model))
        page.get_by_role("button", name="Next standoff").click()
        model = model.seek(model.next_standoff_min())
        expect(counter).to_contain_text(_expected_clock(model))
        expect(time_slider).to_have_attribute("aria-valuenow", _slider_hours(model))
        assert _standoffs_under_way(counter.inner_text()) >= 1

        time_slider.focus()
        page.keyboard.press("Home")
        expect(counter).to_contain_text("Simulated time: 01 Jun 2020 00:00 (day 1 of 30)")

        slider = page.locator(".v-input", has_text="Civilian trips per day").get_by_role(
            "slider")
        slider.focus()
        page.keyboard.press("Home")
        expect(slider).to_have_attribute("aria-valuenow", "0")
        page.get_by_role("button", name="Reset", exact=True).click()
        expect(counter).to_contain_text(_expected_clock(model.restarted().seek(
            model.standoff_openings()[0])))
        expect(counter).to_contain_text("Trips under way: 0 (0 queued)")
        page.screenshot(path=tmp_path / "app.png")


@pytest.mark.slow
def test_sim_app_serves_the_scenario_it_is_given(asset_folder, tmp_path):
    """``sim app qasr-dib-base`` shows that scenario: named, picked, its values on the sliders."""
    from sim.viz.app_model import build_model
    from sim.viz.app_source import AppSource

    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    model = build_model(AppSource("scenario", "qasr-dib-base"))
    with _sim_app("qasr-dib-base", asset_folder, tmp_path) as (url, _), \
            _browser_page(sync_api, url) as page:
        counter = page.locator(".counter-text")
        expect(counter).to_contain_text(_expected_clock(model), timeout=30_000)
        expect(page.locator(".source-line")).to_contain_text("Scenario qasr-dib-base")
        expect(page.locator(".v-select", has_text="Scenario")).to_contain_text("qasr-dib-base")
        derik = page.locator(".v-input", has_text="Russian Derik patrols per day")
        expect(derik.locator(".v-slider__thumb-label")).to_have_text("0.25")
        page.screenshot(path=tmp_path / "app-qasr-dib.png")


@pytest.mark.slow
def test_sim_app_replays_a_run_folder_with_a_time_slider(asset_folder, run_folder, tmp_path):
    """``sim app RUN`` replays the run: no sliders to change it, and a time slider.

    The replay opens at a standoff; at its end it shows the run's own standoff
    count; it goes back to the start, and forward a quarter of an hour at a key.
    """
    from sim.io.results import RunResult

    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    n_standoffs = len(RunResult.read(run_folder).standoffs)
    with _sim_app(str(run_folder), asset_folder, tmp_path) as (url, _), \
            _browser_page(sync_api, url) as page:
        counter = page.locator(".counter-text")
        expect(page.locator(".source-line")).to_contain_text("Replay of run folder baseline",
                                                             timeout=30_000)
        assert _standoffs_under_way(counter.inner_text()) >= 1  # opened at a standoff
        expect(page.locator(".v-input", has_text="US blocking propensity")).to_have_count(0)
        time_slider = page.locator(".time-row").get_by_role("slider")
        time_slider.focus()
        page.keyboard.press("End")
        expect(counter).to_contain_text("Simulated time: 03 Jun 2020 00:00 (day 2 of 2)")
        expect(counter).to_contain_text(f"Standoffs: {n_standoffs} (")
        expect(time_slider).to_have_attribute("aria-valuenow", "48")
        page.keyboard.press("Home")
        expect(counter).to_contain_text("Simulated time: 01 Jun 2020 00:00 (day 1 of 2)")
        page.keyboard.press("ArrowRight")
        expect(counter).to_contain_text("Simulated time: 01 Jun 2020 00:15")
        page.screenshot(path=tmp_path / "app-replay.png")
