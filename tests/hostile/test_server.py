"""The server's side of the promise, against other users (T6), former devices and sessions,
password guessers and floods: tokens die with logout, revocation and passphrase change on
every route; login brute force is limited and accounts cannot be enumerated; no account
reaches another's objects by id; oversized and endless uploads are cut off while read;
and dropped, reset or lost answers lose nothing.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

import pytest

from vault_core.encoding import b64u, unb64u
from vault_core.keys import KdfParams, derive_passphrase_keys
from vault_core.login import sign_login_proof
from vault_server.app import ALL_ROUTES

from .harness import PASS, World, assert_no_traceback, assert_refused
from .helpers import bearer, fresh_token, http, http_json

ZERO_ID, ZERO_BLOB = "0" * 32, "0" * 64


def route_path(path: str, **ids: str) -> str:
    return (
        path.replace("{id}", ids.get("id", ZERO_ID))
        .replace("{blob_id}", ids.get("blob_id", ZERO_BLOB))
        .replace("{handle}", ids.get("handle", "jean"))
    )


def dead_everywhere(world: World, token: str, **ids: str) -> None:
    """Every authenticated route refuses this token with 401."""
    for r in ALL_ROUTES:
        if r.auth in ("none",):
            continue
        path = route_path(r.path, **ids)
        status, body = http(
            world.server.url,
            r.method,
            path,
            b"{}",
            {**bearer(token), "Content-Type": "application/json"},
        )
        if r.auth == "grant_or_bearer" and status == 410:
            continue  # an unknown grant is refused before looking at the credentials
        assert status == 401, (r.method, r.path, status, body[:200])


def test_tokens_dead_after_revocation_logout_and_passphrase_change(world: World) -> None:
    a, b, x = world.a, world.b, world.x
    b_token = fresh_token(b)
    assert http(world.server.url, "GET", "/v1/log/head", headers=bearer(b_token))[0] == 200
    a.ok("devices", "revoke", world.facts["device_b"])
    dead_everywhere(world, b_token, id=world.facts["account_grant"])
    # logout ends a session at once
    x_token = fresh_token(x)
    assert http(world.server.url, "POST", "/v1/logout", headers=bearer(x_token))[0] == 204
    dead_everywhere(world, x_token)
    # a passphrase change ends the other sessions; the devices come back with their own keys
    c_token = fresh_token(world.c)
    a2 = world.device("a2")
    a2.ok("login", "--server", a2.url, "--user", "jean", "--folder", str(a2.folder))
    a2_token = fresh_token(a2)
    a.ok("passphrase", env={"VAULT_NEW_PASSPHRASE": "a new passphrase for jean"})
    dead_everywhere(world, a2_token)
    assert http(world.server.url, "GET", "/v1/log/head", headers=bearer(c_token))[0] == 200
    a2.ok("sync")  # renewed with its device key: nothing lost
    assert a2.tree() == world.facts["a_tree"]


def _login_key(world: World, handle: str) -> bytes:
    _status, start = http_json(
        world.server.url, "POST", "/v1/login/start", {"handle": handle, "purpose": "passphrase"}
    )
    params = KdfParams.from_json(start["kdf"])
    return derive_passphrase_keys(PASS, params).login_keypair[1]


def _finish(world: World, handle: str, sk: bytes | None) -> int:
    status, start = http_json(
        world.server.url, "POST", "/v1/login/start", {"handle": handle, "purpose": "passphrase"}
    )
    challenge = unb64u(start["challenge"])
    host = world.server.url.split("//")[1]
    sig = sign_login_proof(sk, handle, host, "passphrase", challenge) if sk else os.urandom(64)
    status, _ = http_json(
        world.server.url,
        "POST",
        "/v1/login/finish",
        {
            "handle": handle,
            "purpose": "passphrase",
            "challenge": b64u(challenge),
            "signature": b64u(sig),
        },
    )
    return status


def test_login_brute_force_is_limited(world: World) -> None:
    sk = _login_key(world, "jean")
    assert _finish(world, "jean", sk) == 200
    for _ in range(10):
        assert _finish(world, "jean", None) == 401
    # now even the right passphrase waits: guessing costs the attacker the window
    assert _finish(world, "jean", sk) == 429
    n = world.device("n")
    res = n.run("login", "--server", n.url, "--user", "jean", "--folder", str(n.folder))
    assert_refused(res, (1, 3), names=("attempts", "rate", "later", "try again in"))
    assert not (n.home / "secrets.bin").exists()
    # per client address: 30 failures over any handles, then everyone from there waits
    for i in range(20):
        _finish(world, f"nobody{i}", None)
    alice_sk = _login_key(world, "alice")
    assert _finish(world, "alice", alice_sk) == 429
    # a device already logged in keeps working on its session
    world.a.ok("sync")


def test_no_account_enumeration(world: World) -> None:
    def start(handle: str) -> dict[str, Any]:
        status, body = http_json(
            world.server.url, "POST", "/v1/login/start", {"handle": handle, "purpose": "passphrase"}
        )
        assert status == 200
        return body

    real, fake1, fake2 = start("jean"), start("nobody-here"), start("nobody-here")
    assert set(real) == set(fake1) and set(real["kdf"]) == set(fake1["kdf"])
    assert fake1["kdf"] == fake2["kdf"], "an unknown handle's salt must be stable"
    assert {k: v for k, v in real["kdf"].items() if k != "salt"} == {
        k: v for k, v in fake1["kdf"].items() if k != "salt"
    }
    answers = set()
    for handle in ("jean", "nobody-here"):
        st, body = http_json(
            world.server.url,
            "POST",
            "/v1/login/finish",
            {
                "handle": handle,
                "purpose": "passphrase",
                "challenge": start(handle)["challenge"],
                "signature": b64u(os.urandom(64)),
            },
        )
        answers.add((st, json.dumps(body, sort_keys=True)))
    assert len(answers) == 1, answers
    assert http(world.server.url, "GET", "/v1/users/nobody-here/keys")[0] == 404


def test_cross_account_access_by_id(world: World) -> None:
    """Alice (another user, T6) knows the ids of jean's objects and calls every endpoint."""
    url, store = world.server.url, world.store
    x = bearer(fresh_token(world.x))
    jean_blob = store.blob_ids("jean")[0]
    jean_bytes = store.read_blob("jean", jean_blob)
    dep, req = world.facts["deposit_jean"], world.facts["request"]
    link, acct = world.facts["link_grant"], world.facts["account_grant"]
    dev_b = world.facts["device_b"]
    expect = [
        ("GET", f"/v1/blobs/{jean_blob}", None, 404),
        ("GET", f"/v1/inbox/{dep}", None, 404),
        ("DELETE", f"/v1/inbox/{dep}", None, 404),
        ("DELETE", f"/v1/grants/{link}", None, 404),
        ("PUT", f"/v1/grants/{link}/payload", {"payload": b64u(b"x" * 120), "blobs": []}, 404),
        ("GET", f"/v1/grants/{link}/log", None, 404),
        ("POST", f"/v1/grants/{acct}/open", None, 410),
        ("GET", f"/v1/grants/{acct}/blobs/{jean_blob}", None, 410),
        ("POST", f"/v1/requests/{req}/answer", {"grant_id": link}, (400, 404)),
        ("DELETE", f"/v1/devices/{dev_b}", None, 404),
        ("PUT", f"/v1/devices/{dev_b}/cert", {"cert": b64u(b"forged")}, 404),
        (
            "POST",
            "/v1/log",
            {"expected_head": 2, "entries": [{"entry": b64u(b"{}"), "refs": [jean_blob]}]},
            400,
        ),
        (
            "POST",
            "/v1/grants",
            {
                "id": os.urandom(16).hex(),
                "kind": "link",
                "access_hash": b64u(bytes(32)),
                "expires_at": int(time.time()) + 60,
                "header": b64u(b"h"),
                "payload": b64u(b"p"),
                "blobs": [jean_blob],
            },
            400,
        ),
        ("POST", "/v1/inbox/jean", {"id": os.urandom(16).hex(), "envelope": b64u(b"e")}, 403),
    ]
    for method, path, body, code in expect:
        status, answer = http_json(url, method, path, body, headers=x)
        assert status in (code if isinstance(code, tuple) else (code,)), (
            method,
            path,
            status,
            answer,
        )
    # same blob id in alice's own namespace: jean's copy is untouched
    assert http(url, "PUT", f"/v1/blobs/{jean_blob}", b"alice's bytes", x)[0] == 201
    assert store.read_blob("jean", jean_blob) == jean_bytes
    assert dep in store.deposits("jean")
    assert store.query("SELECT answer_grant_id FROM requests WHERE id=?", req) == [(None,)]
    assert store.query("SELECT revoked_at FROM devices WHERE id=?", dev_b) == [(None,)]
    assert store.query("SELECT revoked_at FROM grants WHERE id=?", link) == [(None,)]
    world.b.ok("sync")
    assert world.b.tree() == world.facts["a_tree"]


