"""Junk on every route (hypothesis): random ids, credentials, JSON and bytes get a JSON 4xx
(or a success), never a 5xx and never a traceback."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from srv_helpers import Srv, User, blob, expect, hex_id, keypair

from vault_core.encoding import b64u
from vault_server.app import ALL_ROUTES

FUZZ_LIMITS = {
    "login_fail_per_handle": 10**9,
    "login_fail_per_address": 10**9,
    "issuer_per_minute": 10**9,
}

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(
        ["AA", "", "alice", "=", "0" * 32, "a" * 64, "link", "account", "passphrase", "device"]
    )
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
path_piece = st.one_of(
    st.just("VALID"),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=70),
    st.sampled_from(["0" * 32, "f" * 64, "alice", "..", "%00", "A" * 32, "0" * 31]),
)


def templates(u: User, other: str, state: dict[str, str]) -> dict[str, dict[str, Any]]:
    pk, _ = keypair()
    kdf = {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1, "salt": b64u(bytes(16))}
    return {
        "/v1/accounts": {
            "handle": "fz" + os.urandom(4).hex(),
            "kdf": kdf,
            "login_pk": b64u(pk),
            "recovery_login_pk": b64u(pk),
            "bundle_pass": "AA",
            "bundle_recovery": "AA",
            "identity": {"sign_pk": b64u(pk), "box_pk": b64u(pk), "sig": "A" * 86},
            "device": {"id": hex_id(), "name": "n", "sign_pk": b64u(pk), "cert": "AA"},
        },
        "/v1/login/start": {"handle": u.handle, "purpose": "passphrase"},
        "/v1/login/finish": {
            "handle": u.handle,
            "purpose": "device",
            "challenge": "A" * 43,
            "signature": "A" * 86,
            "device_id": u.device_id,
        },
        "/v1/account/passphrase": {"kdf": kdf, "login_pk": b64u(u.login_pk), "bundle_pass": "AA"},
        "/v1/devices/{id}/cert": {"cert": "AA"},
        "/v1/blobs/missing": {"ids": [state["blob"]]},
        "/v1/log": {"expected_head": 0, "entries": [{"entry": "AA", "refs": [state["blob"]]}]},
        "/v1/grants": {
            "id": hex_id(),
            "kind": "link",
            "access_hash": "A" * 43,
            "expires_at": 2**40,
            "password": False,
            "header": "AA",
            "payload": "AA",
            "blobs": [state["blob"]],
        },
        "/v1/grants/{id}/payload": {"payload": "AA", "blobs": [state["blob"]]},
        "/v1/inbox/{handle}": {"id": hex_id(), "envelope": "AA"},
        "/v1/requests/{handle}": {"id": hex_id(), "envelope": "AA", "due_at": 5},
        "/v1/requests/{id}/answer": {"grant_id": state["grant"]},
    }


def mutate(body: dict[str, Any], draw: Any) -> Any:
    how = draw(st.sampled_from(["keep", "drop", "replace", "whole", "deep", "long", "bytes"]))
    body = dict(body)
    if how == "drop" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif how == "replace" and body:
        body[draw(st.sampled_from(sorted(body)))] = draw(json_value)
    elif how == "whole":
        return draw(json_value)
    elif how == "deep":
        depth = draw(st.integers(min_value=7, max_value=3000))
        return json.loads("[" * depth + "]" * depth) if depth < 900 else "[" * depth
    elif how == "long":
        key = draw(st.sampled_from(sorted(body) or ["x"]))
        body[key] = [state_blob] * draw(st.integers(min_value=999, max_value=1002))
    elif how == "bytes":
        return draw(st.binary(max_size=300))
    return body


state_blob = blob(b"fuzz-blob")


@dataclass
class Fuzz:
    srv: Srv
    alice: User
    bob: User
    state: dict[str, str]
    seen: Counter[int]


@pytest.fixture
async def fuzz(make_srv) -> AsyncIterator[Fuzz]:
    srv = await make_srv(**FUZZ_LIMITS)
    alice = await srv.user("alice")
    bob = await srv.user("bob")
    await srv.ctx.meta.set_issuer("alice", True)
    await srv.put_blob(alice, b"fuzz-blob")
    gid = hex_id()
    await expect(
        await srv.client.post(
            "/v1/grants",
            headers=alice.h,
            json={
                "id": gid,
                "kind": "link",
                "access_hash": b64u(bytes(32)),
                "expires_at": 2**40,
                "password": False,
                "header": "AA",
                "payload": "AA",
                "blobs": [state_blob],
            },
        ),
        201,
    )
    f = Fuzz(srv, alice, bob, {"blob": state_blob, "grant": gid}, Counter())
    yield f
    # the fuzzer reached past validation, not only the 400/401 front doors
    assert set(f.seen) & {200, 201, 204} and set(f.seen) & {404, 409, 410}, f.seen


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_junk_everywhere_is_4xx(fuzz: Fuzz, data: st.DataObject) -> None:
    srv, alice, bob, state = fuzz.srv, fuzz.alice, fuzz.bob, fuzz.state
    # keep alice's session alive whatever the previous example did
    if (await srv.client.get("/v1/log/head", headers=alice.h)).status == 401:
        r = await srv.login(alice)
        if r.status == 200:
            alice.token = (await r.json())["token"]

    route = data.draw(st.sampled_from(ALL_ROUTES))
    if route.path == "/v1/events":
        return  # WebSocket upgrade: covered in test_srv_inbox_events
    path = route.path
    for name in ("id", "handle", "blob_id"):
        if "{" + name + "}" in path:
            piece = data.draw(path_piece)
            if piece == "VALID":
                piece = {
                    "id": data.draw(st.sampled_from([state["grant"], alice.device_id, hex_id()])),
                    "handle": data.draw(st.sampled_from(["alice", "bob", "nobody"])),
                    "blob_id": state["blob"],
                }[name]
            path = path.replace("{" + name + "}", urllib.parse.quote(piece, safe=""))
    auth = data.draw(st.sampled_from(["none", "alice", "alice", "alice", "bob", "junk", "grant"]))
    headers = {
        "none": {},
        "alice": alice.h,
        "bob": bob.h,
        "junk": {
            "Authorization": data.draw(
                st.sampled_from(
                    ["Bearer ", "Bearer ***", "Grant x", "Bearer " + "A" * 43, "x" * 300]
                )
            )
        },
        "grant": {"Authorization": "Grant " + "A" * 43},
    }[auth]
    kwargs: dict[str, Any] = {"headers": headers}
    if route.method in ("POST", "PUT"):
        tpl = templates(alice, "bob", state).get(route.path, {})
        body = mutate(tpl, data.draw)
        if isinstance(body, bytes):
            kwargs["data"] = body
        elif isinstance(body, str):
            kwargs["data"] = body.encode()
            kwargs["headers"] = {**headers, "Content-Type": "application/json"}
        else:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"] = {**headers, "Content-Type": "application/json"}
    if data.draw(st.booleans()) and route.method == "GET":
        path += "?" + urllib.parse.urlencode(
            {"after": data.draw(st.text(max_size=5)), "limit": data.draw(st.text(max_size=5))}
        )
    r = await srv.client.request(route.method, path, **kwargs)
    raw = await r.read()
    fuzz.seen[r.status] += 1
    assert r.status < 500, (route.method, path, r.status, raw[:300])
    if r.status >= 400:
        body = json.loads(raw)
        assert set(body) >= {"code", "message"}
        assert "Traceback" not in raw.decode()
