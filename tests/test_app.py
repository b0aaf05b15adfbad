"""The SolaraViz app: its model, its map, its offline assets, and the page in a real browser.

The browser test starts ``solara run`` on the app as ``sim app`` does (assets from
the npm registry's tarballs, the CDN pointed at a closed port) and drives Debian's
Chromium with Playwright. It skips, saying why, where there is no Chromium or the
assets cannot be prepared; with ``PATROL_SIM_REQUIRE_BROWSER=1`` (set by
``.ci/run``) it fails instead.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import re
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from sim.errors import InputError, SetupError
from sim.viz import app_assets
from sim.viz.app_assets import (
    fetch_assets,
    missing_assets,
    require_assets,
    server_command,
    server_env,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
REQUIRE_BROWSER = os.environ.get("PATROL_SIM_REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (PATROL_SIM_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


# -- the model behind the page ----------------------------------------------------------

def test_sliders_set_their_scenario_parameters():
    """Each slider's keyword sets its dotted scenario parameter; villagers' sets every community."""
    from sim.viz.app import AppModel

    m = AppModel(us_block=0.2, ru_derik_per_day=2.0, trips_per_day=0, villagers_block=0.9,
                 seed="11")
    assert m.spec.forces["US"].posture.block == 0.2
    assert m.spec.missions["ru_derik"].per_day == 2.0
    assert m.spec.civilians.trips_per_day == 0
    assert {v.block for v in m.spec.villagers.values()} == {0.9}
    assert m.seed == 11 and m.us_block == 0.2 and m.trips_per_day == 0


def test_unset_sliders_keep_the_baseline():
    """A keyword left as None keeps the baseline scenario's value."""
    from sim.viz.app import AppModel, baseline

    m = AppModel(seed=1)
    assert m.spec.forces["US"].posture.block == baseline().forces["US"].posture.block
    assert m.spec.civilians.trips_per_day == baseline().civilians.trips_per_day


def test_a_step_advances_step_min_and_collects_once():
    """One app step is ``step_min`` simulated minutes and one row of the time series."""
    from sim.viz.app import AppModel

    m = AppModel(seed=7, step_min=30)
    for _ in range(3):
        m.step()
    df = m.datacollector.get_model_vars_dataframe()
    assert m.events.now == 90.0
    assert df["time_min"].tolist() == [30.0, 60.0, 90.0]


def test_the_app_model_stops_at_the_horizon():
    """``running`` turns False at the horizon, so Play stops there."""
    from sim.viz.app import AppModel

    m = AppModel(seed=7, days=0.25, step_min=60)
    steps = 0
    while m.running and steps < 100:
        m.step()
        steps += 1
    assert steps == 6 and m.events.now == 360.0


def test_a_bad_seed_is_refused_by_name():
    """Text in the seed box that is not a whole number is refused, naming the field."""
    from sim.viz.app import AppModel

    with pytest.raises(InputError, match="seed"):
        AppModel(seed="seven")


def test_every_slider_is_a_keyword_mesa_accepts():
    """SolaraViz rebuilds the model with ``type(model)(**params)``: Mesa's own check passes."""
    from mesa.visualization.solara_viz import _check_model_params

    from sim.viz.app import AppModel, model_params

    _check_model_params(AppModel.__init__, model_params())


