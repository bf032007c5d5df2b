"""Small tools the attack tests share: raw HTTP, key material of the world's parties, manifest
lookup, entry forging, byte flipping."""

from __future__ import annotations

import asyncio
import http.client as httpclient
import json
import os
from typing import Any
from urllib.parse import urlsplit

from vault_core.encoding import b64u, canonical_json, parse_canonical_json, unb64u
from vault_core.log import FileRecord, LogEntry, Record, make_entry
from vault_core.manifest import Manifest, open_manifest

from .harness import Device, World

_KEYS: dict[str, Any] = {}


def http(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    """One raw request (no client-side path normalisation): (status, body)."""
    parts = urlsplit(url)
    conn = httpclient.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_json(
    url: str, method: str, path: str, value: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = None if value is None else json.dumps(value).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    status, raw = http(url, method, path, body, hdrs)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def profile(dev: Device) -> Any:
    """The unlocked profile of a device (cached per home: Argon2id runs once)."""
    key = str(dev.home)
    if key not in _KEYS:
        _KEYS[key] = dev.profile()
    return _KEYS[key]


def fresh_token(dev: Device) -> str:
    """The device's current session token (read from its profile after the last command)."""
    return str(dev.profile().secrets.token)


def heads(dev: Device) -> dict[str, FileRecord]:
    from vault_client.state import State

    st = State(dev.home / "state.db")
    try:
        return st.heads()
    finally:
        st.close()


def manifest_of(world: World, dev: Device, path: str, handle: str = "jean") -> Manifest:
    rec = heads(dev)[path]
    blob = world.store.read_blob(handle, rec.manifest)
    return open_manifest(blob, rec.manifest, rec.key, bytes.fromhex(rec.file_id), rec.version)


def record_of(dev: Device, path: str) -> FileRecord:
    return heads(dev)[path]


def flip(data: bytes, at: int = -20, bit: int = 1) -> bytes:
    b = bytearray(data)
    b[at] ^= bit
    return bytes(b)


def decode_entry(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = parse_canonical_json(raw)
    return obj


def encode_entry(obj: dict[str, Any]) -> bytes:
    return canonical_json(obj)


def entry_b64(raw: bytes) -> str:
    return b64u(raw)


def entry_raw(text: str) -> bytes:
    return unb64u(text)


def forge_entry(
    dev: Device,
    seq: int,
    prev: bytes,
    record: Record,
    *,
    device_id: str | None = None,
    device_sk: bytes | None = None,
    time: int = 1,
) -> LogEntry:
    """An entry made with this device's record key (a party holding the vault key), signed by
    ``device_sk`` (default: the device's own key) and claiming ``device_id``."""
    from vault_core.keys import device_keypair

    prof = profile(dev)
    return make_entry(
        handle=prof.handle,
        record_key=prof.bundle.vault_keys.record_key,
        device_id=device_id or prof.device_id,
        device_sk=device_sk or device_keypair(prof.secrets.device_seed)[1],
        seq=seq,
        prev=prev,
        time=time,
        record=record,
        nonce=os.urandom(24),
    )


def log_hashes(world: World, handle: str = "jean") -> list[bytes]:
    return [LogEntry.decode(e).hash() for _, e in world.store.log(handle)]


def run_api(coro_fn: Any, dev: Device) -> Any:
    """Run ``coro_fn(api, profile)`` with the device's authenticated API client."""
    from vault_client.session import open_api

    prof = dev.profile()

    async def go() -> Any:
        api = await open_api(prof)
        async with api:
            return await coro_fn(api, prof)

    return asyncio.run(go())
