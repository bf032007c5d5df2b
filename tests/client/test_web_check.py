"""``vault web check URL`` (issue 19, CONTRACT: "0 all genuine, 4 when any differs") against a
real server serving a copy of the built web access page (``serve --web-dir``), signed with a
release key made for the test (``scripts/sign_release.py``, trusted with ``--key``): all
genuine; one byte of engine.js changed on the server, or in transit; a manifest by a key the
client does not trust, or changed in transit; no manifest; an unreachable server."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.conftest import Device, Server
from tests.hostile.proxy import Exchange, TamperProxy
from vault_server import routes_webapp

ROOT = Path(__file__).resolve().parents[2]
SIGN = [sys.executable, str(ROOT / "scripts" / "sign_release.py")]
ENGLISH = {"LC_ALL": "C.UTF-8"}
FRENCH = {"LC_ALL": "fr_FR.UTF-8"}


def new_key(path: Path) -> str:
    out = subprocess.run([*SIGN, "--new-key", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def signed_copy(tmp_path: Path, key: Path) -> Path:
    """The built page copied and signed as a maintainer would (a key of the test's own)."""
    d = tmp_path / "web"
    shutil.copytree(routes_webapp.APP_DIR, d)
    (d / "release.json").unlink(missing_ok=True)
    out = subprocess.run([*SIGN, "--key", str(key), "--dir", str(d)], capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return d


def change_one_byte(d: Path, name: str) -> None:
    """One byte of ``name`` changed on the server, assets.json along (the server serves it)."""
    body = bytearray((d / name).read_bytes())
    body[len(body) // 2] ^= 0x01
    (d / name).write_bytes(body)
    manifest = json.loads((d / "assets.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256(body).hexdigest()
    (d / "assets.json").write_text(json.dumps(manifest, indent=1) + "\n")


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "release-key"
    return path, new_key(path)


@pytest.fixture
def checker(make_device) -> Device:  # type: ignore[no-untyped-def]
    return make_device("checker")  # an empty profile: checking needs no account


def serve(tmp_path: Path, web_dir: Path) -> Server:
    srv = Server(tmp_path / "server-data", extra=["--web-dir", str(web_dir)])
    srv.start()
    return srv


@pytest.fixture
def signed(tmp_path: Path, key: tuple[Path, str]) -> Path:
    return signed_copy(tmp_path, key[0])


@pytest.fixture
def server(tmp_path: Path, signed: Path) -> Iterator[Server]:
    srv = serve(tmp_path, signed)
    yield srv
    srv.stop()


def web_check(
    dev: Device, url: str, *args: str, env: dict[str, str] = ENGLISH
) -> subprocess.CompletedProcess[str]:
    return dev.run("web", "check", url, *args, check=False, env=env)


def test_all_genuine(server: Server, key: tuple[Path, str], checker: Device) -> None:
    out = web_check(checker, server.url, "--key", key[1])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "genuine: engine.js (/assets/engine.js)" in lines
    assert "genuine: index.html (/)" in lines and "genuine: index.html (/app/)" in lines
    assert "genuine: securite.html (/securite-acces-web)" in lines
    files = json.loads((routes_webapp.APP_DIR / "assets.json").read_text())["files"]
    assert len(lines) == len(files) + 2  # every file, /app/ too, and the summary
    assert lines[-1].startswith(f"all {len(files)} files are genuine: release 0.1.0 signed on ")
    assert lines[-1].endswith(f"by the key {key[1]}")
    assert out.stderr == ""
    # the same from the page's own address, as JSON, and in French
    out = web_check(checker, server.url + "/app/", "--key", key[1], "--json")
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)
    assert {i["state"] for i in items} == {"ok"} and len(items) == len(files) + 1
    engine = next(i for i in items if i["name"] == "engine.js")
    assert engine == {"name": "engine.js", "path": "/assets/engine.js", "state": "ok",
                      "sha256": files["engine.js"]["sha256"],
                      "expected": files["engine.js"]["sha256"]}  # fmt: skip
    out = web_check(checker, server.url, "--key", key[1], env=FRENCH)
    assert out.returncode == 0
    assert "authentique : engine.js (/assets/engine.js)" in out.stdout
    assert f"Les {len(files)} fichiers sont authentiques : version 0.1.0 signée le" in out.stdout


def test_one_byte_of_engine_js_changed_on_the_server(
    tmp_path: Path, signed: Path, key: tuple[Path, str], checker: Device
) -> None:
    change_one_byte(signed, "engine.js")
    srv = serve(tmp_path, signed)
    try:
        out = web_check(checker, srv.url, "--key", key[1])
        assert out.returncode == 4, out.stderr
        assert "DIFFERS: engine.js (/assets/engine.js)" in out.stdout.splitlines()
        assert "genuine: app.js (/assets/app.js)" in out.stdout.splitlines()
        assert not any(line.startswith("all ") for line in out.stdout.splitlines())
        assert out.stderr.splitlines() == [
            f"error: the web access of {srv.url} is not the signed release: engine.js "
            "(do not sign in there)"
        ]
        out = web_check(checker, srv.url, "--key", key[1], env=FRENCH)
        assert out.returncode == 4
        assert "DIFFÉRENT : engine.js (/assets/engine.js)" in out.stdout
        assert f"L'accès web de {srv.url} n'est pas la version signée : engine.js" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        srv.stop()


def test_changed_in_transit(server: Server, key: tuple[Path, str], checker: Device) -> None:
    """A network (or a server) that changes what it sends: a byte of engine.js, a script the
    page loads that the release does not list, the manifest's signature."""
    proxy = TamperProxy(server.url)
    try:
        door = proxy.door("web")

        def flip(ex: Exchange) -> None:
            assert ex.resp_body is not None
            ex.resp_body = ex.resp_body[:100] + bytes([ex.resp_body[100] ^ 1]) + ex.resp_body[101:]

        proxy.on("GET", "/assets/engine.js", response=flip)
        out = web_check(checker, door, "--key", key[1])
        assert out.returncode == 4
        assert "DIFFERS: engine.js (/assets/engine.js)" in out.stdout
        assert "engine.js (do not sign in there)" in out.stderr

        proxy.clear()

        def extra_script(ex: Exchange) -> None:
            assert ex.resp_body is not None
            ex.resp_body = ex.resp_body.replace(
                b"</head>", b'<script src="/assets/steal.js"></script></head>'
            )

        proxy.on("GET", "/app/", response=extra_script)
        out = web_check(checker, door, "--key", key[1])
        assert out.returncode == 4
        assert "DIFFERS: index.html (/app/)" in out.stdout
        assert "NOT IN THE RELEASE: steal.js (/assets/steal.js)" in out.stdout
        assert "not the signed release: index.html, steal.js" in out.stderr

        proxy.clear()

        def resign(ex: Exchange) -> None:
            m = ex.json()
            m["files"]["engine.js"] = "0" * 64
            ex.resp_body = json.dumps(m, separators=(",", ":"), sort_keys=True).encode()

        proxy.on("GET", "/.well-known/vault-release.json", response=resign)
        out = web_check(checker, door, "--key", key[1])
        assert out.returncode == 4
        assert out.stdout == ""
        assert out.stderr.splitlines() == [
            f"error: the release manifest of {door} (vault-release.json) is not genuine: "
            "malformed or badly signed"
        ]
    finally:
        proxy.close()


def test_a_key_the_client_does_not_trust(server: Server, tmp_path: Path, checker: Device) -> None:
    other = new_key(tmp_path / "other-key")
    for args in ([], ["--key", other]):  # the client's own keys; another key given
        out = web_check(checker, server.url, *args)
        assert out.returncode == 4, out.stderr
        assert out.stdout == ""
        assert out.stderr.splitlines() == [
            f"error: the release manifest of {server.url} (vault-release.json) is signed by a "
            "key this client does not trust"
        ]


def test_no_manifest(tmp_path: Path, signed: Path, key: tuple[Path, str], checker: Device) -> None:
    (signed / "release.json").unlink()
    srv = serve(tmp_path, signed)
    try:
        out = web_check(checker, srv.url, "--key", key[1])
        assert out.returncode == 4
        assert "serves no release manifest (vault-release.json, HTTP 404)" in out.stderr
    finally:
        srv.stop()


def test_unreachable_and_bad_arguments(
    server: Server, key: tuple[Path, str], checker: Device
) -> None:
    url = server.url
    server.stop()
    out = web_check(checker, url, "--key", key[1])
    assert out.returncode == 1
    assert out.stderr.splitlines() == [f"error: cannot reach the server at {url}"]
    out = web_check(checker, url, "--key", "not-a-key")
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["error: not a release key (base64url, 32 bytes): not-a-key"]
    out = web_check(checker, "ftp://example.org", "--key", key[1])
    assert out.returncode == 2 and "not a server URL: ftp://example.org" in out.stderr
