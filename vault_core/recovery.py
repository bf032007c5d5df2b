"""Trusted-contact recovery (SPEC §Trusted contacts): the signed objects and their checks.

Theory of operation: the owner draws a fresh 32-byte contacts secret ``C`` for every contact
set, splits it ``t`` of ``n`` (:mod:`vault_core.shamir`) and seals share ``x`` to contact
``x``'s pinned X25519 key. ``C`` gives a login key and a KEK (slot ``contacts``) exactly as
the recovery key does. The owner signs the set (account, contacts and their keys, threshold,
delay, login key) with the identity key. A new device asks for a recovery with a request
(its fresh X25519 key, its time, a nonce) whose hash gives the code the person reads out;
each contact who checked the code opens its share, re-seals it to the request's key and signs
an approval that names the account, the recovery, the request hash, the key, the set, the
threshold, the delay, the re-sealed share and its own time. The finishing device rebuilds
``C``, opens the bundle, and only then trusts the set (signed by the bundle's identity key),
the approvals (signed by the set's contact keys) and the time it may finish:
``max(request.created, t-th approval time) + delay``, by its own clock.

Everything here is pure: randomness and times come in as arguments.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u
from .errors import FormatError, IntegrityError
from .keys import RecoveryKeys

DEFAULT_DELAY = 72 * 3600
MAX_DELAY = 10 * 366 * 86400
CLOCK_SKEW = 300  # seconds a request may be dated ahead of a verifier's clock
SECRET_SIZE = 32
SHARE_SIZE = SECRET_SIZE + 1
CODE_CHARS = 10  # 50 bits, two groups of five base32 characters

_SET = b"vault.v1/recovery-set\x00"
_SHARE = b"vault.v1/recovery-share\x00"
_RESHARE = b"vault.v1/recovery-reshare\x00"
_CODE = b"vault.v1/recovery-code\x00"
_APPROVAL = b"vault.v1/recovery-approval\x00"
_VETO = b"vault.v1/recovery-veto\x00"
_FINISH = b"vault.v1/recovery-finish\x00"
_HEX = frozenset("0123456789abcdef")
_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")


def _bad() -> IntegrityError:
    return IntegrityError()


def _exact(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise _bad()
    return value


def _hex_id(value: Any) -> str:
    if type(value) is not str or len(value) != 32 or not set(value) <= _HEX:
        raise _bad()
    return value


def _handle(value: Any) -> str:
    if type(value) is not str or not _HANDLE.fullmatch(value):
        raise _bad()
    return value


def _time(value: Any) -> int:
    v = _exact(value, int)
    if not 0 <= v < 2**53:
        raise _bad()
    return int(v)


def _parse(data: bytes, kind: str, fields: set[str]) -> dict[str, Any]:
    try:
        o = parse_canonical_json(data)
    except FormatError:
        raise _bad() from None
    if not isinstance(o, dict) or set(o) != fields or o.get("v") != 1 or type(o["v"]) is not int:
        raise _bad()
    if o.get("type") != kind:
        raise _bad()
    return o


def _pk(value: Any, box: bool) -> bytes:
    try:
        raw = unb64u(value, 32)
    except FormatError:
        raise _bad() from None
    if box:
        _crypto.check_box_pk(raw)
    else:
        _crypto.check_sign_pk(raw)
    return raw


def contacts_keys(secret: bytes) -> RecoveryKeys:
    """The login key seed and KEK of a contacts secret (labels distinct from the recovery
    key's, slot ``contacts``)."""
    if len(secret) != SECRET_SIZE or secret == bytes(SECRET_SIZE):
        raise IntegrityError()
    return RecoveryKeys(
        login_seed=_crypto.kdf(secret, "vault.v1/contacts-login"),
        kek=_crypto.kdf(secret, "vault.v1/contacts-kek"),
    )


def digest(data: bytes) -> bytes:
    return _crypto.sha256(data)


# -- the owner's signed contact set ----------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    handle: str
    sign_pk: bytes
    box_pk: bytes
    x: int


@dataclass(frozen=True)
class ContactSet:
    account: str
    set_id: str
    threshold: int
    delay: int
    contacts: tuple[Contact, ...]
    login_pk: bytes
    created: int

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "contacts": [
                {"box_pk": b64u(c.box_pk), "handle": c.handle, "sign_pk": b64u(c.sign_pk), "x": c.x}
                for c in self.contacts
            ],
            "created": self.created,
            "delay": self.delay,
            "login_pk": b64u(self.login_pk),
            "set": self.set_id,
            "threshold": self.threshold,
            "type": "recovery-set",
            "v": 1,
        }

    def encode(self) -> bytes:
        check_set_shape(self)
        return canonical_json(self.to_json())

    def contact(self, handle: str) -> Contact:
        for c in self.contacts:
            if c.handle == handle:
                return c
        raise IntegrityError()


