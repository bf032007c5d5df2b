"""Thin HTTP client for the vault API (protocol/API.md).

Translates transport failures into :class:`ServerUnavailable` and wire errors into the
project's exception tree; never logs tokens or bodies. Bearer tokens are refreshed with the
device key when the server says the session ended (the caller supplies ``refresh``).

Start-up cost: aiohttp (about a tenth of a second to import, TLS context included) is imported
and its session opened on the first request that needs it. A plain JSON ``GET`` to an
``http://`` server made before that — the sync's one cheap "anything new?" request — goes over
a single stdlib connection instead; any answer other than a clean 200 falls back to the full
client, so errors, token renewal and everything else behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import struct
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vault_core.encoding import b64u, unb64u
from vault_core.errors import (
    AuthError,
    IntegrityError,
    ServerUnavailable,
    UsageError,
    VaultError,
    from_wire,
)

if TYPE_CHECKING:
    import aiohttp

CONNECT_TIMEOUT = 15
READ_TIMEOUT = 60
_LIGHT_MAX = 1024 * 1024
_COALESCE = 256 * 1024


def host_of(server: str) -> str:
    """The Host header value the login proof is bound to."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VaultError(f"not a server URL: {server}")
    return parts.netloc


MAX_ANSWER = 64 * 1024 * 1024  # JSON answers (a log page, a deposit envelope)
MAX_BLOB_ANSWER = 160 * 1024 * 1024  # a manifest of the largest file; chunks pass their size
_SEGMENT = re.compile(r"^[A-Za-z0-9_@-][A-Za-z0-9._@-]*$")


def check_api_path(path: str) -> None:
    """Every id the client puts in a URL is a plain segment: no '..', '/', '%', '?' or '#'.

    Ids come from the command line or from server listings; yarl would normalise '..', so
    ``share revoke ../devices/ID`` could otherwise reach another route.
    """
    if not path.startswith("/v1/"):
        raise UsageError(f"refusing request path {path!r}")
    for segment in path[1:].split("/"):
        if not _SEGMENT.match(segment):
            raise UsageError(f"refusing id {segment!r}: not a valid identifier")


_preparing: threading.Thread | None = None


def _import_aiohttp() -> None:
    with contextlib.suppress(Exception):  # (a failure shows where aiohttp is imported again)
        import aiohttp  # noqa: F401


