"""The signed release manifest of the web access page, server side: the committed
release.json (signed by a key of vault_client/release_keys.py, over exactly the committed
build), GET /.well-known/vault-release.json (served as signed, 404 without one, 503 when the
file was changed, served and logged when the build is not the signed release), serve
--web-dir, and scripts/sign_release.py. The checker is tests/client/test_web_check.py."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vault_client.release_keys import trusted_keys
from vault_core import release
from vault_core.encoding import unb64u
from vault_core.errors import IntegrityError
from vault_server import routes_webapp
from vault_server.app import build_app, open_context
from vault_server.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]
SIGN = [sys.executable, str(ROOT / "scripts" / "sign_release.py")]
RESIGN = (
    "re-sign: python scripts/sign_release.py --key /path/to/the/release-key (after the last "
    "build of the page; docs/DEPLOYMENT.md, 'Web access releases')"
)

Client = Callable[[Path], Any]


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    routes_webapp._loaded = None


@pytest.fixture
async def client_for(tmp_path: Path) -> AsyncIterator[Client]:
    """A server serving the build in a given directory (serve --web-dir)."""
    clients: list[TestClient[Any, Any]] = []

    async def make(web_dir: Path) -> TestClient[Any, Any]:
        config = ServerConfig(data_dir=tmp_path / "data", periodic_gc=False, web_dir=web_dir)
        c: TestClient[Any, Any] = TestClient(
            TestServer(build_app(await open_context(config)), host="127.0.0.1")
        )
        await c.start_server()
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()


def built(directory: Path) -> dict[str, str]:
    manifest = json.loads((directory / "assets.json").read_text())
    return {name: info["sha256"] for name, info in manifest["files"].items()}


def copy_build(tmp_path: Path) -> Path:
    d = tmp_path / "app"
    shutil.copytree(routes_webapp.APP_DIR, d)
    (d / "release.json").unlink(missing_ok=True)
    return d


def new_key(tmp_path: Path, name: str = "release-key") -> tuple[Path, bytes]:
    key = tmp_path / name
    out = subprocess.run([*SIGN, "--new-key", str(key)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return key, unb64u(out.stdout.strip(), 32)


def sign(directory: Path, key: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SIGN, "--key", str(key), "--dir", str(directory), *extra], capture_output=True, text=True
    )


def rebuild_with(directory: Path, name: str, body: bytes) -> None:
    """As a build would: a file changed and its hash in assets.json with it."""
    (directory / name).write_bytes(body)
    manifest = json.loads((directory / "assets.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256(body).hexdigest()
    (directory / "assets.json").write_text(json.dumps(manifest, indent=1) + "\n")


def test_committed_release_is_signed_by_a_trusted_key_over_this_build() -> None:
    """Fails after every rebuild of the page until the release is signed again: RESIGN."""
    path = routes_webapp.APP_DIR / "release.json"
    assert path.exists(), f"vault_server/static/app/release.json is missing: {RESIGN}"
    try:
        signed = release.verify(path.read_bytes(), trusted_keys())
    except IntegrityError:
        pytest.fail(f"release.json is not signed by a key of release_keys.py: {RESIGN}")
    differ = sorted(
        n
        for n in signed.hashes().keys() | built(routes_webapp.APP_DIR).keys()
        if signed.hashes().get(n) != built(routes_webapp.APP_DIR).get(n)
    )
    assert not differ, f"release.json does not list the build's {', '.join(differ)}: {RESIGN}"


async def test_release_served_as_signed(tmp_path: Path, client_for: Client) -> None:
    d = copy_build(tmp_path)
    key, pk = new_key(tmp_path)
    out = sign(d, key, "--release", "2026.12.1")
    assert out.returncode == 0, out.stderr
    assert "not in vault_client/release_keys.py" in out.stderr  # a key clients do not ship
    c = await client_for(d)
    r = await c.get(release.WELL_KNOWN)
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Security-Policy"] == routes_webapp.CONTENT_SECURITY_POLICY
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    body = await r.read()
    assert body == (d / "release.json").read_bytes() and body.endswith(b"}\n")
    signed = release.verify(body, [pk])
    assert signed.release == "2026.12.1" and signed.hashes() == built(d)
    assert (await c.get("/")).status == 200


async def test_no_release_is_404(tmp_path: Path, client_for: Client) -> None:
    c = await client_for(copy_build(tmp_path))
    r = await c.get(release.WELL_KNOWN)
    assert r.status == 404
    assert (await r.json())["code"] == "not_found"
    assert (await c.get("/")).status == 200


async def test_a_changed_release_file_is_not_served(
    tmp_path: Path, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    d = copy_build(tmp_path)
    key, _ = new_key(tmp_path)
    assert sign(d, key).returncode == 0
    text = (d / "release.json").read_text()
    (d / "release.json").write_text(text.replace('"release":"0.1.0"', '"release":"0.1.1"'))
    c = await client_for(d)
    with caplog.at_level(logging.ERROR, "vault_server"):
        r = await c.get(release.WELL_KNOWN)
    assert r.status == 503
    assert (await r.json())["code"] == "unavailable"
    assert "release.json is not a validly signed release manifest" in caplog.text
    assert (await c.get("/")).status == 200  # the page itself is still served


async def test_a_build_not_signed_is_served_with_its_manifest_and_logged(
    tmp_path: Path, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A build rebuilt (or changed) after signing: the manifest is served as signed, and the
    checker, not the server, says which files differ; the operator's log names them."""
    d = copy_build(tmp_path)
    key, _ = new_key(tmp_path)
    assert sign(d, key).returncode == 0
    signed_bytes = (d / "release.json").read_bytes()
    rebuild_with(d, "engine.js", (d / "engine.js").read_bytes() + b"\n;postMessage(1)")
    c = await client_for(d)
    with caplog.at_level(logging.ERROR, "vault_server"):
        r = await c.get(release.WELL_KNOWN)
    assert r.status == 200 and await r.read() == signed_bytes
    assert "not the signed release for engine.js" in caplog.text
    assert "sign_release.py" in caplog.text