# -- floods -------------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _batch_records() -> Any:
    """Well-formed batch records, forever (each a fresh 1 MiB blob)."""
    import struct

    while True:
        blob_id = os.urandom(32).hex().encode()
        yield bytes([64]) + blob_id + struct.pack(">I", 1 << 20) + os.urandom(1 << 20)


def _random_pieces() -> Any:
    piece = os.urandom(64 * 1024)
    while True:
        yield piece


def _endless(
    world: World,
    method: str,
    path: str,
    token: str | None,
    cap: int,
    content_type: str = "application/octet-stream",
    pieces: Any = None,
) -> tuple[int, int]:
    """Stream a chunked body of up to ``cap`` bytes (or until the server hangs up); returns
    (status of the answer, bytes pushed into the socket). Status 0: no answer was read."""
    host, port = world.server.url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Type: {content_type}",
        "Transfer-Encoding: chunked",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    try:
        for piece in pieces or _random_pieces():
            if sent >= cap:
                break
            s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
    except OSError:
        pass
    status = 0
    try:
        s.settimeout(10)
        data = s.recv(4096)
        if data.startswith(b"HTTP/1.1 "):
            status = int(data[9:12])
    except OSError:
        pass
    finally:
        s.close()
    return status, sent


@pytest.mark.parametrize("case", ["blob", "batch", "login-json", "log-json"])
def test_endless_uploads_are_cut_off(world: World, case: str) -> None:
    token = fresh_token(world.x)
    before_used = world.store.query("SELECT used FROM accounts WHERE handle='alice'")[0][0]
    rss = _rss_kib(world.server.pid())
    cap = 160 * 1024 * 1024
    blob = os.urandom(32).hex()
    path, auth, limit = {
        "blob": (f"/v1/blobs/{blob}", token, 8 << 20),
        "batch": ("/v1/blobs/batch", token, 32 << 20),
        "login-json": ("/v1/login/start", None, 1 << 20),
        "log-json": ("/v1/log", token, 8 << 20),
    }[case]
    ctype = "application/json" if "json" in case else "application/octet-stream"
    t0 = time.monotonic()
    status, _ = _endless(
        world,
        "PUT" if case == "blob" else "POST",
        path,
        auth,
        cap,
        ctype,
        _batch_records() if case == "batch" else None,
    )
    assert status == 413, f"an endless body was not cut off with 413 (got {status})"
    assert time.monotonic() - t0 < 60
    time.sleep(0.3)
    assert _rss_kib(world.server.pid()) - rss < 96 * 1024, "server memory grew with the body"
    assert blob not in world.store.blob_ids("alice")
    staging = list((world.store.data / "blobs" / ".staging").glob("*"))
    assert staging == [], "a cut-off upload left its staged bytes"
    if case == "blob":
        after = world.store.query("SELECT used FROM accounts WHERE handle='alice'")[0][0]
        assert after == before_used
    assert limit > 0
    assert http(world.server.url, "GET", "/v1/health")[0] == 200


