"""The share page's server side (vault_server/routes_web.py): the page and its static files,
the security headers, content addressing, and refusal of a build that does not match its
hashes. The browser side is tested in e2e.test.mjs (node --test tests/web/)."""

from __future__ import annotations

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
from vault_server import routes_web
from vault_server.app import build_app, open_context
from vault_server.config import ServerConfig

GRANT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    ctx = await open_context(ServerConfig(data_dir=tmp_path / "data", periodic_gc=False))
    c: TestClient[Any, Any] = TestClient(TestServer(build_app(ctx), host="127.0.0.1"))
    await c.start_server()
    yield c
    await c.close()


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    routes_web._loaded = None


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((routes_web.STATIC_DIR / "assets.json").read_text())
    return data


def test_committed_build_matches_its_hashes() -> None:
    files = routes_web.load_static()
    m = manifest()
    assert set(files.assets) == set(m["assets"])
    assert {a["file"] for a in m["assets"].values()} == {
        "app.js",
        "worker.js",
        "app.css",
        "icon.svg",
    }


async def test_page_headers(client: TestClient[Any, Any]) -> None:
    r = await client.get(f"/s/{GRANT}")
    assert r.status == 200
    assert r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert csp == routes_web.CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in csp and "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp and "*" not in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    html = await r.text()
    # the same page for every grant: nothing of the request is reflected
    assert GRANT not in html
    assert html == (await (await client.get(f"/s/{'f' * 32}")).text())
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all('integrity="sha384-' in s and " src=" in s for s in scripts)


async def test_assets_by_content_hash(client: TestClient[Any, Any]) -> None:
    for digest, info in manifest()["assets"].items():
        r = await client.get(f"/s/assets/{digest}")
        assert r.status == 200
        body = await r.read()
        assert hashlib.sha256(body).hexdigest() == digest
        assert r.headers["Content-Type"] == info["type"]
        assert "immutable" in r.headers["Cache-Control"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/s/assets/{'0' * 64}", 404, "not_found"),
        ("/s/assets/app.js", 400, "bad_request"),
        ("/s/assets/..%2F..%2Fapp.py", 400, "bad_request"),
        ("/s/NOTAGRANT", 400, "bad_request"),
        (f"/s/{GRANT.upper()}", 400, "bad_request"),
    ],
)
async def test_refusals(client: TestClient[Any, Any], path: str, status: int, code: str) -> None:
    r = await client.get(path)
    assert r.status == status
    assert (await r.json())["code"] == code


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "static"
    shutil.copytree(routes_web.STATIC_DIR, d)
    return d


def test_tampered_asset_is_not_served(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "app.js").write_bytes((d / "app.js").read_bytes() + b"\n;alert(1)")
    with pytest.raises(ServerUnavailable):
        routes_web.load_static(d)


def test_tampered_page_is_not_served(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "index.html").write_text((d / "index.html").read_text().replace("integrity", "x"))
    with pytest.raises(ServerUnavailable):
        routes_web.load_static(d)


async def test_unbuilt_server_answers_503(
    client: TestClient[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_web, "STATIC_DIR", tmp_path / "nothing")
    r = await client.get(f"/s/{GRANT}")
    assert r.status == 503
    assert (await r.json())["code"] == "unavailable"