class Api:
    def __init__(self, server: str, token: str | None = None) -> None:
        self.server = server.rstrip("/")
        host_of(self.server)
        self.token = token
        self.refresh: Callable[[], Awaitable[str]] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def prepare() -> None:
        """Import aiohttp on a thread now, for a command that will transfer soon.

        The import takes 100-200 ms of Python; on the event loop at the first upload it
        stalls the sync (the pipeline and every transfer) that long, while a thread started
        when the scan finds something to send overlaps it with the scan, the plan and the
        first blocks. (A command with nothing to transfer never imports aiohttp: its GETs take
        the light path.) The event loop's own ``import aiohttp`` waits for this one to end."""
        global _preparing
        if _preparing is None and "aiohttp" not in sys.modules:
            # not a daemon: a command that ends meanwhile waits for the import to end rather
            # than finalizing the interpreter under a thread that holds import locks
            _preparing = threading.Thread(target=_import_aiohttp, name="vault-import")
            _preparing.start()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
                ),
                connector=aiohttp.TCPConnector(limit=16),
            )
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
        import aiohttp

        body: Any = None
        try:
            body = await resp.json(content_type=None)
            code, message = str(body["code"]), str(body["message"])
        except (ValueError, KeyError, TypeError, aiohttp.ClientError):
            code, message = "error", f"server answered HTTP {resp.status}"
        err = from_wire(code, message)
        if isinstance(body, dict) and isinstance(body.get("head"), int):
            err.head = body["head"]  # type: ignore[attr-defined]
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int):
            err.retry_after = body["retry_after"]  # type: ignore[attr-defined]
        raise err

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Any = None,
        auth: str | None = None,
        raw: bool = False,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        limit: int = MAX_ANSWER,
    ) -> Any:
        check_api_path(path)
        if (
            method == "GET"
            and self._session is None
            and not raw
            and params is None
            and data is None
            and json_body is None
        ):
            light = await self._light_get(path, self._headers(auth))
            if light is not None:
                return light
        import aiohttp

        for attempt in (0, 1):
            try:
                async with self.session.request(
                    method,
                    self.server + path,
                    json=json_body,
                    data=data() if callable(data) else data,
                    headers={**self._headers(auth), **(headers or {})},
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
                    if resp.status == 204 and not raw:
                        return None
                    text = await _read_bounded(resp, limit, path)
                    if raw:
                        return text
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

    async def _light_get(self, path: str, headers: dict[str, str]) -> Any:
        """GET a JSON document over one plain-HTTP connection; None means "use aiohttp"."""
        parts = urlsplit(self.server)
        if parts.scheme != "http" or not parts.hostname:
            return None
        target = parts.path.rstrip("/") + path
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        writer: asyncio.StreamWriter | None = None
        try:
            reader, conn = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, parts.port or 80), CONNECT_TIMEOUT
            )
            writer = conn
            conn.write(request)
            await conn.drain()
            answer = await asyncio.wait_for(reader.read(_LIGHT_MAX + 4096), READ_TIMEOUT)
            while answer and len(answer) <= _LIGHT_MAX + 4096:
                more = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT)
                if not more:
                    break
                answer += more
        except (OSError, TimeoutError, ValueError, UnicodeError):
            return None
        finally:
            if writer is not None:
                writer.close()
        head, sep, body = answer.partition(b"\r\n\r\n")
        if not sep:
            return None
        status_line, *header_lines = head.split(b"\r\n")
        if not status_line.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 ")):
            return None
        length = None
        for line in header_lines:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"transfer-encoding":
                return None
            if key == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return None
        if length is None or length != len(body) or not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise IntegrityError("the server sent a malformed answer") from None

    # -- convenience wrappers -------------------------------------------------------------

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.request("POST", path, json_body=body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.request("PUT", path, json_body=body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)

    async def blob(
        self,
        blob_id: str,
        auth: str | None = None,
        grant: str | None = None,
        limit: int = MAX_BLOB_ANSWER,
    ) -> bytes:
        """A blob, read with a bound (the signed manifest gives a chunk's exact size)."""
        path = f"/v1/grants/{grant}/blobs/{blob_id}" if grant else f"/v1/blobs/{blob_id}"
        data: bytes = await self.request("GET", path, raw=True, auth=auth, limit=limit)
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

    async def upload_records(self, records: Sequence[bytes | bytearray]) -> None:
        """POST /v1/blobs/batch from ready-made records (``u8 idlen | id | u32 len | blob``).

        Large records go to the socket as they are (no joined copy of the body), as views:
        aiohttp cuts every piece of a body of known length to what is left of it, and a cut of
        a bytearray is a copy where a cut of a view is not. Small ones are coalesced so that
        thousands of small files do not cost thousands of writes.
        """
        total = sum(len(r) for r in records)

        async def body() -> AsyncIterator[bytes | memoryview]:
            small: list[bytes | bytearray] = []
            size = 0
            for r in records:
                if len(r) >= _COALESCE:
                    if small:
                        yield b"".join(small)
                        small, size = [], 0
                    yield memoryview(r)
                    continue
                small.append(r)
                size += len(r)
                if size >= _COALESCE:
                    yield b"".join(small)
                    small, size = [], 0
            if small:
                yield b"".join(small)

        await self.request(
            "POST",
            "/v1/blobs/batch",
            data=body,
            headers={"Content-Length": str(total), "Content-Type": "application/octet-stream"},
        )

    async def upload(self, blob_id: str, blob: bytes) -> None:
        await self.request("PUT", f"/v1/blobs/{blob_id}", data=blob)


async def _read_bounded(resp: Any, limit: int, path: str) -> bytes:
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise IntegrityError(
            f"the server announced {declared} bytes for {path}, more than the {limit} expected"
        )
    parts = []
    total = 0
    while True:
        part = await resp.content.read(1 << 16)
        if not part:
            break
        total += len(part)
        if total > limit:
            raise IntegrityError(
                f"the server sent more than the {limit} bytes expected for "
                f"{path} (endless or oversized answer)"
            )
        parts.append(part)
    return b"".join(parts)


def dec(value: Any, size: int | None = None) -> bytes:
    """Decode a b64u field of a server answer; malformed is an integrity failure."""
    try:
        return unb64u(value, size)
    except VaultError:
        raise IntegrityError("the server sent a malformed field") from None


__all__ = ["Api", "b64u", "dec", "host_of"]