def test_oversized_declared_bodies_refused_before_reading(world: World) -> None:
    token = fresh_token(world.x)
    for method, path, size in (
        ("PUT", f"/v1/blobs/{os.urandom(32).hex()}", (8 << 20) + 1),
        ("POST", "/v1/blobs/batch", (32 << 20) + 1),
        ("POST", "/v1/login/start", (1 << 20) + 1),
    ):
        host, port = world.server.url.split("//")[1].split(":")
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(
            (
                f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
        )
        answer = s.recv(4096)
        s.close()
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:100])


# -- dropped and lost answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["append-refused-502", "append-answer-lost", "upload-connection-reset", "upload-answer-502"],
)
def test_dropped_requests_lose_nothing(world: World, case: str) -> None:
    """The network (or the server) drops a request or its answer mid-sync: the sync fails
    without claiming success; once the tampering stops it completes, exactly once."""
    a = world.a
    a.write("papiers/nouveau.txt", "a new document")
    a.write("papiers/gros.bin", os.urandom(300_000))
    log_len = len(world.store.log("jean"))
    if case == "append-refused-502":
        world.proxy.on("POST", r"/v1/log", door="a", drop="502")
    elif case == "append-answer-lost":

        def lose(ex: Any) -> None:
            ex.status = 502
            ex.resp_body = b"bad gateway"

        world.proxy.on("POST", r"/v1/log", door="a", response=lose)
    elif case == "upload-connection-reset":
        world.proxy.on("POST", r"/v1/blobs/batch", door="a", drop="reset")
    else:
        world.proxy.on("POST", r"/v1/blobs/batch", door="a", drop="502")
    res = a.run("sync")
    assert res.returncode != 0, "a sync whose request failed claimed success"
    assert_no_traceback(res)
    assert len([ln for ln in res.stderr.splitlines() if ln.strip()]) == 1, res.stderr
    appended = len(world.store.log("jean")) - log_len
    assert appended == (2 if case == "append-answer-lost" else 0)
    assert a.read("papiers/nouveau.txt") == b"a new document"
    world.proxy.clear()
    a.ok("sync")
    assert len(world.store.log("jean")) - log_len == 2, "entries were lost or duplicated"
    assert not [p for p in a.tree() if "conflict" in p.lower()]
    world.b.ok("sync")
    assert world.b.tree() == a.tree()
