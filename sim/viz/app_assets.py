"""Serve the app offline: Solara's browser assets from npm, and the server launcher.

Solara's page loads its JavaScript and CSS (its Vuetify 2 app, RequireJS, Font
Awesome, the grid layout) through a local proxy that fetches each file from a
CDN on first use. Where the CDN is out of reach the page stays blank, so
:func:`fetch_assets` fills the proxy's cache once from the npm registry's
tarballs of the exact versions the installed Solara asks for, and
:func:`serve` starts ``solara run`` on that cache with the CDN pointed at a
closed local port (a missing file then fails at once, and nothing is fetched
from the internet) and Solara's telemetry off.

The cache folder is ``$PATROL_SIM_ASSETS_DIR``, else
``$XDG_CACHE_HOME/patrol-sim/solara-assets`` (``~/.cache/...``). The registry is
npm's own setting, ``$npm_config_registry``, else ``https://registry.npmjs.org/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from importlib import util
from pathlib import Path

from sim.errors import SetupError

log = logging.getLogger(__name__)

ASSETS_ENV = "PATROL_SIM_ASSETS_DIR"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
#: The discard port: with the CDN here, a file missing from the cache fails at once.
OFFLINE_CDN = "http://127.0.0.1:9/npm/"
APP_MODULE = "sim.viz.app"

#: Solara files naming the npm packages its Vue 2 page loads (``name@version/...``).
_SOURCES = ("server/templates/solara.html.j2", "server/settings.py", "widgets/vue/gridlayout.vue")
_PACKAGE = re.compile(r"/((?:@[a-z0-9-]+/)?[a-z0-9][a-z0-9._-]*)"
                      r"@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)/")


def assets_dir() -> Path:
    """The folder holding Solara's assets (``$PATROL_SIM_ASSETS_DIR`` or the user cache)."""
    if os.environ.get(ASSETS_ENV):
        return Path(os.environ[ASSETS_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "patrol-sim" / "solara-assets"


def required_packages() -> list[str]:
    """The npm packages (``name@version``) the installed Solara's Vue 2 page loads.

    Read from Solara's own templates, so an upgrade of Solara asks for its new
    versions. Packages of the Vue 3 page (``ipyvuetify>=3``) are left out.
    """
    spec = util.find_spec("solara")
    if spec is None or spec.origin is None:
        raise SetupError("solara is not installed", "pip install -e '.[app]'")
    root = Path(spec.origin).parent
    found: set[str] = set()
    for name in _SOURCES:
        path = root / name
        if path.is_file():
            found.update(f"{p}@{v}" for p, v in _PACKAGE.findall(path.read_text("utf-8"))
                         if "vuetify3" not in p)
    if not any(p.startswith(("@widgetti/solara-vuetify-app@", "requirejs@")) for p in found):
        raise SetupError(f"{root} names no solara-vuetify-app or requirejs",
                         "this Solara's page layout is unknown; pin solara<2")
    return sorted(found)


def _split(package: str) -> tuple[str, str]:
    name, _, version = package.rpartition("@")
    return name, version


def _is_complete(folder: Path, package: str) -> bool:
    # Solara's proxy writes single files; only an unpacked tarball has package.json.
    return (folder / package / "package.json").is_file()


def missing_assets(folder: Path | None = None) -> list[str]:
    """The required packages not yet unpacked in ``folder`` (default :func:`assets_dir`)."""
    folder = assets_dir() if folder is None else folder
    return [p for p in required_packages() if not _is_complete(folder, p)]


def _registry() -> str:
    # npm's own setting; npm writes it in lower case
    registry = (os.environ.get("npm_config_registry")  # noqa: SIM112
                or os.environ.get("NPM_CONFIG_REGISTRY"))
    return (registry or DEFAULT_REGISTRY).rstrip("/") + "/"


class UntrustedDownload(OSError):
    """A download that cannot be verified: never unpacked, and not retried another way."""


#: Hosts where a plain-http registry is accepted: this machine (a local mirror or a test).
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _check_url(url: str, package: str) -> None:
    """Refuse anything but https, except from this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise UntrustedDownload(f"{package}: {url} is not https (only a registry on this "
                                "machine may use plain http)")


def _check_integrity(data: bytes, dist: dict, package: str) -> None:
    """The tarball must match the registry's sha512 ``integrity`` (sha1 or none is refused)."""
    integrity = dist.get("integrity", "")
    sha512 = next((h[7:] for h in str(integrity).split() if h.startswith("sha512-")), None)
    if sha512 is None:
        raise UntrustedDownload(f"{package}: the registry gives no sha512 integrity for the "
                                f"tarball ({integrity or 'none'})")
    try:
        expected = base64.b64decode(sha512, validate=True)
    except ValueError:
        raise UntrustedDownload(f"{package}: the registry's integrity is not base64") from None
    if expected != hashlib.sha512(data).digest():
        raise UntrustedDownload(f"{package}: the tarball does not match the registry's "
                                "checksum")


def _download(package: str, registry: str, timeout_s: float) -> bytes:
    """A package's tarball from the registry, checked against its published sha512."""
    name, version = _split(package)
    meta_url = f"{registry}{urllib.parse.quote(name, safe='@')}/{version}"
    _check_url(meta_url, package)
    with urllib.request.urlopen(meta_url, timeout=timeout_s) as response:
        dist = json.load(response)["dist"]
    _check_url(dist["tarball"], package)
    with urllib.request.urlopen(dist["tarball"], timeout=timeout_s) as response:
        data = response.read()
    _check_integrity(data, dist, package)
    return data


def _npm_pack(package: str, work: Path) -> bytes:
    """A package's tarball through the ``npm`` client (its proxy and registry settings)."""
    npm = shutil.which("npm")
    if npm is None:
        raise OSError("npm is not installed")
    out = subprocess.run([npm, "pack", package, "--silent", "--pack-destination", str(work)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0 or not out.stdout.strip():
        lines = out.stderr.strip().splitlines()
        raise OSError(f"npm pack failed: {lines[-1] if lines else f'status {out.returncode}'}")
    return (work / out.stdout.strip().splitlines()[-1]).read_bytes()


def _unpack(data: bytes, folder: Path, package: str) -> None:
    """Unpack a tarball's top folder as ``folder/<package>``, atomically."""
    target = folder / package
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".unpack-") as tmp:
        archive = Path(tmp) / "package.tgz"
        archive.write_bytes(data)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "x", filter="data")
        tops = list((Path(tmp) / "x").iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise OSError(f"{package}: expected one top folder in the tarball")
        if target.exists():  # files Solara's proxy cached one by one
            shutil.rmtree(target)
        os.replace(tops[0], target)


def fetch_assets(folder: Path | None = None, *, timeout_s: float = 60.0) -> tuple[Path, list[str]]:
    """Download and unpack the packages Solara's page needs, skipping those already there.

    Parameters
    ----------
    folder : Path, optional
        The cache folder (default :func:`assets_dir`).
    timeout_s : float
        Timeout of each HTTP request, seconds.

    Returns
    -------
    folder : Path
        The cache folder.
    fetched : list of str
        The packages (``name@version``) downloaded now.

    Raises
    ------
    SetupError
        If a package can be downloaded neither from the registry nor with ``npm``, or
        if the registry is not https (a registry on this machine aside) or its tarball
        has no sha512 integrity or fails it: such a package is refused outright, not
        fetched another way.
    """
    folder = assets_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    registry, fetched = _registry(), []
    for package in missing_assets(folder):
        try:
            data = _download(package, registry, timeout_s)
        except UntrustedDownload as exc:
            raise SetupError(f"refused {package} from {registry}: {exc}",
                             "use an https registry that publishes sha512 integrity "
                             "(npm's default does)") from None
        except (OSError, KeyError, ValueError) as exc:
            log.info("%s from %s failed (%s); trying npm", package, registry, exc)
            try:
                with tempfile.TemporaryDirectory() as work:
                    data = _npm_pack(package, Path(work))
            except (OSError, subprocess.SubprocessError) as npm_exc:
                raise SetupError(
                    f"could not download {package} from {registry} ({exc}) nor with npm "
                    f"({npm_exc})", "check the connection to the npm registry, or set "
                    "npm_config_registry to a mirror") from npm_exc
        _unpack(data, folder, package)
        log.info("unpacked %s in %s", package, folder)
        fetched.append(package)
    return folder, fetched


def server_env(folder: Path | None = None) -> dict[str, str]:
    """Environment variables that make Solara serve its assets from ``folder`` only."""
    folder = assets_dir() if folder is None else folder
    # Solara warns on every page load over plain http (a local server's normal case).
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    warnings = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), quiet) if w)
    return {"SOLARA_ASSETS_PROXY_CACHE_DIR": str(folder), "SOLARA_ASSETS_CDN": OFFLINE_CDN,
            "SOLARA_ASSETS_PROXY": "True", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "PYTHONWARNINGS": warnings}


