"""Trusted-contact recovery (SPEC §Trusted contacts): the owner's contact set, a new device's
recovery, the contacts' approvals, the owner's veto, and the finish.

Theory of operation: every object the server hands over is checked here before anything is
done with it. A contact acts only on a request for a set signed by the owner's pinned key that
lists the contact's own keys, and shows the code computed from the request itself (a swapped
device key changes the code). The finishing device trusts the server for nothing: it rebuilds
the contacts secret from the re-sealed shares, opens the bundle with it, checks that the set
was signed by the bundle's identity key and every approval by the set's contact keys, and
finishes only when its own clock has passed ``max(request time, t-th approval time) + delay``
from those signed values; a server that says "ready" earlier, or counts an approval that does
not verify, is caught (IntegrityError, exit 4) and nothing changes. The rest of the finish is
:func:`account.recover_with`, the path of ``vault recover``.

A veto counts only when it is signed: every view of a recovery (the finishing device, the
contacts, the owner's devices) verifies the veto the server shows under the owner's account
key, bound to the recovery and its request. A veto that does not verify, or a state "vetoed"
without a veto, is a forgery (IntegrityError); a valid veto stops the recovery whatever state
the server claims. A server that hides a veto cannot be caught by the finishing device, so the
device that vetoed remembers its veto and reports a server that stops showing it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core import _crypto, keys, shamir
from vault_core import recovery as rc
from vault_core.encoding import b64u
from vault_core.errors import (
    AccessDenied,
    AlreadyExists,
    IntegrityError,
    NotFound,
    UsageError,
    VaultError,
)
from vault_core.keys import PublicIdentity

from ..api import Api, dec, host_of
from ..identity import check_id, pinned_identity, public_identity
from ..profile import Profile, write_private
from .account import DeviceJoined, recover_with
from .context import Context

LOCAL_FILE = "recovery.json"  # the new device's pending recovery: its X25519 secret, request
VETOES_FILE = "recovery_vetoes.json"  # the vetoes this device made (public, signed data)


def iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True)
class ContactEntry:
    handle: str
    fingerprint: str
    x: int
    threshold: int
    delay: int  # seconds
    set: str  # the set's id (a new one at every change)


@dataclass(frozen=True)
class Started:
    id: str
    account: str
    code: str  # read it out to the contacts
    threshold: int
    delay: int


@dataclass(frozen=True)
class PendingRecovery:
    """A recovery waiting for this account as a trusted contact."""

    id: str
    account: str
    code: str
    created: str | None
    threshold: int
    delay: int
    approvals: int
    approved: bool  # by this account already


@dataclass(frozen=True)
class Approved:
    id: str
    account: str
    approvals: int
    threshold: int


@dataclass(frozen=True)
class AccountRecovery:
    """A recovery of this account (what its devices are told, and may veto)."""

    id: str
    state: str  # pending | vetoed | finished | cancelled | forged (approvals or veto that do
    # not verify, or a veto of this device that the server no longer shows)
    created: str | None
    approvals: int
    threshold: int | None
    ready_at: str | None  # from the signed approvals and delay


def _fingerprint(c: rc.Contact) -> str:
    return PublicIdentity(c.handle, c.sign_pk, c.box_pk, b"").fingerprint()


def _signed_veto(view: dict[str, Any], owner_sign_pk: bytes, raw: bytes) -> int | None:
    """The time of the veto a server's view of a recovery carries, verified under the owner's
    account key over this recovery and request (``rc.check_veto``); None without a veto.

    IntegrityError (or KeyError/TypeError from a malformed view) for a veto that does not
    verify, and for a state "vetoed" with no veto: the server cannot veto for the owner."""
    veto = view.get("veto")
    if veto is None:
        if view.get("state") == "vetoed":
            raise IntegrityError()
        return None
    return rc.check_veto(dec(veto["statement"]), dec(veto["sig"]), owner_sign_pk, raw)


def _own_vetoes(profile: Profile) -> dict[str, Any]:
    path = profile.home / VETOES_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        raise UsageError(f"{path} is damaged") from None
    return data


def _remember_veto(profile: Profile, recovery: str, statement: bytes, sig: bytes) -> None:
    vetoes = _own_vetoes(profile)
    vetoes[recovery] = {"statement": b64u(statement), "sig": b64u(sig)}
    write_private(profile.home / VETOES_FILE, json.dumps(vetoes, sort_keys=True).encode())


# -- the owner ---------------------------------------------------------------------------------


async def set_contacts(
    ctx: Context, handles: list[str], threshold: int, delay: int = rc.DEFAULT_DELAY
) -> list[ContactEntry]:
    """Split a fresh contacts secret ``threshold`` of ``len(handles)`` and seal one share to
    each contact's pinned key; the previous set (and every share of it) stops working."""
    profile = ctx.account()
    n = len(handles)
    if len(set(handles)) != n:
        raise UsageError("each contact once")
    if profile.handle in handles:
        raise UsageError("the owner cannot be one of their own trusted contacts")
    if not 2 <= threshold <= n or n > 255:
        raise UsageError(
            f"the threshold must be between 2 and the number of contacts ({n}); got {threshold}"
        )
    if not 0 <= delay <= rc.MAX_DELAY:
        raise UsageError("the delay must be at most 10 years")
    bundle = profile.bundle
    async with ctx.api() as api:
        fetched: list[PublicIdentity] = []
        for h in handles:
            check_handle(h)
            try:
                fetched.append(await public_identity(api, h))
            except NotFound:
                raise NotFound(f"{h} has no account on this server: nothing changed") from None
        pins = profile.contacts()
        for h, ident in zip(handles, fetched, strict=True):
            # a changed key refuses the whole set, before anything is pinned or sent
            if ident.handle != h:
                raise IntegrityError(f"the server answered with another account's keys for {h}")
            if h in pins:
                pinned_identity(profile, h, ident, ctx.warn)
        secret = os.urandom(rc.SECRET_SIZE)
        ckeys = rc.contacts_keys(secret)
        contacts = tuple(
            rc.Contact(ident.handle, ident.sign_pk, ident.box_pk, i + 1)
            for i, ident in enumerate(fetched)
        )
        the_set = rc.ContactSet(
            account=profile.handle,
            set_id=os.urandom(16).hex(),
            threshold=threshold,
            delay=delay,
            contacts=contacts,
            login_pk=ckeys.login_keypair[0],
            created=int(time.time()),
        )
        shares = shamir.split(secret, n, threshold, os.urandom((threshold - 1) * len(secret)))
        statement = the_set.encode()
        body = {
            "statement": b64u(statement),
            "sig": b64u(rc.sign_set(the_set, bundle.identity_sign[1])),
            "bundle": b64u(keys.wrap_bundle(bundle, ckeys.kek, "contacts", os.urandom(24))),
            "shares": [
                {
                    "handle": c.handle,
                    "sealed": b64u(rc.seal_share(the_set, c, share, os.urandom(32))),
                }
                for c, share in zip(contacts, shares, strict=True)
            ],
        }
        await api.put("/v1/recovery/set", body)
    for ident in fetched:
        if ident.handle not in pins:
            pinned_identity(profile, ident.handle, ident, ctx.warn)  # pins, shows the fingerprint
        else:
            ctx.warn(f"{ident.handle}: fingerprint {ident.fingerprint()} (pinned)")
    return _entries(the_set)


