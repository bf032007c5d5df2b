"""``vault web check URL``: is what a server serves for web access the signed release?

Theory of operation (SPEC §Release manifest): the server's ``/.well-known/vault-release.json``
must be signed by one of the release keys this client ships (vault_client/release_keys.py) or
one given with ``--key``; never a key the server offers. Then every file it lists is fetched at
its path (index.html at ``/`` and ``/app/``, securite.html at ``/securite-acces-web``, the rest
at ``/assets/NAME``), hashed and compared, and every ``/assets/`` file a served page refers to
must be listed. The pure part (parsing, signature, paths, comparison) is vault_core.release;
this module only fetches. Nothing is written anywhere.

Verdicts: a manifest missing, malformed, badly signed or by an untrusted key, or any file that
differs, is not served or is not listed, is an IntegrityError (exit 4), naming it; a server
that cannot be reached (or answers 5xx) is ServerUnavailable (exit 1), no verdict.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from vault_core import _crypto, release
from vault_core.encoding import b64u, unb64u
from vault_core.errors import IntegrityError, ServerUnavailable, UsageError, VaultError
from vault_core.release import FileCheck

from ..api import Api
from ..release_keys import trusted_keys
from .context import Context

MAX_FILE = 32 * 1024 * 1024  # bytes read of one served file (the largest is ~1.2 MB)


@dataclass(frozen=True)
class WebCheck:
    server: str
    release: str  # the release's name, from the signed manifest
    created: str  # when it was signed (ISO 8601, UTC)
    key: str  # the release key that signed it (base64url)
    files: list[FileCheck]
    differing: list[str]  # names of the files that are not genuine (empty: all genuine)


def origin_of(server: str) -> str:
    """The server's origin (``https://host[:port]``): web access is served at its root."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not a server URL: {server}")
    return f"{parts.scheme}://{parts.netloc}"


def parse_key(text: str) -> bytes:
    """A release key given with ``--key`` (base64url, a valid Ed25519 public key)."""
    try:
        key = unb64u(text, 32)
        _crypto.check_sign_pk(key)
    except VaultError:
        raise UsageError(f"not a release key (base64url, 32 bytes): {text}") from None
    return key


async def _get(api: Api, server: str, path: str, limit: int) -> tuple[int, bytes]:
    """(status, body) of ``GET server+path``; at most ``limit + 1`` bytes are read (more
    than ``limit`` cannot match a hash of the manifest, which then reports it)."""
    import aiohttp

    try:
        async with api.session.get(server + path, allow_redirects=False) as resp:
            body = bytearray()
            while len(body) <= limit:
                part = await resp.content.read(1 << 16)
                if not part:
                    break
                body += part
            return resp.status, bytes(body[: limit + 1])
    except aiohttp.ClientPayloadError as exc:
        raise ServerUnavailable(f"the server's answer for {path} was cut short") from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ServerUnavailable(f"cannot reach the server at {server}") from exc


async def _manifest(api: Api, server: str, trusted: list[bytes]) -> release.Release:
    status, data = await _get(api, server, release.WELL_KNOWN, release.MAX_FILE)
    if status >= 500:
        raise ServerUnavailable(
            f"the server at {server} could not give its release manifest (HTTP {status})"
        )
    if status != 200:
        raise IntegrityError(
            f"{server} serves no release manifest (vault-release.json, HTTP {status}): "
            "its web access cannot be checked"
        )
    try:
        manifest = release.Release.decode(data)
    except IntegrityError:
        raise IntegrityError(
            f"the release manifest of {server} (vault-release.json) is not genuine: "
            "malformed or badly signed"
        ) from None
    if not any(_crypto.equal(manifest.key, k) for k in trusted):
        raise IntegrityError(
            f"the release manifest of {server} (vault-release.json) is signed by a key this "
            "client does not trust"
        )
    return manifest


def _iso(t: int) -> str:
    try:
        return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # (a signed time far in the future)
        return str(t)


async def check(ctx: Context, url: str, keys: list[str] | tuple[str, ...] = ()) -> WebCheck:
    """Check the web access of the server at ``url`` against its signed release manifest;
    ``keys``: release keys to trust besides the client's own (base64url)."""
    server = origin_of(url)
    trusted = trusted_keys() + [parse_key(k) for k in keys]
    async with Api(server) as api:
        manifest = await _manifest(api, server, trusted)
        served: dict[str, bytes | None] = {}
        for _, path in release.targets(manifest):
            status, body = await _get(api, server, path, MAX_FILE)
            served[path] = body if status == 200 else None
    checks = release.compare(manifest, served)
    return WebCheck(
        server=server,
        release=manifest.release,
        created=_iso(manifest.created),
        key=b64u(manifest.key),
        files=checks,
        differing=release.differing(checks),
    )
