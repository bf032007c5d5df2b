"""Redeeming a share: a link (from any profile, even an empty one) or a grant made to this
account; and the list of grants made to this account.

Theory of operation: redeeming verifies everything (payload signature and AEAD, the owner's
signed expiry, manifest against the signed item, every chunk against the manifest) into a
temporary folder inside ``out`` and only then moves the documents into place: an expired,
revoked, used-up, unknown or tampered grant writes nothing. A profile remembers the payload
revision it last opened of each grant and refuses an older one (a replay could hide documents
the owner added since).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core import grants as g
from vault_core.encoding import b64u
from vault_core.errors import (
    AccessDenied,
    AuthError,
    GrantUnavailable,
    IntegrityError,
    NotFound,
    UsageError,
    VaultError,
)
from vault_core.manifest import Manifest, open_manifest

from ..api import Api, dec
from ..certificates import certification
from ..identity import check_id, contact
from ..state import State
from ..sync import write_chunks
from .context import Context
from .shares import PASSWORD_PREFIX


@dataclass(frozen=True)
class Link:
    server: str
    grant_id: str
    secret: bytes
    has_password: bool

    def __repr__(self) -> str:  # the secret never goes into a log or a traceback
        return f"Link({self.server!r}, {self.grant_id!r}, password={self.has_password})"


@dataclass(frozen=True)
class RedeemedItem:
    id: str
    name: str
    size: int
    type: str | None
    certified_by: str | None  # the certified issuer, from the check of the bytes written


@dataclass(frozen=True)
class Redemption:
    grant_id: str
    owner: str
    expires: int
    items: list[RedeemedItem]
    written: list[str]  # names written under ``out`` (empty when only listed)


@dataclass(frozen=True)
class SharedGrant:
    id: str
    from_: str | None
    state: str | None
    expires_at: Any


def is_link(text: str) -> bool:
    return "#" in text or "/s/" in text


def parse_link(link: str) -> Link:
    """(server, grant id, secret, has password) from a link."""
    if "#" not in link:
        raise UsageError("not a share link (no '#secret' part)")
    url, fragment = link.split("#", 1)
    has_password = fragment.startswith(PASSWORD_PREFIX)
    if has_password:
        fragment = fragment[len(PASSWORD_PREFIX) :]
    try:
        server, grant_id, secret = g.parse_link(f"{url}#{fragment}")
    except IntegrityError:
        raise IntegrityError("the link's secret is damaged") from None
    except VaultError:
        raise UsageError("not a share link") from None
    return Link(server, grant_id, secret, has_password)


class _Opened:
    def __init__(
        self, api: Api, grant_id: str, header: g.GrantHeader, payload: g.GrantPayload, auth: str
    ) -> None:
        self.api = api
        self.grant_id = grant_id
        self.header = header
        self.payload = payload
        self.auth = auth


async def _open_link(api: Api, link: Link, password: str | None) -> _Opened:
    ls = g.link_secrets(link.secret, password)
    try:
        res = await api.post(
            f"/v1/grants/{link.grant_id}/open", None, auth=f"Grant {b64u(ls.access_token)}"
        )
    except AccessDenied as exc:
        if isinstance(exc, GrantUnavailable):
            raise
        if password is not None:
            raise AuthError("wrong link password (or a damaged link)") from None
        raise IntegrityError("the link's secret is wrong or damaged") from None
    header, payload = _verify_open(res, ls.grant_key, link.grant_id, None)
    return _Opened(api, link.grant_id, header, payload, f"Grant {res['session']}")


async def _open_account_grant(ctx: Context, api: Api, grant_id: str) -> _Opened:
    profile = ctx.profile
    check_id(grant_id, "grant")
    res = await api.post(f"/v1/grants/{grant_id}/open")
    try:
        header = g.GrantHeader.decode(dec(res["header"]))
        grant_key = g.open_grant_key(
            profile.bundle.identity_box[1], dec(res["sealed_key"]), grant_id
        )
    except (KeyError, TypeError, IntegrityError):
        raise IntegrityError(
            f"grant {grant_id}: its header or sealed key failed verification (forged, "
            "damaged or missing)"
        ) from None
    owner = await contact(profile, api, header.owner, ctx.warn)
    header, payload = _verify_open(res, grant_key, grant_id, owner.sign_pk)
    auth = f"Grant {res['session']}" if res.get("session") else f"Bearer {api.token}"
    return _Opened(api, grant_id, header, payload, auth)


def _verify_open(
    res: Any, grant_key: bytes, grant_id: str, owner_pk: bytes | None
) -> tuple[g.GrantHeader, g.GrantPayload]:
    try:
        opened = g.open_payload(
            dec(res["header"]), dec(res["payload"]), grant_key, grant_id, owner_pk
        )
    except (KeyError, TypeError, IntegrityError):
        raise IntegrityError(
            f"grant {grant_id}: the shared documents failed verification (wrong secret or "
            "tampered grant)"
        ) from None
    header, _ = opened
    if header.expires <= time.time():
        # the owner signed the expiry: a server that keeps serving an expired grant is ignored
        raise GrantUnavailable(f"grant {grant_id} expired (by its owner-signed expiry)")
    return opened


def _note_revision(state_db: Path, red: _Opened) -> None:
    """Refuse a payload revision older than one this profile has seen of the same grant, else
    remember it (SPEC §Grants). A server replaying an old revision could hide documents the
    owner added to a live grant since, or show again ones he took out of it."""
    rev = red.payload.revision
    state = State(state_db)
    try:
        seen = state.get_meta("grant_revisions") or {}
        last = seen.get(red.grant_id, 0)
        if rev < last:
            raise IntegrityError(
                f"grant {red.grant_id}: the server gave revision {rev} of what it covers, "
                f"older than revision {last} already opened here (replayed)"
            )
        if rev > last:
            seen[red.grant_id] = rev
            with state.transaction():
                state.set_meta("grant_revisions", seen)
    finally:
        state.close()


async def _fetch(red: _Opened, out: Path, only: set[str] | None = None) -> list[str]:
    """Verify every document (of ``only``, default all) into a temp folder, then move them
    into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(out) / f".vault-redeem-{os.urandom(4).hex()}"
    staging.mkdir()
    written: list[tuple[Path, str]] = []
    try:
        for item in red.payload.items:
            if only is not None and item.name not in only:
                continue
            try:
                blob = await red.api.blob(item.manifest, auth=red.auth, grant=red.grant_id)
            except NotFound:
                raise NotFound(
                    f"{item.name}: its manifest is missing on the server (withheld or lost)"
                ) from None
            try:
                manifest: Manifest = open_manifest(
                    blob, item.manifest, item.key, bytes.fromhex(item.file_id), item.version
                )
            except (IntegrityError, ValueError):
                raise IntegrityError(f"{item.name}: manifest failed verification") from None
            if manifest.content != item.content or manifest.size != item.size:
                raise IntegrityError(f"{item.name}: manifest does not match the grant")
            tmp = staging / f"{len(written)}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                await write_chunks(
                    red.api, manifest, fd, item.name, grant=red.grant_id, auth=red.auth
                )
                os.fsync(fd)
            finally:
                os.close(fd)
            os.utime(tmp, ns=(item.mtime * 1_000_000, item.mtime * 1_000_000))
            written.append((tmp, item.name))
        names = []
        for tmp, name in written:
            target = out.joinpath(*name.split("/"))
            if not target.resolve().is_relative_to(out.resolve()):
                raise IntegrityError(f"refused unsafe name {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
            names.append(name)
        return names
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)