def check_handle(handle: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,31}", handle):
        raise UsageError(f"{handle!r} is not an account handle")


def _entries(s: rc.ContactSet) -> list[ContactEntry]:
    return [
        ContactEntry(c.handle, _fingerprint(c), c.x, s.threshold, s.delay, s.set_id)
        for c in s.contacts
    ]


async def _own_set(ctx: Context, api: Api) -> rc.ContactSet | None:
    profile = ctx.profile
    try:
        res = await api.get("/v1/recovery/set")
    except NotFound:
        return None
    try:
        return rc.open_set(
            dec(res["statement"]),
            dec(res["sig"]),
            profile.bundle.identity_sign[0],
            profile.handle,
        )
    except (KeyError, TypeError, VaultError):
        raise IntegrityError(
            "the trusted-contact set the server holds for this account is not the one this "
            "account signed"
        ) from None


async def list_contacts(ctx: Context) -> list[ContactEntry]:
    """The trusted contacts, threshold and delay (the set signed by this account)."""
    ctx.account()
    async with ctx.api() as api:
        s = await _own_set(ctx, api)
    return _entries(s) if s is not None else []


async def account_recoveries(ctx: Context) -> list[AccountRecovery]:
    """This account's recoveries, with the time they may finish from the signed approvals.

    The state "vetoed" comes from a veto signed by this account, never from the server's word:
    a veto that does not verify, a "vetoed" without one, or a veto this device made that the
    server no longer shows, is the state "forged"."""
    return [r for r, _ in await _account_recoveries(ctx)]