def check_set_shape(s: ContactSet) -> None:
    """The rules of a set, as FormatError (a caller building one) — see :func:`open_set`."""
    n = len(s.contacts)
    handles = [c.handle for c in s.contacts]
    if not 2 <= s.threshold <= n <= 255:
        raise FormatError("threshold must be between 2 and the number of contacts (at most 255)")
    if len(set(handles)) != n or s.account in handles:
        raise FormatError("contacts must be distinct accounts, other than the owner")
    if [c.x for c in s.contacts] != list(range(1, n + 1)):
        raise FormatError("contacts must be numbered 1..n")
    if not 0 <= s.delay <= MAX_DELAY:
        raise FormatError("delay out of range")


def sign_set(s: ContactSet, identity_sk: bytes) -> bytes:
    return _crypto.sign(identity_sk, _SET + s.encode())


def open_set(data: bytes, sig: bytes, owner_sign_pk: bytes, account: str) -> ContactSet:
    """Parse and verify an owner-signed set; IntegrityError on any failed rule."""
    fields = {"account", "contacts", "created", "delay", "login_pk", "set", "threshold"}
    o = _parse(data, "recovery-set", fields | {"type", "v"})
    if len(sig) != 64:
        raise _bad()
    _crypto.verify(owner_sign_pk, _SET + data, sig)
    raw = o["contacts"]
    if type(raw) is not list:
        raise _bad()
    contacts = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"box_pk", "handle", "sign_pk", "x"}:
            raise _bad()
        contacts.append(
            Contact(
                handle=_handle(item["handle"]),
                sign_pk=_pk(item["sign_pk"], box=False),
                box_pk=_pk(item["box_pk"], box=True),
                x=_exact(item["x"], int),
            )
        )
    s = ContactSet(
        account=_handle(o["account"]),
        set_id=_hex_id(o["set"]),
        threshold=_exact(o["threshold"], int),
        delay=_exact(o["delay"], int),
        contacts=tuple(contacts),
        login_pk=_pk(o["login_pk"], box=False),
        created=_time(o["created"]),
    )
    if s.account != account:
        raise _bad()
    try:
        check_set_shape(s)
    except FormatError:
        raise _bad() from None
    return s


# -- shares --------------------------------------------------------------------------------


def _share_ad(account: str, set_id: str, contact: str, x: int) -> bytes:
    body = {"account": account, "contact": contact, "set": set_id, "v": 1, "x": x}
    return _SHARE + canonical_json(body)


def _reshare_ad(account: str, recovery: str, set_id: str, contact: str, x: int) -> bytes:
    body = {
        "account": account,
        "contact": contact,
        "recovery": recovery,
        "set": set_id,
        "v": 1,
        "x": x,
    }
    return _RESHARE + canonical_json(body)


def _check_share(share: bytes, x: int) -> bytes:
    if len(share) != SHARE_SIZE or share[-1] != x or x == 0:
        raise _bad()
    return share


def seal_share(s: ContactSet, contact: Contact, share: bytes, ephemeral: bytes) -> bytes:
    _check_share(share, contact.x)
    ad = _share_ad(s.account, s.set_id, contact.handle, contact.x)
    return _crypto.seal(contact.box_pk, ephemeral, share, ad)


def open_share(s: ContactSet, contact: Contact, box_sk: bytes, sealed: bytes) -> bytes:
    ad = _share_ad(s.account, s.set_id, contact.handle, contact.x)
    return _check_share(_crypto.seal_open(box_sk, sealed, ad), contact.x)


