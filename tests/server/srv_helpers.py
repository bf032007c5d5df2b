"""Shared helpers for the server tests: a real server on 127.0.0.1 and real key material."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from vault_core import _crypto
from vault_core.encoding import b64u, unb64u
from vault_core.login import sign_login_proof
from vault_server.app import build_app, open_context
from vault_server.clock import ManualClock
from vault_server.config import Limits, ServerConfig
from vault_server.context import ServerContext

T0 = 1_800_000_000
KDF = {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 1}


def keypair() -> tuple[bytes, bytes]:
    return _crypto.sign_keypair(os.urandom(32))


def hex_id() -> str:
    return os.urandom(16).hex()


def blob(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class User:
    handle: str
    login_pk: bytes = field(repr=False)
    login_sk: bytes = field(repr=False)
    recovery_pk: bytes = field(repr=False)
    recovery_sk: bytes = field(repr=False)
    device_id: str
    device_pk: bytes = field(repr=False)
    device_sk: bytes = field(repr=False)
    token: str = field(default="", repr=False)

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_user(handle: str) -> tuple[User, dict[str, Any]]:
    lpk, lsk = keypair()
    rpk, rsk = keypair()
    dpk, dsk = keypair()
    ipk, _ = keypair()
    bpk, _ = _crypto.box_keypair(os.urandom(32))
    user = User(handle, lpk, lsk, rpk, rsk, hex_id(), dpk, dsk)
    body = {
        "handle": handle,
        "kdf": {**KDF, "salt": b64u(os.urandom(16))},
        "login_pk": b64u(lpk),
        "recovery_login_pk": b64u(rpk),
        "bundle_pass": b64u(b"bundle-pass:" + os.urandom(8)),
        "bundle_recovery": b64u(b"bundle-recovery:" + os.urandom(8)),
        "identity": {"sign_pk": b64u(ipk), "box_pk": b64u(bpk), "sig": b64u(os.urandom(64))},
        "device": {
            "id": user.device_id,
            "name": "laptop",
            "sign_pk": b64u(dpk),
            "cert": b64u(b"cert"),
        },
    }
    return user, body


@dataclass
class Srv:
    client: TestClient[Any, Any]
    clock: ManualClock
    ctx: ServerContext
    data: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.client.port}"

    async def user(self, handle: str) -> User:
        user, body = new_user(handle)
        r = await self.client.post("/v1/accounts", json=body)
        assert r.status == 201, await r.text()
        user.token = (await r.json())["token"]
        return user

    async def challenge(self, handle: str, purpose: str) -> bytes:
        r = await self.client.post("/v1/login/start", json={"handle": handle, "purpose": purpose})
        assert r.status == 200
        return unb64u((await r.json())["challenge"])

    async def login(
        self,
        user: User,
        purpose: str = "passphrase",
        sk: bytes | None = None,
        device: dict[str, Any] | None = None,
    ) -> ClientResponse:
        ch = await self.challenge(user.handle, purpose)
        key = sk or {"passphrase": user.login_sk, "recovery": user.recovery_sk}.get(
            purpose, user.device_sk
        )
        body: dict[str, Any] = {
            "handle": user.handle,
            "purpose": purpose,
            "challenge": b64u(ch),
            "signature": b64u(sign_login_proof(key, user.handle, self.host, purpose, ch)),
        }
        if purpose == "device":
            body["device_id"] = user.device_id
        if device is not None:
            body["device"] = device
        return await self.client.post("/v1/login/finish", json=body)

    async def put_blob(self, user: User, data: bytes) -> str:
        bid = blob(data)
        r = await self.client.put(f"/v1/blobs/{bid}", data=data, headers=user.h)
        assert r.status in (200, 201), await r.text()
        return bid

    async def append(self, user: User, expected: int, entries: list[bytes], refs=()) -> int:
        r = await self.client.post(
            "/v1/log",
            json={
                "expected_head": expected,
                "entries": [{"entry": b64u(e), "refs": list(refs)} for e in entries],
            },
            headers=user.h,
        )
        assert r.status == 201, await r.text()
        return int((await r.json())["head"])


async def start_srv(tmp: Path, trusted_proxies: frozenset[str] = frozenset(), **limits: Any) -> Srv:
    clock = ManualClock(T0)
    config = ServerConfig(
        data_dir=tmp,
        limits=dataclasses.replace(Limits(), **limits),
        trusted_proxies=trusted_proxies,
        periodic_gc=False,
    )
    ctx = await open_context(config, clock)
    app = build_app(ctx)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return Srv(client, clock, ctx, tmp)


async def expect(resp: ClientResponse, status: int, code: str | None = None) -> Any:
    text = await resp.text()
    assert resp.status == status, f"{resp.status} {text}"
    if status >= 400:
        body = await resp.json()
        assert set(body) >= {"code", "message"}
        if code is not None:
            assert body["code"] == code, body
        return body
    if resp.content_type == "application/json":
        return await resp.json()
    return text


# -- a real `vault-server serve` process ---------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    proc: Any
    url: str
    stderr_path: Path

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


async def start_process(data: Path, *extra: str) -> Proc:
    import asyncio
    import sys

    stderr_path = data.parent / f"{data.name}-stderr-{os.urandom(3).hex()}.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vault_server",
        "serve",
        "--data",
        str(data),
        "--port",
        "0",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr_path.open("wb"),
        cwd=str(REPO),
        env=env,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return Proc(proc, line.split()[-1], stderr_path)


async def run_cli(*args: str) -> tuple[int, str, str]:
    import asyncio
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vault_server",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()