async def test_route_in_openapi(tmp_path: Path, client_for: Client) -> None:
    c = await client_for(copy_build(tmp_path))
    doc = await (await c.get("/v1/openapi.json")).json()
    assert set(doc["paths"][release.WELL_KNOWN]) == {"get"}


# -- scripts/sign_release.py ---------------------------------------------------------------


def test_new_key_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    key, _ = new_key(tmp_path)
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    seed = key.read_bytes()
    out = subprocess.run([*SIGN, "--new-key", str(key)], capture_output=True, text=True)
    assert out.returncode == 1 and "never overwritten" in out.stderr
    assert key.read_bytes() == seed


def test_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    d = copy_build(tmp_path)
    key, _ = new_key(tmp_path)
    os.chmod(key, 0o640)
    out = sign(d, key)
    assert out.returncode == 1 and "readable by others" in out.stderr
    assert not (d / "release.json").exists()


def test_refuses_a_build_that_does_not_match_its_hashes(tmp_path: Path) -> None:
    d = copy_build(tmp_path)
    key, _ = new_key(tmp_path)
    (d / "app.js").write_bytes((d / "app.js").read_bytes() + b";")
    out = sign(d, key)
    assert out.returncode == 1 and "not a complete build" in out.stderr
    assert not (d / "release.json").exists()


def test_refuses_a_page_that_loads_an_unlisted_file(tmp_path: Path) -> None:
    d = copy_build(tmp_path)
    key, _ = new_key(tmp_path)
    html = (d / "index.html").read_text()
    extra = '<script src="/assets/x.js"></script></head>'
    rebuild_with(d, "index.html", html.replace("</head>", extra).encode())
    out = sign(d, key)
    assert out.returncode == 1 and "/assets/x.js" in out.stderr
    assert not (d / "release.json").exists()
