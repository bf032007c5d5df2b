"""Share grants on the client: create, list, revoke, log, live updates, redeem.

Theory of operation: the owner's client builds the grant (vault_core.grants) from verified
records: each covered file version contributes its name, file key and manifest id, and the
server gets the list of blob ids (manifest + chunks) it may serve through the grant. The grant
key and scope are kept in the owner's encrypted profile secrets so that ``vault sync`` can
publish a new payload revision when files are added to a shared folder (live grant), and stop
doing so once the grant expired or was revoked.

Redeeming verifies everything (payload signature and AEAD, manifest against the signed item,
every chunk against the manifest) into a temporary folder and only then moves the documents
into ``--out``: an expired, revoked, used-up, unknown or tampered grant writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vault_core import grants as g
from vault_core.encoding import b64u, unb64u
from vault_core.errors import (
    AccessDenied,
    AuthError,
    GrantUnavailable,
    IntegrityError,
    NotFound,
    UsageError,
    VaultError,
)
from vault_core.log import FileRecord
from vault_core.manifest import Manifest, open_manifest

from .api import Api, dec
from .inbox import check_id
from .profile import Profile, read_secret

PASSWORD_PREFIX = "pw."  # noqa: S105 — a marker in the link, not a secret


def parse_duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise UsageError(f"bad duration {text!r}: use e.g. 30s, 15m, 2h, 7d")
    value = int(text[:-1]) * units[text[-1]]
    if value <= 0:
        raise UsageError("duration must be positive")
    return value


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


async def _items_and_blobs(engine: Any, scope: list[str]) -> tuple[list[g.GrantItem], list[str]]:
    heads = engine.state.heads()
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


async def create_share(
    profile: Profile,
    api: Api,
    engine: Any,
    paths: list[str],
    expires_in: int,
    to: str | None,
    max_uses: int | None,
    password: str | None,
    warn: Callable[[str], None],
) -> str:
    """Returns the link (or, with ``to``, the grant id)."""
    from .account import pinned_identity, public_identity

    await engine.pull()
    heads = engine.state.heads()
    for p in paths:
        if not covered_records(heads, [p]):
            raise NotFound(f"{p or 'the folder'} is not in the vault (sync it first?)")
    items, blobs = await _items_and_blobs(engine, paths)
    bundle = profile.bundle
    sign_pk, sign_sk = bundle.identity_sign
    grant_id = os.urandom(16).hex()
    now = int(time.time())
    to_box_pk = None
    secret = b""
    if to is not None:
        ident = pinned_identity(profile, to, await public_identity(api, to), warn)
        to_box_pk = ident.box_pk
        grant_key = os.urandom(32)
    else:
        secret = os.urandom(32)
        ls = g.link_secrets(secret, password)
        grant_key = ls.grant_key
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
        body["sealed_key"] = b64u(g.seal_grant_key(to_box_pk, grant_key, grant_id, os.urandom(32)))
    else:
        body["access_hash"] = b64u(g.access_hash(g.link_secrets(secret, password).access_token))
    await api.post("/v1/grants", body)
    store = _grants_store(profile)
    store[grant_id] = {
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
        return grant_id
    fragment = (PASSWORD_PREFIX if password is not None else "") + b64u(secret)
    return f"{api.server}/s/{grant_id}#{fragment}"


async def update_live_grants(profile: Profile, api: Api, engine: Any) -> int:
    """Publish new payload revisions for grants whose scope gained or changed files."""
    store = _grants_store(profile)
    if not store:
        return 0
    now = int(time.time())
    changed = 0
    dirty = False
    sign_sk = profile.bundle.identity_sign[1]
    for grant_id, info in list(store.items()):
        if info.get("ended") or info["expires"] <= now:
            continue
        covered = covered_records(engine.state.heads(), info["scope"])
        keyset = sorted(f"{r.file_id}:{r.version}" for _, r in covered)
        if keyset == info["items"]:
            continue
        items, blobs = await _items_and_blobs(engine, info["scope"])
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


async def list_shares(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = await api.get("/v1/grants")
    out = []
    for it in items:
        max_uses = it.get("max_uses")
        out.append(
            {
                "id": it["id"],
                "kind": it.get("kind"),
                "to": it.get("to"),
                "state": it.get("state"),
                "expires_at": _iso(it.get("expires_at")),
                "max_uses": max_uses,
                "uses": it.get("uses", 0),
                "remaining_uses": None
                if max_uses is None
                else max(0, max_uses - it.get("uses", 0)),
            }
        )
    return out


async def revoke_share(profile: Profile, api: Api, grant_id: str) -> None:
    check_id(grant_id, "grant")
    await api.delete(f"/v1/grants/{grant_id}")
    info = _grants_store(profile).get(grant_id)
    if info is not None:
        info["ended"] = True
        profile.save_secrets()


async def share_log(profile: Profile, api: Api, grant_id: str) -> list[dict[str, Any]]:
    check_id(grant_id, "grant")
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
        out.append(
            {
                "id": n,
                "at": _iso(e.get("at")),
                "event": "open" if what == "open" else "document",
                "document": document,
                "account": e.get("account"),
            }
        )
    return out


def _iso(ts: Any) -> str | None:
    if not isinstance(ts, int | float):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# -- redeeming ----------------------------------------------------------------------------------


def parse_share_link(link: str) -> tuple[str, str, bytes, bool]:
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
    return server, grant_id, secret, has_password


class Redeemed:
    def __init__(
        self, api: Api, grant_id: str, header: g.GrantHeader, payload: g.GrantPayload, auth: str
    ) -> None:
        self.api = api
        self.grant_id = grant_id
        self.header = header
        self.payload = payload
        self.auth = auth


async def open_link(api: Api, grant_id: str, secret: bytes, password: str | None) -> Redeemed:
    ls = g.link_secrets(secret, password)
    try:
        res = await api.post(
            f"/v1/grants/{grant_id}/open", None, auth=f"Grant {b64u(ls.access_token)}"
        )
    except AccessDenied as exc:
        if isinstance(exc, GrantUnavailable):
            raise
        if password is not None:
            raise AuthError("wrong link password (or a damaged link)") from None
        raise IntegrityError("the link's secret is wrong or damaged") from None
    header, payload = _verify_open(res, ls.grant_key, grant_id, None)
    return Redeemed(api, grant_id, header, payload, f"Grant {res['session']}")


async def open_account_grant(
    profile: Profile, api: Api, grant_id: str, warn: Callable[[str], None]
) -> Redeemed:
    from .account import pinned_identity, public_identity

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
    owner = pinned_identity(profile, header.owner, await public_identity(api, header.owner), warn)
    header, payload = _verify_open(res, grant_key, grant_id, owner.sign_pk)
    return Redeemed(
        api,
        grant_id,
        header,
        payload,
        f"Grant {res['session']}" if res.get("session") else f"Bearer {api.token}",
    )


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


def note_revision(state_db: Path, red: Redeemed) -> None:
    """Refuse a payload revision older than one this profile has seen of the same grant, else
    remember it (SPEC §Grants). A server replaying an old revision could hide documents the
    owner added to a live grant since, or show again ones he took out of it."""
    from .state import State

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


async def fetch_items(red: Redeemed, out: Path, warn: Callable[[str], None]) -> list[str]:
    """Verify every document into a temp folder, then move them into ``out``."""
    from .sync import write_chunks

    out.mkdir(parents=True, exist_ok=True)
    staging = Path(out) / f".vault-redeem-{os.urandom(4).hex()}"
    staging.mkdir()
    written: list[tuple[Path, str]] = []
    try:
        for item in red.payload.items:
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


def describe_items(
    red: Redeemed, trusted: dict[bytes, str], hashes: dict[str, bytes] | None = None
) -> list[dict[str, Any]]:
    """Items with their certification; ``hashes`` (name -> SHA-256 of the downloaded
    document) makes the check cover the bytes actually written, not only the statement."""
    from .inbox import certification

    out = []
    for item in red.payload.items:
        cert = certification(
            item.certificate,
            trusted,
            red.header.owner,
            red.header.owner_sign_pk,
            (hashes or {}).get(item.name),
        )
        out.append(
            {
                "id": item.name,
                "name": item.name,
                "size": item.size,
                "type": item.doc_type,
                "certified_by": cert,
            }
        )
    return out


def read_link_password(has_password: bool) -> str | None:
    if not has_password:
        return None
    return read_secret("VAULT_LINK_PASSWORD", "Link password: ")