async def _account_recoveries(ctx: Context) -> list[tuple[AccountRecovery, str | None]]:
    """The recoveries, each with why it is forged ("approvals", "veto", "hidden") or None."""
    ctx.account()
    out = []
    own_pk = ctx.profile.bundle.identity_sign[0]
    mine = _own_vetoes(ctx.profile)
    async with ctx.api() as api:
        own = await _own_set(ctx, api)
        try:
            listed: list[dict[str, Any]] = await api.get("/v1/recovery/account")
        except NotFound:  # a server without trusted-contact recovery
            listed = []
    for v in listed:
        ready: int | None = None
        count = 0
        why: str | None = None
        state = str(v.get("state"))
        rid = str(v.get("id"))[:32]
        try:
            raw = dec(v["request"])
            req = rc.decode_request(raw)
            if req.account != ctx.profile.handle or req.recovery != rid:
                raise IntegrityError()
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(f"recovery {rid}: the server's copy is forged") from None
        try:
            if own is not None and v.get("set") is not None:
                approvals = _verified_approvals(own, raw, v.get("approvals") or [])
                count = len(approvals)
                ready = rc.ready_at(req, own, approvals)
        except (KeyError, TypeError, VaultError):
            state = "forged"  # approvals that do not verify: shown as such, never counted
            why = "approvals"
        try:
            if _signed_veto(v, own_pk, raw) is not None:
                state, why = "vetoed", None  # signed by this account, whatever the server says
            elif rid in mine:
                state, why = "forged", "hidden"  # this device's veto, no longer shown
        except (KeyError, TypeError, VaultError):
            state, why = "forged", "veto"
        recovery = AccountRecovery(
            id=req.recovery,
            state=state,
            created=iso(req.created),
            approvals=count,
            threshold=own.threshold if own is not None else None,
            ready_at=iso(ready),
        )
        out.append((recovery, why))
    return out


async def notices(ctx: Context) -> list[Any]:
    """``vault status`` lines: recoveries of this account still pending."""
    from .requests import Notice

    items = []
    for r, why in await _account_recoveries(ctx):
        if why == "approvals":
            text = (
                f"recovery {r.id} of this account: the server lists approvals that do not "
                f"verify (forged); 'vault recovery veto {r.id}'"
            )
            items.append(Notice(r.id, "recovery", text, state=r.state))
        elif why == "veto":
            text = (
                f"recovery {r.id} of this account: the server shows a veto this account did "
                "not sign (forged)"
            )
            items.append(Notice(r.id, "recovery", text, state=r.state))
        elif why == "hidden":
            text = (
                f"recovery {r.id} of this account: the server no longer shows the veto this "
                "device made (hidden)"
            )
            items.append(Notice(r.id, "recovery", text, state=r.state))
        if r.state != "pending":
            continue
        when = f", may finish from {r.ready_at}" if r.ready_at else ""
        text = (
            f"recovery {r.id} of this account started {r.created} ({r.approvals} of "
            f"{r.threshold} approvals{when}): if it is not you, 'vault recovery veto {r.id}'"
        )
        items.append(Notice(r.id, "recovery", text, state=r.state))
    return items