def _describe(
    red: _Opened, trusted: dict[bytes, str], hashes: dict[str, bytes] | None = None
) -> list[RedeemedItem]:
    """Items with their certification; ``hashes`` (name -> SHA-256 of the downloaded
    document) makes the check cover the bytes actually written, not only the statement."""
    out = []
    for item in red.payload.items:
        cert = certification(
            item.certificate,
            trusted,
            red.header.owner,
            red.header.owner_sign_pk,
            (hashes or {}).get(item.name),
        )
        out.append(RedeemedItem(item.name, item.name, item.size, item.doc_type, cert))
    return out


def _sha256_of(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").digest()


async def _finish(
    red: _Opened, out: Path | None, trusted: dict[bytes, str], only: set[str] | None = None
) -> Redemption:
    header = red.header
    if out is None:
        items = _describe(red, trusted)
        return Redemption(red.grant_id, header.owner, header.expires, items, [])
    names = await _fetch(red, out, only)
    hashes = {name: _sha256_of(out.joinpath(*name.split("/"))) for name in names}
    items = _describe(red, trusted, hashes)
    return Redemption(red.grant_id, header.owner, header.expires, items, names)


async def redeem(
    ctx: Context,
    link_or_grant: str,
    out: Path | None,
    password: str | None = None,
    only: set[str] | None = None,
) -> Redemption:
    """Fetch and decrypt what a share covers (the documents named in ``only``, default all)
    into ``out`` (None: only list it). A link works from any profile, even an empty one; a
    grant id needs this profile's account."""
    profile = ctx.profile
    trusted = profile.trusted_authorities() if profile.home.exists() else {}
    if is_link(link_or_grant):
        link = parse_link(link_or_grant)
        async with Api(link.server) as api:
            red = await _open_link(api, link, password)
            if profile.home.exists():  # (a profile remembers the revisions it has opened)
                _note_revision(profile.home / "state.db", red)
            return await _finish(red, out, trusted, only)
    ctx.account()
    async with ctx.api() as api:
        red = await _open_account_grant(ctx, api, link_or_grant)
        _note_revision(profile.home / "state.db", red)
        return await _finish(red, out, trusted, only)


async def shared(ctx: Context) -> list[SharedGrant]:
    """Grants made to this account, with their ids."""
    async with ctx.api() as api:
        items = await api.get("/v1/shared")
    return [
        SharedGrant(it["id"], it.get("from"), it.get("state"), it.get("expires_at")) for it in items
    ]
