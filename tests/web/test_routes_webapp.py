"""Owner web access, the server side (vault_server/routes_webapp.py): the page at / and /app/,
its files at /assets/{name} checked against their hashes, the security headers, the French
security page, and refusal of a build that does not match. The browser side is
webaccess.test.mjs (node --test tests/web/)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vault_core.errors import ServerUnavailable
from vault_server import routes_webapp
from vault_server.app import build_app, open_context
from vault_server.config import ServerConfig


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    ctx = await open_context(ServerConfig(data_dir=tmp_path / "data", periodic_gc=False))
    c: TestClient[Any, Any] = TestClient(TestServer(build_app(ctx), host="127.0.0.1"))
    await c.start_server()
    yield c
    await c.close()


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    routes_webapp._loaded = None


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((routes_webapp.APP_DIR / "assets.json").read_text())
    return data


def test_committed_build_matches_its_hashes() -> None:
    files = routes_webapp.load_app().files
    assert set(files) == set(manifest()["files"])
    assert {"index.html", "securite.html", "app.js", "engine.js", "app.css"} <= set(files)


@pytest.mark.parametrize("path", ["/", "/app/"])
async def test_page_headers(client: TestClient[Any, Any], path: str) -> None:
    r = await client.get(path)
    assert r.status == 200
    assert r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert csp == routes_webapp.CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in csp and "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp and "*" not in csp
    assert r.headers["Integrity-Policy"] == "blocked-destinations=(script)"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    html = await r.text()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(
        'integrity="sha384-' in s and 'crossorigin="anonymous"' in s for s in scripts
    )
    assert re.findall(r"<link rel=\"stylesheet\"[^>]*>", html)[0].count('integrity="sha384-') == 1
    # the engine's own integrity hash is in app.js, which the page loads with its hash
    app_js = routes_webapp.load_app().files["app.js"][0]
    engine = routes_webapp.load_app().files["engine.js"][0]
    sri = "sha384-" + base64.b64encode(hashlib.sha384(engine).digest()).decode()
    assert sri.encode() in app_js


async def test_security_page_in_french(client: TestClient[Any, Any]) -> None:
    r = await client.get("/securite-acces-web")
    assert r.status == 200
    assert r.headers["Cache-Control"] == "no-store"
    text = await r.text()
    assert "<script" not in text
    assert "Sécurité de l’accès web" in text
    assert "Un serveur malveillant au moment où vous vous connectez" in text
    assert "vault web check" in text


async def test_assets(client: TestClient[Any, Any]) -> None:
    for name, info in manifest()["files"].items():
        if name in ("index.html", "securite.html"):
            continue
        r = await client.get(f"/assets/{name}")
        assert r.status == 200, name
        assert hashlib.sha256(await r.read()).hexdigest() == info["sha256"]
        assert r.headers["Content-Type"].split(";")[0] == info["type"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/assets/nothing.js", 404, "not_found"),
        ("/assets/index.html", 404, "not_found"),
        ("/assets/assets.json", 404, "not_found"),
        ("/assets/..%2F..%2Fapp.py", 400, "bad_request"),
        ("/assets/App.js", 400, "bad_request"),
        ("/assets/.hidden", 400, "bad_request"),
    ],
)
async def test_refusals(client: TestClient[Any, Any], path: str, status: int, code: str) -> None:
    r = await client.get(path)
    assert r.status == status
    assert (await r.json())["code"] == code


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "app"
    shutil.copytree(routes_webapp.APP_DIR, d)
    return d


def test_a_changed_file_is_not_served(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "engine.js").write_bytes((d / "engine.js").read_bytes() + b"\n;postMessage(1)")
    with pytest.raises(ServerUnavailable):
        routes_webapp.load_app(d)


async def test_unbuilt_server_answers_503(
    client: TestClient[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_webapp, "APP_DIR", tmp_path / "nothing")
    r = await client.get("/")
    assert r.status == 503
    assert (await r.json())["code"] == "unavailable"