def test_the_map_draws_everyone_on_the_network():
    """The map holds one marker per patrol, helicopter, standoff and civilian vehicle."""
    from sim.viz.app import AppModel, draw_map
    from sim.viz.positions import snapshot

    m = AppModel(seed=7, us_block=1.0, ru_derik_per_day=3.0)
    while not m.encounters.active and m.running:
        m.step()
    s = snapshot(m)
    (ax,) = draw_map(m).axes
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert len(s.standoff_lat) >= 1 and len(s.civilian_lat) > 0
    assert drawn == (len(s.patrol_lat) + len(s.civilian_lat) + len(s.standoff_lat)
                     + len(s.helicopter_lat))


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


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def fake_registry(monkeypatch):
    """A local npm registry holding ``@scope/pkg@1.0.0``; yields its tarball bytes by name."""
    tgz = _tarball({"package.json": b"{}", "dist/main.js": b"// main"})
    served = {"tgz": tgz}

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.endswith(".tgz"):
                body = served["tgz"]
            else:
                digest = base64.b64encode(hashlib.sha512(tgz).digest()).decode()
                body = json.dumps({"dist": {
                    "tarball": f"http://127.0.0.1:{self.server.server_port}/pkg-1.0.0.tgz",
                    "integrity": f"sha512-{digest}"}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.setattr(app_assets, "required_packages", lambda: ["@scope/pkg@1.0.0"])
    yield served
    server.shutdown()
    server.server_close()


def test_fetch_unpacks_each_package_where_solaras_proxy_looks(tmp_path, fake_registry):
    """A tarball unpacks as ``<folder>/<name>@<version>/``; a second fetch downloads nothing."""
    folder, fetched = fetch_assets(tmp_path)
    assert fetched == ["@scope/pkg@1.0.0"]
    assert (tmp_path / "@scope/pkg@1.0.0/dist/main.js").read_bytes() == b"// main"
    assert missing_assets(tmp_path) == []
    assert fetch_assets(tmp_path) == (folder, [])


def test_a_tarball_failing_its_checksum_is_refused(tmp_path, fake_registry, monkeypatch):
    """A download that does not match the registry's checksum is never unpacked."""
    fake_registry["tgz"] = _tarball({"package.json": b"{}", "dist/main.js": b"// evil"})

    def no_npm(package, work):
        raise OSError("npm is not installed")

    monkeypatch.setattr(app_assets, "_npm_pack", no_npm)
    with pytest.raises(SetupError, match="checksum"):
        fetch_assets(tmp_path)
    assert not (tmp_path / "@scope/pkg@1.0.0").exists()


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


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """``solara run sim.viz.app`` on the offline asset cache; yields (url, server log)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        folder, _ = fetch_assets()
    except SetupError as exc:
        skip_or_fail(f"Solara's browser assets cannot be prepared: {exc}")
    tmp = tmp_path_factory.mktemp("app")
    port, log = _free_port(), tmp / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(server_command(port), env={**os.environ, **server_env(folder)},
                                   stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer from {url} in 60 s:\n{log.read_text()}")
                time.sleep(0.2)
        yield url, log
    finally:  # the whole session: solara's reloader children too
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _trips(text: str) -> int:
    return int(re.search(r"Trips under way: (\d+)", text)[1])


@pytest.mark.slow
def test_the_page_shows_the_map_and_a_slider_changes_a_counter(app_server, tmp_path):
    """The page loads offline with map, counters and plots; a slider applies on Reset.

    With the baseline's demand, vehicles are under way at 01:30 on day 1; with the
    civilian-trips slider at 0, Reset and three steps, none are.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    url, log = app_server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            expect = sync_api.expect
            counter = page.locator(".counter-text")
            expect(counter).to_contain_text("Simulated time: 01 Jun 2020 00:00", timeout=30_000)
            expect(page.locator(".patrol-map img")).to_be_visible()
            expect(page.locator("img.widget-image")).to_have_count(3)  # map and two plots
            assert page.locator(".patrol-map img").evaluate("i => i.naturalWidth") > 300

            step = page.get_by_role("button", name="Step", exact=True)
            for _ in range(3):
                step.click()
            expect(counter).to_contain_text("01 Jun 2020 01:30")
            assert _trips(counter.inner_text()) > 0

            slider = page.locator(".v-input", has_text="Civilian trips per day").get_by_role(
                "slider")
            slider.focus()
            page.keyboard.press("Home")
            expect(slider).to_have_attribute("aria-valuenow", "0")
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(counter).to_contain_text("01 Jun 2020 00:00")
            for _ in range(3):
                step.click()
            expect(counter).to_contain_text("01 Jun 2020 01:30")
            expect(counter).to_contain_text("Trips under way: 0 (0 queued)")
            page.screenshot(path=tmp_path / "app.png")
        finally:
            browser.close()
    server_log = log.read_text()
    assert "Could not load URL" not in server_log
    assert "Traceback" not in server_log