def server_command(port: int = 8765, host: str = "127.0.0.1", *, open_browser: bool = False,
                   app: str = APP_MODULE) -> list[str]:
    """The ``solara run`` command line serving the app (production mode)."""
    cmd = [sys.executable, "-m", "solara", "run", app, "--host", host, "--port", str(port),
           "--production"]
    return cmd if open_browser else [*cmd, "--no-open"]


def require_assets(folder: Path | None = None) -> Path:
    """The cache folder, if it holds every package Solara's page needs.

    Raises
    ------
    SetupError
        Naming the missing packages and the one-time fix.
    """
    folder = assets_dir() if folder is None else folder
    missing = missing_assets(folder)
    if missing:
        raise SetupError(
            f"Solara's browser assets {', '.join(missing)} are missing in {folder}",
            "run `sim app --fetch-assets` once, with access to the npm registry; "
            f"or set {ASSETS_ENV} to a folder that has them")
    return folder


def serve(port: int = 8765, host: str = "127.0.0.1", *, open_browser: bool = True) -> int:
    """Run the app server on the asset cache until it stops; its exit status (0 after Ctrl-C).

    Raises
    ------
    SetupError
        If the asset cache is incomplete (see :func:`require_assets`).
    """
    env = {**os.environ, **server_env(require_assets())}
    cmd = server_command(port, host, open_browser=open_browser)
    log.info("serving the app at http://%s:%d/", host, port)
    process = subprocess.Popen(cmd, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:  # the server got the same Ctrl-C; let it shut down
        process.wait()
        return 0
