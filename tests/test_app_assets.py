"""The app's offline assets are installed only when verified: https and sha512 integrity."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading

import pytest

from sim.errors import SetupError
from sim.viz import app_assets
from sim.viz.app_assets import fetch_assets


def _tarball(main: bytes = b"// main") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in {"package.json": b"{}", "dist/main.js": main}.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def registry(monkeypatch):
    """A local registry whose ``dist`` record and tarball a test may rewrite; npm is off."""
    tgz = _tarball()
    record: dict = {}
    served = {"record": record, "tgz": tgz}

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served["tgz"] if self.path.endswith(".tgz") else json.dumps(
                {"dist": {k: v.format(port=self.server.server_port)
                          for k, v in record.items()}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    sha512 = base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    record.update(tarball="http://127.0.0.1:{port}/pkg-1.0.0.tgz",
                  integrity=f"sha512-{sha512}")
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.setattr(app_assets, "required_packages", lambda: ["@scope/pkg@1.0.0"])
    used_npm = []
    monkeypatch.setattr(app_assets, "_npm_pack", lambda *a: used_npm.append(a) or tgz)
    served["used_npm"] = used_npm
    yield served
    server.shutdown()
    server.server_close()


def test_a_verified_tarball_from_this_machine_is_installed(tmp_path, registry):
    assert fetch_assets(tmp_path)[1] == ["@scope/pkg@1.0.0"]
    assert (tmp_path / "@scope/pkg@1.0.0/dist/main.js").read_bytes() == b"// main"


def test_fetch_unpacks_each_package_where_solaras_proxy_looks(tmp_path, registry):
    """A tarball unpacks as ``<folder>/<name>@<version>/``; a second fetch downloads nothing."""
    folder, fetched = fetch_assets(tmp_path)
    assert fetched == ["@scope/pkg@1.0.0"]
    assert (tmp_path / "@scope/pkg@1.0.0/dist/main.js").read_bytes() == b"// main"
    assert app_assets.missing_assets(tmp_path) == []
    assert fetch_assets(tmp_path) == (folder, [])


def test_a_tarball_failing_its_checksum_is_refused(tmp_path, registry, monkeypatch):
    """A download that does not match the registry's checksum is never unpacked."""
    registry["tgz"] = _tarball(b"// evil")

    def no_npm(package, work):
        raise OSError("npm is not installed")

    monkeypatch.setattr(app_assets, "_npm_pack", no_npm)
    with pytest.raises(SetupError, match="checksum"):
        fetch_assets(tmp_path)
    assert not (tmp_path / "@scope/pkg@1.0.0").exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"integrity": ""}, "no sha512 integrity"),
    ({"integrity": "", "shasum": "{port}"}, "no sha512 integrity"),
    ({"integrity": "sha256-abc="}, "no sha512 integrity"),
    ({"integrity": "sha512-" + base64.b64encode(b"x" * 64).decode()}, "does not match"),
    ({"tarball": "http://example.invalid/pkg-1.0.0.tgz"}, "is not https"),
])
def test_what_cannot_be_verified_is_refused_and_never_fetched_another_way(
        tmp_path, registry, change, message):
    registry["record"].update(change)
    if "shasum" in change:  # a correct sha1 alone is not enough
        registry["record"]["shasum"] = hashlib.sha1(registry["tgz"]).hexdigest()
    with pytest.raises(SetupError, match=message):
        fetch_assets(tmp_path)
    assert not (tmp_path / "@scope/pkg@1.0.0").exists()
    assert registry["used_npm"] == []


def test_a_plain_http_registry_elsewhere_is_refused_before_any_request(tmp_path, monkeypatch):
    monkeypatch.setenv("npm_config_registry", "http://registry.example.invalid/")
    monkeypatch.setattr(app_assets, "required_packages", lambda: ["@scope/pkg@1.0.0"])
    with pytest.raises(SetupError, match="is not https"):
        fetch_assets(tmp_path, timeout_s=1)