async def veto(ctx: Context, recovery_id: str) -> str:
    """Cancel a recovery of this account (any of its devices); its id."""
    check_id(recovery_id, "recovery")
    profile = ctx.account()
    async with ctx.api() as api:
        v = await api.get(f"/v1/recovery/{recovery_id}")
        try:
            raw = dec(v["request"])
            req = rc.decode_request(raw)
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(f"recovery {recovery_id}: the server's copy is forged") from None
        if req.account != profile.handle or req.recovery != recovery_id:
            raise NotFound(f"no recovery {recovery_id} of this account")
        if v.get("state") != "pending":
            raise AccessDenied(f"recovery {recovery_id} is {v.get('state')}: nothing to veto")
        statement, sig = rc.make_veto(
            profile.handle, raw, int(time.time()), profile.bundle.identity_sign[1]
        )
        await api.post(
            f"/v1/recovery/{recovery_id}/veto", {"statement": b64u(statement), "sig": b64u(sig)}
        )
    _remember_veto(profile, recovery_id, statement, sig)
    return recovery_id


# -- a trusted contact -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    view: dict[str, Any]
    request: bytes
    req: rc.Request
    the_set: rc.ContactSet
    me: rc.Contact


async def _checked_pending(ctx: Context, api: Api) -> list[_Checked]:
    profile = ctx.profile
    bundle = profile.bundle
    listed: list[dict[str, Any]] = await api.get("/v1/recovery/pending")
    out = []
    now = int(time.time())
    for v in listed:
        rid = str(v.get("id"))[:32]
        try:
            account = str(v["account"])
            check_handle(account)
        except (KeyError, UsageError):
            raise IntegrityError(f"recovery {rid}: the server's copy is forged") from None
        owner = await public_identity(api, account)
        owner = pinned_identity(profile, account, owner, ctx.warn)
        try:
            raw = dec(v["request"])
            req = rc.decode_request(raw)
            rc.check_request(req, account, rid, now)
            signed = v["set"]
            the_set = rc.open_set(
                dec(signed["statement"]), dec(signed["sig"]), owner.sign_pk, account
            )
            me = the_set.contact(profile.handle)
            if me.sign_pk != bundle.identity_sign[0] or me.box_pk != bundle.identity_box[0]:
                raise IntegrityError()
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {rid} of {account}: its request or the owner's contact set failed "
                "verification (forged or swapped by the server)"
            ) from None
        _not_older(profile, the_set)
        try:
            if _signed_veto(v, owner.sign_pk, raw) is not None:
                continue  # vetoed by the owner: nothing to approve
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {rid}: the veto the server shows is not signed by {account} (forged "
                "or missing): nothing changed"
            ) from None
        out.append(_Checked(v, raw, req, the_set, me))
    return out


SEEN_FILE = "recovery_sets_seen.json"  # a contact's newest set seen per owner (public data)


def _not_older(profile: Profile, s: rc.ContactSet) -> None:
    """A contact refuses a set older than the newest one it has seen of that owner (a server
    replaying an old set and its shares), and remembers a newer one."""
    path = profile.home / SEEN_FILE
    try:
        seen: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        raise UsageError(f"{path} is damaged") from None
    last = seen.get(s.account)
    if isinstance(last, dict) and last.get("set") != s.set_id:
        if s.created <= int(last.get("created", 0)):
            raise IntegrityError(
                f"the server showed an older trusted-contact set of {s.account} than one this "
                "profile has seen (replayed): refused"
            )
    if not isinstance(last, dict) or last.get("set") != s.set_id:
        seen[s.account] = {"created": s.created, "set": s.set_id}
        write_private(path, json.dumps(seen, sort_keys=True).encode())


def _pending(c: _Checked, handle: str) -> PendingRecovery:
    approvals = c.view.get("approvals") or []
    return PendingRecovery(
        id=c.req.recovery,
        account=c.req.account,
        code=rc.request_code(c.request),
        created=iso(c.req.created),
        threshold=c.the_set.threshold,
        delay=c.the_set.delay,
        approvals=len(approvals),
        approved=any(a.get("contact") == handle for a in approvals),
    )


