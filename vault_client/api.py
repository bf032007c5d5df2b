"""Thin HTTP client for the vault API (protocol/API.md).

Translates transport failures into :class:`ServerUnavailable` and wire errors into the
project's exception tree; never logs tokens or bodies. Bearer tokens are refreshed with the
device key when the server says the session ended (the caller supplies ``refresh``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from vault_core.encoding import b64u, unb64u
from vault_core.errors import AuthError, IntegrityError, ServerUnavailable, VaultError, from_wire

TIMEOUT = aiohttp.ClientTimeout(total=None, connect=15, sock_read=60)


def host_of(server: str) -> str:
    """The Host header value the login proof is bound to."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VaultError(f"not a server URL: {server}")
    return parts.netloc


class Api:
    def __init__(self, server: str, token: str | None = None) -> None:
        self.server = server.rstrip("/")
        host_of(self.server)
        self.token = token
        self.refresh: Callable[[], Awaitable[str]] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        self._session = aiohttp.ClientSession(
            timeout=TIMEOUT, connector=aiohttp.TCPConnector(limit=16)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Api used outside 'async with'")
        return self._session

    def _headers(self, auth: str | None) -> dict[str, str]:
        if auth == "none":
            return {}
        if auth is not None:
            return {"Authorization": auth}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    async def _raise_for(self, resp: aiohttp.ClientResponse) -> None:
        if resp.status < 400:
            return
        body: Any = None
        try:
            body = await resp.json(content_type=None)
            code, message = str(body["code"]), str(body["message"])
        except (ValueError, KeyError, TypeError, aiohttp.ClientError):
            code, message = "error", f"server answered HTTP {resp.status}"
        err = from_wire(code, message)
        if isinstance(body, dict) and isinstance(body.get("head"), int):
            err.head = body["head"]  # type: ignore[attr-defined]
        raise err

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        auth: str | None = None,
        raw: bool = False,
        params: dict[str, str] | None = None,
    ) -> Any:
        for attempt in (0, 1):
            try:
                async with self.session.request(
                    method,
                    self.server + path,
                    json=json_body,
                    data=data,
                    headers=self._headers(auth),
                    params=params,
                ) as resp:
                    if (
                        resp.status == 401
                        and attempt == 0
                        and auth is None
                        and self.refresh is not None
                        and self.token
                    ):
                        self.token = await self.refresh()
                        continue
                    await self._raise_for(resp)
                    if raw:
                        return await resp.read()
                    if resp.status == 204:
                        return None
                    text = await resp.read()
                    if not text:
                        return None
                    try:
                        return json.loads(text)
                    except ValueError:
                        raise IntegrityError("the server sent a malformed answer") from None
            except aiohttp.ClientPayloadError as exc:
                raise ServerUnavailable(
                    f"the server's answer was cut short ({method} {path})"
                ) from exc
            except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
                raise ServerUnavailable(f"cannot reach the server at {self.server}") from exc
        raise AuthError("the session could not be renewed")

    # -- convenience wrappers -------------------------------------------------------------

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.request("POST", path, json_body=body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.request("PUT", path, json_body=body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)

    async def blob(self, blob_id: str, auth: str | None = None, grant: str | None = None) -> bytes:
        path = f"/v1/grants/{grant}/blobs/{blob_id}" if grant else f"/v1/blobs/{blob_id}"
        data: bytes = await self.request("GET", path, raw=True, auth=auth)
        return data

    async def missing(self, ids: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), 1000):
            res = await self.post("/v1/blobs/missing", {"ids": ids[i : i + 1000]})
            out.update(res["missing"])
        return out

    async def upload_batch(self, blobs: Iterable[tuple[str, bytes]]) -> None:
        parts = []
        for blob_id, blob in blobs:
            idb = blob_id.encode("ascii")
            parts.append(struct.pack(">B", len(idb)) + idb + struct.pack(">I", len(blob)) + blob)
        await self.request("POST", "/v1/blobs/batch", data=b"".join(parts))

    async def upload(self, blob_id: str, blob: bytes) -> None:
        await self.request("PUT", f"/v1/blobs/{blob_id}", data=blob)


def dec(value: Any, size: int | None = None) -> bytes:
    """Decode a b64u field of a server answer; malformed is an integrity failure."""
    try:
        return unb64u(value, size)
    except VaultError:
        raise IntegrityError("the server sent a malformed field") from None


__all__ = ["Api", "b64u", "dec", "host_of"]