def reseal_share(
    s: ContactSet, contact: Contact, recovery: str, to_box_pk: bytes, share: bytes, eph: bytes
) -> bytes:
    _check_share(share, contact.x)
    ad = _reshare_ad(s.account, recovery, s.set_id, contact.handle, contact.x)
    return _crypto.seal(to_box_pk, eph, share, ad)


def open_reshare(
    s: ContactSet, contact: Contact, recovery: str, box_sk: bytes, sealed: bytes
) -> bytes:
    ad = _reshare_ad(s.account, recovery, s.set_id, contact.handle, contact.x)
    return _check_share(_crypto.seal_open(box_sk, sealed, ad), contact.x)


# -- the new device's request and its code ---------------------------------------------------


@dataclass(frozen=True)
class Request:
    account: str
    recovery: str
    box_pk: bytes
    created: int
    nonce: bytes

    def encode(self) -> bytes:
        return canonical_json(
            {
                "account": self.account,
                "box_pk": b64u(self.box_pk),
                "created": self.created,
                "nonce": b64u(self.nonce),
                "recovery": self.recovery,
                "type": "recovery-request",
                "v": 1,
            }
        )


def decode_request(data: bytes) -> Request:
    fields = {"account", "box_pk", "created", "nonce", "recovery", "type", "v"}
    o = _parse(data, "recovery-request", fields)
    try:
        nonce = unb64u(o["nonce"], 16)
    except FormatError:
        raise _bad() from None
    return Request(
        account=_handle(o["account"]),
        recovery=_hex_id(o["recovery"]),
        box_pk=_pk(o["box_pk"], box=True),
        created=_time(o["created"]),
        nonce=nonce,
    )


def request_code(request_bytes: bytes) -> str:
    """The code read out to the contacts: 50 bits of the request's hash, base32, ``XXXXX-XXXXX``
    (a server that swaps the new device's key changes the code)."""
    h = _crypto.sha256(_CODE + request_bytes)
    text = base64.b32encode(h[:10]).decode("ascii")[:CODE_CHARS]
    return f"{text[:5]}-{text[5:]}"


def check_request(request: Request, account: str, recovery: str, now: int) -> None:
    """What a contact's (and the owner's) client checks of a request before acting on it."""
    if request.account != account or request.recovery != recovery:
        raise IntegrityError()
    if request.created > now + CLOCK_SKEW:
        raise IntegrityError()


# -- approvals, vetoes, the finish proof ------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    account: str
    recovery: str
    contact: str
    approved: int
    request_hash: bytes
    box_pk: bytes
    set_id: str
    threshold: int
    delay: int
    share_hash: bytes

    def encode(self) -> bytes:
        return canonical_json(
            {
                "account": self.account,
                "approved": self.approved,
                "box_pk": b64u(self.box_pk),
                "contact": self.contact,
                "delay": self.delay,
                "recovery": self.recovery,
                "request": b64u(self.request_hash),
                "set": self.set_id,
                "share": b64u(self.share_hash),
                "threshold": self.threshold,
                "type": "recovery-approval",
                "v": 1,
            }
        )


def make_approval(
    s: ContactSet,
    contact: Contact,
    request_bytes: bytes,
    resealed: bytes,
    approved: int,
    identity_sk: bytes,
) -> tuple[bytes, bytes]:
    """The approval statement and its signature by the contact's identity key."""
    req = decode_request(request_bytes)
    if req.account != s.account:
        raise IntegrityError()
    a = Approval(
        account=s.account,
        recovery=req.recovery,
        contact=contact.handle,
        approved=approved,
        request_hash=digest(request_bytes),
        box_pk=req.box_pk,
        set_id=s.set_id,
        threshold=s.threshold,
        delay=s.delay,
        share_hash=digest(resealed),
    )
    data = a.encode()
    return data, _crypto.sign(identity_sk, _APPROVAL + data)