async def pending(ctx: Context) -> list[PendingRecovery]:
    """Recoveries waiting for this account's approval, each with its code."""
    profile = ctx.account()
    async with ctx.api() as api:
        checked = await _checked_pending(ctx, api)
    return [_pending(c, profile.handle) for c in checked]


async def approve(ctx: Context, recovery_id: str) -> Approved:
    """Re-seal this contact's share to the new device's key, with a signed approval (after
    checking the code with the person)."""
    check_id(recovery_id, "recovery")
    profile = ctx.account()
    bundle = profile.bundle
    async with ctx.api() as api:
        found = [c for c in await _checked_pending(ctx, api) if c.req.recovery == recovery_id]
        if not found:
            raise NotFound(f"no recovery {recovery_id} is waiting for your approval")
        c = found[0]
        if _pending(c, profile.handle).approved:
            raise AlreadyExists(f"you already approved recovery {recovery_id}: nothing changed")
        try:
            share = rc.open_share(c.the_set, c.me, bundle.identity_box[1], dec(c.view["my_share"]))
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"your share for {c.req.account} failed verification (forged or swapped)"
            ) from None
        resealed = rc.reseal_share(
            c.the_set, c.me, recovery_id, c.req.box_pk, share, os.urandom(32)
        )
        statement, sig = rc.make_approval(
            c.the_set, c.me, c.request, resealed, int(time.time()), bundle.identity_sign[1]
        )
        await api.post(
            f"/v1/recovery/{recovery_id}/approve",
            {"statement": b64u(statement), "sig": b64u(sig), "share": b64u(resealed)},
        )
    n = len(c.view.get("approvals") or []) + 1
    return Approved(recovery_id, c.req.account, n, c.the_set.threshold)


# -- the new device ----------------------------------------------------------------------------


def _local(profile: Profile) -> dict[str, Any] | None:
    path = profile.home / LOCAL_FILE
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raise UsageError(f"{path} is damaged") from None
    return data


async def start(ctx: Context, server: str, handle: str) -> Started:
    """From an empty profile: ask the account's trusted contacts for a recovery."""
    profile = ctx.profile
    if profile.has_account:
        raise UsageError(f"profile {profile.home} already holds account {profile.handle}")
    check_handle(handle)
    host_of(server)
    box_sk = os.urandom(32)
    box_pk = _crypto.box_keypair(box_sk)[0]
    req = rc.Request(handle, os.urandom(16).hex(), box_pk, int(time.time()), os.urandom(16))
    raw = req.encode()
    async with Api(server) as api:
        try:
            res = await api.post("/v1/recovery", {"handle": handle, "request": b64u(raw)})
        except NotFound:
            raise NotFound(f"{handle} has no trusted contacts on this server") from None
    profile.ensure_dir()
    write_private(
        profile.home / LOCAL_FILE,
        json.dumps(
            {
                "server": server,
                "handle": handle,
                "id": req.recovery,
                "box_sk": b64u(box_sk),
                "request": b64u(raw),
            }
        ).encode(),
    )
    return Started(
        req.recovery, handle, rc.request_code(raw), int(res["threshold"]), int(res["delay"])
    )


def _verified_approvals(
    s: rc.ContactSet, raw: bytes, listed: list[dict[str, Any]]
) -> list[rc.Approval]:
    """Every approval the server lists, verified (one that does not verify is forged)."""
    out = []
    for a in listed:
        contact = s.contact(str(a["contact"]))
        out.append(
            rc.check_approval(dec(a["statement"]), dec(a["sig"]), s, contact, raw, dec(a["share"]))
        )
    return out


