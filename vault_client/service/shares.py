"""Shares: time-limited access to documents for a counsellor (a link, or a grant to her
account); list, revoke, access log, live updates.

Theory of operation: the owner's client builds the grant (vault_core.grants) from verified
records: each covered file version contributes its name, file key and manifest id, and the
server gets the list of blob ids (manifest + chunks) it may serve through the grant. The grant
key and scope are kept in the owner's encrypted profile secrets so that a sync can publish a
new payload revision when files are added to a shared folder (live grant,
:func:`update_live`), and stop doing so once the grant expired or was revoked.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from vault_core import grants as g
from vault_core.encoding import b64u, unb64u
from vault_core.errors import AccessDenied, GrantUnavailable, NotFound
from vault_core.log import FileRecord

from ..identity import check_id, contact
from ..profile import Profile
from ..sync import SyncEngine
from .context import Context

PASSWORD_PREFIX = "pw."  # noqa: S105 — a marker in the link, not a secret


@dataclass(frozen=True)
class ShareCreated:
    grant_id: str
    link: str | None  # None for a grant to an account
    expires_at: int


@dataclass(frozen=True)
class Share:
    id: str
    kind: str | None
    to: str | None
    state: str | None
    expires_at: str | None
    max_uses: int | None
    uses: int
    remaining_uses: int | None


@dataclass(frozen=True)
class Access:
    id: int
    at: str | None
    event: str  # open | document
    document: str | None
    account: str | None


def iso(ts: Any) -> str | None:
    if not isinstance(ts, int | float):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _grants_store(profile: Profile) -> dict[str, Any]:
    store: dict[str, Any] = profile.secrets.extra.setdefault("grants", {})
    return store


def covered_records(heads: dict[str, FileRecord], scope: list[str]) -> list[tuple[str, FileRecord]]:
    """(display name, record) of every live file a scope covers, sorted by name."""
    out: dict[str, tuple[str, FileRecord]] = {}
    for s in scope:
        parent = s.rsplit("/", 1)[0] + "/" if "/" in s else ""
        for path, rec in heads.items():
            if rec.deleted:
                continue
            if path == s or path.startswith(s + "/") or s == "":
                name = path[len(parent) :] if parent and path.startswith(parent) else path
                out[path] = (name, rec)
    return sorted(out.values(), key=lambda x: x[0])


def scope_heads(engine: SyncEngine, scope: list[str]) -> dict[str, FileRecord]:
    """The latest records of the paths a scope covers (parsing only those)."""
    state = engine.state
    if "" in scope:
        return state.heads()
    out: dict[str, FileRecord] = {}
    for s in scope:
        for path in state.paths_under(s):
            rec = state.head(path)
            if rec is not None:
                out[path] = rec
    return out


async def _items_and_blobs(
    engine: SyncEngine, scope: list[str], heads: dict[str, FileRecord] | None = None
) -> tuple[list[g.GrantItem], list[str]]:
    heads = scope_heads(engine, scope) if heads is None else heads
    items: list[g.GrantItem] = []
    blobs: set[str] = set()
    for name, rec in covered_records(heads, scope):
        manifest = await engine.fetch_manifest(rec)
        blobs.add(rec.manifest)
        blobs.update(c.id for c in manifest.chunks)
        items.append(
            g.GrantItem(
                name=name,
                file_id=rec.file_id,
                version=rec.version,
                size=rec.size,
                mtime=rec.mtime,
                content=rec.content,
                manifest=rec.manifest,
                key=rec.key,
                doc_type=rec.doc_type,
                certificate=rec.certificate,
            )
        )
    return items, sorted(blobs)


async def create(
    ctx: Context,
    paths: list[str],
    expires_in: int,
    to: str | None = None,
    max_uses: int | None = None,
    password: str | None = None,
) -> ShareCreated:
    """Grant access to files or folders (vault paths) for ``expires_in`` seconds: a link
    (optionally with a password) or, with ``to``, a grant to that account (its key pinned on
    first use, its fingerprint announced as a warning)."""
    profile = ctx.account()
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            await engine.pull()
            heads = scope_heads(engine, paths)
            for p in paths:
                if not covered_records(heads, [p]):
                    raise NotFound(f"{p or 'the folder'} is not in the vault (sync it first?)")
            items, blobs = await _items_and_blobs(engine, paths, heads)
        bundle = profile.bundle
        sign_pk, sign_sk = bundle.identity_sign
        grant_id = os.urandom(16).hex()
        now = int(time.time())
        to_box_pk = None
        secret = b""
        if to is not None:
            to_box_pk = (await contact(profile, api, to, ctx.warn)).box_pk
            grant_key = os.urandom(32)
        else:
            secret = os.urandom(32)
            grant_key = g.link_secrets(secret, password).grant_key
        header = g.GrantHeader(
            grant_id=grant_id,
            owner=profile.handle,
            owner_sign_pk=sign_pk,
            kind="account" if to else "link",
            to=to,
            to_box_pk=to_box_pk,
            expires=now + expires_in,
            max_uses=max_uses,
            password=password is not None,
            created=int(time.time() * 1000),
        )
        payload = g.GrantPayload(grant_id, 1, tuple(paths), tuple(items))
        sealed = g.seal_payload(header, payload, grant_key, sign_sk, os.urandom(24))
        body: dict[str, Any] = {
            "id": grant_id,
            "kind": header.kind,
            "expires_at": header.expires,
            "max_uses": max_uses,
            "password": password is not None,
            "header": b64u(header.encode()),
            "payload": b64u(sealed),
            "blobs": blobs,
        }
        if to is not None:
            assert to_box_pk is not None
            body["to"] = to
            body["sealed_key"] = b64u(
                g.seal_grant_key(to_box_pk, grant_key, grant_id, os.urandom(32))
            )
        else:
            token = g.link_secrets(secret, password).access_token
            body["access_hash"] = b64u(g.access_hash(token))
        await api.post("/v1/grants", body)
        server = api.server
    _grants_store(profile)[grant_id] = {
        "key": b64u(grant_key),
        "header": b64u(header.encode()),
        "scope": paths,
        "rev": 1,
        "expires": header.expires,
        "names": {i.manifest: i.name for i in items},
        "items": sorted(f"{i.file_id}:{i.version}" for i in items),
    }
    profile.save_secrets()
    if to is not None:
        return ShareCreated(grant_id, None, header.expires)
    fragment = (PASSWORD_PREFIX if password is not None else "") + b64u(secret)
    return ShareCreated(grant_id, f"{server}/s/{grant_id}#{fragment}", header.expires)


async def update_live(ctx: Context, engine: SyncEngine) -> int:
    """Publish new payload revisions for grants whose scope gained or changed files (after a
    sync, with that sync's engine); the number of grants updated."""
    profile = ctx.profile
    store = _grants_store(profile)
    if not store:
        return 0
    now = int(time.time())
    changed = 0
    dirty = False
    sign_sk = profile.bundle.identity_sign[1]
    api = engine.api
    for grant_id, info in list(store.items()):
        if info.get("ended") or info["expires"] <= now:
            continue
        heads = scope_heads(engine, info["scope"])
        covered = covered_records(heads, info["scope"])
        keyset = sorted(f"{r.file_id}:{r.version}" for _, r in covered)
        if keyset == info["items"]:
            continue
        items, blobs = await _items_and_blobs(engine, info["scope"], heads)
        header = g.GrantHeader.decode(unb64u(info["header"]))
        rev = info["rev"] + 1
        sealed = g.seal_payload(
            header,
            g.GrantPayload(grant_id, rev, tuple(info["scope"]), tuple(items)),
            unb64u(info["key"], 32),
            sign_sk,
            os.urandom(24),
        )
        try:
            await api.put(
                f"/v1/grants/{grant_id}/payload", {"payload": b64u(sealed), "blobs": blobs}
            )
        except (GrantUnavailable, AccessDenied, NotFound):
            info["ended"] = True  # revoked or expired: never extend it again
            dirty = True
            continue
        info.update(rev=rev, items=keyset)
        info["names"].update({i.manifest: i.name for i in items})
        dirty = True
        changed += 1
    if dirty:
        profile.save_secrets()
    return changed


async def list_shares(ctx: Context) -> list[Share]:
    """Grants with their state and remaining uses."""
    async with ctx.api() as api:
        items: list[dict[str, Any]] = await api.get("/v1/grants")
    out = []
    for it in items:
        max_uses = it.get("max_uses")
        uses = it.get("uses", 0)
        out.append(
            Share(
                id=it["id"],
                kind=it.get("kind"),
                to=it.get("to"),
                state=it.get("state"),
                expires_at=iso(it.get("expires_at")),
                max_uses=max_uses,
                uses=uses,
                remaining_uses=None if max_uses is None else max(0, max_uses - uses),
            )
        )
    return out


async def revoke(ctx: Context, grant_id: str) -> None:
    """End a grant at once (and stop updating it)."""
    check_id(grant_id, "grant")
    profile = ctx.account()
    async with ctx.api() as api:
        await api.delete(f"/v1/grants/{grant_id}")
    info = _grants_store(profile).get(grant_id)
    if info is not None:
        info["ended"] = True
        profile.save_secrets()


async def log(ctx: Context, grant_id: str) -> list[Access]:
    """Each access: when, which document, by which account if known."""
    check_id(grant_id, "grant")
    profile = ctx.account()
    async with ctx.api() as api:
        entries: list[dict[str, Any]] = await api.get(f"/v1/grants/{grant_id}/log")
    names = _grants_store(profile).get(grant_id, {}).get("names", {})
    out = []
    for n, e in enumerate(entries, start=1):
        what = e.get("what")
        if what == "open":
            document = None
        else:
            document = names.get(what)
            if document is None:
                continue  # a chunk fetch: the document is logged by its manifest
        event = "open" if what == "open" else "document"
        out.append(Access(n, iso(e.get("at")), event, document, e.get("account")))
    return out


@dataclass(frozen=True)
class Contact:
    handle: str
    fingerprint: str  # compare it with the person (phone, face to face) before a first share
    pinned: bool  # already pinned here (a share to them uses the pinned key)


async def contact_info(ctx: Context, handle: str) -> Contact:
    """The fingerprint of an account's public key, without pinning it; a pinned key that the
    server now gives differently is refused (IntegrityError)."""
    from ..identity import pinned_identity, public_identity

    profile = ctx.account()
    async with ctx.api() as api:
        fetched = await public_identity(api, handle)
    if handle in profile.contacts():
        pinned = pinned_identity(profile, handle, fetched, ctx.warn)
        return Contact(handle, pinned.fingerprint(), True)
    if fetched.handle != handle:
        from vault_core.errors import IntegrityError

        raise IntegrityError(f"the server answered with another account's keys for {handle}")
    return Contact(handle, fetched.fingerprint(), False)


def documents_of(ctx: Context, grant_id: str) -> list[str]:
    """Names of the documents a grant made here covers (as last published)."""
    info = _grants_store(ctx.account()).get(grant_id) or {}
    return sorted(set(info.get("names", {}).values()))