def check_approval(
    data: bytes,
    sig: bytes,
    s: ContactSet,
    contact: Contact,
    request_bytes: bytes,
    resealed: bytes,
) -> Approval:
    """Verify one approval against the set, the contact's key in it, the request and the
    re-sealed share; IntegrityError on any mismatch."""
    fields = {
        "account", "approved", "box_pk", "contact", "delay", "recovery", "request", "set",
        "share", "threshold", "type", "v",
    }  # fmt: skip
    o = _parse(data, "recovery-approval", fields)
    if len(sig) != 64:
        raise _bad()
    _crypto.verify(contact.sign_pk, _APPROVAL + data, sig)
    req = decode_request(request_bytes)
    try:
        a = Approval(
            account=_handle(o["account"]),
            recovery=_hex_id(o["recovery"]),
            contact=_handle(o["contact"]),
            approved=_time(o["approved"]),
            request_hash=unb64u(o["request"], 32),
            box_pk=unb64u(o["box_pk"], 32),
            set_id=_hex_id(o["set"]),
            threshold=_exact(o["threshold"], int),
            delay=_exact(o["delay"], int),
            share_hash=unb64u(o["share"], 32),
        )
    except FormatError:
        raise _bad() from None
    expected = (
        s.account,
        req.recovery,
        contact.handle,
        digest(request_bytes),
        req.box_pk,
        s.set_id,
        s.threshold,
        s.delay,
        digest(resealed),
    )
    got = (
        a.account,
        a.recovery,
        a.contact,
        a.request_hash,
        a.box_pk,
        a.set_id,
        a.threshold,
        a.delay,
        a.share_hash,
    )
    if got != expected or req.account != s.account:
        raise _bad()
    if a.approved + CLOCK_SKEW < req.created:
        raise _bad()  # approved before the request existed
    return a


def ready_at(request: Request, s: ContactSet, approvals: list[Approval]) -> int | None:
    """When the recovery may finish (Unix seconds), from signed times only; None with fewer
    than ``threshold`` approvals (distinct contacts)."""
    times: dict[str, int] = {}
    for a in approvals:
        times[a.contact] = min(a.approved, times.get(a.contact, a.approved))
    if len(times) < s.threshold:
        return None
    nth = sorted(times.values())[s.threshold - 1]
    return max(request.created, nth) + s.delay


def make_veto(
    account: str, request_bytes: bytes, vetoed: int, identity_sk: bytes
) -> tuple[bytes, bytes]:
    req = decode_request(request_bytes)
    if req.account != account:
        raise IntegrityError()
    data = canonical_json(
        {
            "account": account,
            "recovery": req.recovery,
            "request": b64u(digest(request_bytes)),
            "type": "recovery-veto",
            "v": 1,
            "vetoed": vetoed,
        }
    )
    return data, _crypto.sign(identity_sk, _VETO + data)


def check_veto(data: bytes, sig: bytes, owner_sign_pk: bytes, request_bytes: bytes) -> int:
    """Verify an owner's veto of this request; its time."""
    o = _parse(data, "recovery-veto", {"account", "recovery", "request", "type", "v", "vetoed"})
    if len(sig) != 64:
        raise _bad()
    _crypto.verify(owner_sign_pk, _VETO + data, sig)
    req = decode_request(request_bytes)
    if (o["account"], o["recovery"]) != (req.account, req.recovery):
        raise _bad()
    if o["request"] != b64u(digest(request_bytes)):
        raise _bad()
    return _time(o["vetoed"])


def finish_message(account: str, recovery: str, device: str, device_pk: bytes, host: str) -> bytes:
    body = {
        "account": account,
        "device": device,
        "device_pk": b64u(device_pk),
        "host": host,
        "recovery": recovery,
        "v": 1,
    }
    return _FINISH + canonical_json(body)


def sign_finish(
    login_sk: bytes, account: str, recovery: str, device: str, device_pk: bytes, host: str
) -> bytes:
    return _crypto.sign(login_sk, finish_message(account, recovery, device, device_pk, host))


def verify_finish(
    login_pk: bytes,
    account: str,
    recovery: str,
    device: str,
    device_pk: bytes,
    host: str,
    signature: bytes,
) -> None:
    if len(signature) != 64:
        raise IntegrityError()
    _crypto.verify(login_pk, finish_message(account, recovery, device, device_pk, host), signature)