async def finish(
    ctx: Context, recovery_id: str, folder: Path | None, new_passphrase: str
) -> DeviceJoined:
    """After the delay, with enough approvals and no veto: rebuild the contacts secret, open
    the bundle, and finish as ``vault recover`` does (new device, new passphrase)."""
    check_id(recovery_id, "recovery")
    profile = ctx.profile
    local = _local(profile)
    if local is None or local.get("id") != recovery_id:
        raise UsageError(f"this profile did not start recovery {recovery_id}")
    server, handle = str(local["server"]), str(local["handle"])
    box_sk = dec(local["box_sk"])
    raw = dec(local["request"])
    req = rc.decode_request(raw)

    async def step(api: Api, device: dict[str, Any]) -> tuple[dict[str, Any], bytes, str]:
        v = await api.get(f"/v1/recovery/{recovery_id}")
        state = v.get("state")
        try:
            if dec(v["request"]) != raw:
                raise IntegrityError()
            owner = await public_identity(api, handle)
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {recovery_id}: an approval, the request or the contact set the "
                "server sent failed verification (forged): nothing changed"
            ) from None
        try:
            vetoed = _signed_veto(v, owner.sign_pk, raw)
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {recovery_id}: the veto the server shows is not signed by {handle} "
                "(forged or missing): nothing changed"
            ) from None
        if vetoed is not None:  # signed by the owner, whatever state the server claims
            raise AccessDenied(f"recovery {recovery_id} was vetoed by a device of {handle}")
        if state == "cancelled":
            raise AccessDenied(
                f"recovery {recovery_id} was cancelled: {handle} changed their trusted contacts"
            )
        if state != "pending":
            raise AccessDenied(f"recovery {recovery_id} is {state}")
        try:
            signed = v["set"]
            the_set = rc.open_set(
                dec(signed["statement"]), dec(signed["sig"]), owner.sign_pk, handle
            )
            approvals = _verified_approvals(the_set, raw, v.get("approvals") or [])
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {recovery_id}: an approval, the request or the contact set the "
                "server sent failed verification (forged): nothing changed"
            ) from None
        ready = rc.ready_at(req, the_set, approvals)
        now = int(time.time())
        server_says_ready = v.get("bundle") is not None
        if ready is None or now < ready:
            if server_says_ready:
                raise IntegrityError(
                    f"the server would let recovery {recovery_id} finish now, but the signed "
                    f"approvals ({len(approvals)} of {the_set.threshold}) and delay say "
                    + (f"not before {iso(ready)}" if ready else "not yet")
                    + ": refused, nothing changed"
                )
            if ready is None:
                raise AccessDenied(
                    f"recovery {recovery_id} has {len(approvals)} of {the_set.threshold} "
                    f"approvals: it can finish {the_set.delay} s after approval "
                    f"{the_set.threshold}"
                )
            raise AccessDenied(
                f"recovery {recovery_id} can finish at {iso(ready)} (in {ready - now} s)"
            )
        if not server_says_ready:
            raise AccessDenied(
                f"recovery {recovery_id}: the server says it can finish at {iso(v.get('ready_at'))}"
            )
        try:
            shares = [
                rc.open_reshare(
                    the_set, the_set.contact(a.contact), recovery_id, box_sk, dec(item["share"])
                )
                for a, item in zip(approvals, v.get("approvals") or [], strict=True)
            ]
            secret = shamir.combine(shares)
            ckeys = rc.contacts_keys(secret)
            bundle = keys.unwrap_bundle(dec(v["bundle"]), ckeys.kek, handle, "contacts")
            if bundle.identity_sign[0] != owner.sign_pk:
                raise IntegrityError()
        except (KeyError, TypeError, VaultError):
            raise IntegrityError(
                f"recovery {recovery_id}: the shares do not open this account's keys "
                "(forged or swapped): nothing changed"
            ) from None
        device_pk = dec(device["sign_pk"])
        proof = rc.sign_finish(
            ckeys.login_keypair[1], handle, recovery_id, device["id"], device_pk, host_of(server)
        )
        res: dict[str, Any] = await api.post(
            f"/v1/recovery/{recovery_id}/finish", {"signature": b64u(proof), "device": device}
        )
        return res, ckeys.kek, "contacts"

    joined = await recover_with(ctx, server, handle, folder, new_passphrase, step)
    (profile.home / LOCAL_FILE).unlink(missing_ok=True)
    return joined
