"""Vectors for SPEC.md "Trusted contacts": the set, shares, request and code, approvals, veto,
finish proof and the time a recovery may finish.

Writes ``recovery_contacts.json``. Every signed message is re-derived here from the SPEC's
formulas (label, 0x00, canonical JSON) and compared with what ``vault_core.recovery`` makes;
each negative case is a complete input (texts, keys, signatures) that the named operation
MUST reject. Wrong-but-signed objects are signed here with the right keys, so that only the
rule under test fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from vault_core import _crypto, keys, shamir
from vault_core import recovery as rc
from vault_core.encoding import b64u, canonical_json

from .common import JSON, T0, World, det, hx, neg, seal_case, vector_file

CONTACTS = ("alice", "bob", "carol")
RECOVERY_ID = det("contacts/recovery-id", 16).hex()
SET_ID = det("contacts/set-id", 16).hex()
HOST = "vault.example.org"


def _sign(sk: bytes, label: str, body: dict[str, Any]) -> tuple[bytes, bytes]:
    data = canonical_json(body)
    return data, _crypto.sign(sk, f"vault.v1/{label}".encode() + b"\x00" + data)


class _Fixture:
    def __init__(self, w: World) -> None:
        self.w = w
        self.owner_pk, self.owner_sk = w.bundle.identity_sign
        self.people = {h: keys.new_bundle(h, det(f"{h}/bundle", 96), T0) for h in CONTACTS}
        self.secret = det("contacts/secret")
        self.ckeys = rc.contacts_keys(self.secret)
        contacts = tuple(
            rc.Contact(h, b.identity_sign[0], b.identity_box[0], i + 1)
            for i, (h, b) in enumerate(self.people.items())
        )
        self.set = rc.ContactSet(
            "jean", SET_ID, 2, 2 * 86400, contacts, self.ckeys.login_keypair[0], T0
        )
        self.set_text = self.set.encode()
        self.set_sig = rc.sign_set(self.set, self.owner_sk)
        self.random = det("contacts/split-random", 32)
        self.shares = shamir.split(self.secret, 3, 2, self.random)
        self.dsk = det("contacts/new-device-box")
        self.dpk = _crypto.box_keypair(self.dsk)[0]
        self.request = rc.Request(
            "jean", RECOVERY_ID, self.dpk, T0 + 1000, det("contacts/nonce", 16)
        )
        self.request_text = self.request.encode()

    def set_body(self, **change: Any) -> dict[str, Any]:
        body = self.set.to_json()
        body.update(change)
        return body

    def contact(self, handle: str) -> rc.Contact:
        return self.set.contact(handle)

    def resealed(self, handle: str) -> bytes:
        c = self.contact(handle)
        eph = det(f"contacts/reshare-eph/{handle}")
        return rc.reseal_share(self.set, c, RECOVERY_ID, self.dpk, self.shares[c.x - 1], eph)

    def approval_body(self, handle: str, approved: int, **change: Any) -> dict[str, Any]:
        body = {
            "account": "jean",
            "approved": approved,
            "box_pk": b64u(self.dpk),
            "contact": handle,
            "delay": self.set.delay,
            "recovery": RECOVERY_ID,
            "request": b64u(hashlib.sha256(self.request_text).digest()),
            "set": SET_ID,
            "share": b64u(hashlib.sha256(self.resealed(handle)).digest()),
            "threshold": self.set.threshold,
            "type": "recovery-approval",
            "v": 1,
        }
        body.update(change)
        return body


def _set_case(f: _Fixture) -> JSON:
    expected = b"vault.v1/recovery-set\x00" + f.set_text
    assert _crypto.sign(f.owner_sk, expected) == f.set_sig
    assert rc.open_set(f.set_text, f.set_sig, f.owner_pk, "jean") == f.set
    return {
        "op": "recovery_set",
        "name": "2 of 3 contacts, 2-day delay",
        "contacts_secret": hx(f.secret),
        "login_seed": hx(f.ckeys.login_seed),
        "login_pk": hx(f.ckeys.login_keypair[0]),
        "kek": hx(f.ckeys.kek),
        "owner_sign_pk": hx(f.owner_pk),
        "set_text": f.set_text.decode(),
        "set_sig": hx(f.set_sig),
        "split_random": hx(f.random),
        "shares": [hx(s) for s in f.shares],
    }


def _share_cases(f: _Fixture) -> list[JSON]:
    out = []
    for h, b in f.people.items():
        c = f.contact(h)
        ad = b"vault.v1/recovery-share\x00" + canonical_json(
            {"account": "jean", "contact": h, "set": SET_ID, "v": 1, "x": c.x}
        )
        eph = det(f"contacts/share-eph/{h}")
        sealed, detail = seal_case(b.identity_box[1], eph, f.shares[c.x - 1], ad)
        assert sealed == rc.seal_share(f.set, c, f.shares[c.x - 1], eph)
        assert rc.open_share(f.set, c, b.identity_box[1], sealed) == f.shares[c.x - 1]
        out.append(
            {"op": "recovery_share", "name": f"share {c.x} sealed to {h}", "contact": h, **detail}
        )
    return out


def _request_case(f: _Fixture) -> JSON:
    digest = hashlib.sha256(b"vault.v1/recovery-code\x00" + f.request_text).digest()
    text = base64.b32encode(digest[:10]).decode()[:10]
    code = f"{text[:5]}-{text[5:]}"
    assert rc.request_code(f.request_text) == code
    assert rc.decode_request(f.request_text) == f.request
    return {
        "op": "recovery_request",
        "name": "request and its code",
        "device_box_sk": hx(f.dsk),
        "request_text": f.request_text.decode(),
        "code_hash": hx(digest),
        "code": code,
    }


def _approval_cases(f: _Fixture) -> list[JSON]:
    out: list[JSON] = []
    for i, h in enumerate(("alice", "bob")):
        c = f.contact(h)
        resealed = f.resealed(h)
        ad = b"vault.v1/recovery-reshare\x00" + canonical_json(
            {
                "account": "jean",
                "contact": h,
                "recovery": RECOVERY_ID,
                "set": SET_ID,
                "v": 1,
                "x": c.x,
            }
        )
        assert _crypto.seal_open(f.dsk, resealed, ad) == f.shares[c.x - 1]
        sk = f.people[h].identity_sign[1]
        approved = T0 + 2000 + 500 * i
        text, sig = rc.make_approval(f.set, c, f.request_text, resealed, approved, sk)
        assert (text, sig) == _sign(sk, "recovery-approval", f.approval_body(h, approved))
        rc.check_approval(text, sig, f.set, c, f.request_text, resealed)
        out.append(
            {
                "op": "recovery_approval",
                "name": f"approval by {h}",
                "contact": h,
                "contact_sign_pk": hx(c.sign_pk),
                "reshare_ad": hx(ad),
                "resealed": hx(resealed),
                "approval_text": text.decode(),
                "sig": hx(sig),
            }
        )
    approvals = [
        rc.check_approval(
            c["approval_text"].encode(),
            bytes.fromhex(c["sig"]),
            f.set,
            f.contact(c["contact"]),
            f.request_text,
            bytes.fromhex(c["resealed"]),
        )
        for c in out
    ]
    ready = rc.ready_at(f.request, f.set, approvals)
    assert ready == T0 + 2500 + f.set.delay
    assert rc.ready_at(f.request, f.set, approvals[:1]) is None
    shares = [
        rc.open_reshare(
            f.set, f.contact(a.contact), RECOVERY_ID, f.dsk, bytes.fromhex(c["resealed"])
        )
        for a, c in zip(approvals, out, strict=True)
    ]
    assert shamir.combine(shares) == f.secret
    out.append(
        {
            "op": "recovery_ready_at",
            "name": "max(created, 2nd approval) + delay",
            "approved": [a.approved for a in approvals],
            "created": f.request.created,
            "delay": f.set.delay,
            "ready_at": ready,
        }
    )
    return out


def _veto_finish_cases(f: _Fixture) -> list[JSON]:
    vetoed = T0 + 3000
    text, sig = rc.make_veto("jean", f.request_text, vetoed, f.owner_sk)
    body = {
        "account": "jean",
        "recovery": RECOVERY_ID,
        "request": b64u(hashlib.sha256(f.request_text).digest()),
        "type": "recovery-veto",
        "v": 1,
        "vetoed": vetoed,
    }
    assert (text, sig) == _sign(f.owner_sk, "recovery-veto", body)
    assert rc.check_veto(text, sig, f.owner_pk, f.request_text) == vetoed
    device = det("contacts/device-id", 16).hex()
    device_pk = keys.device_keypair(det("contacts/device-seed"))[0]
    msg = rc.finish_message("jean", RECOVERY_ID, device, device_pk, HOST)
    assert msg == b"vault.v1/recovery-finish\x00" + canonical_json(
        {
            "account": "jean",
            "device": device,
            "device_pk": b64u(device_pk),
            "host": HOST,
            "recovery": RECOVERY_ID,
            "v": 1,
        }
    )
    proof = rc.sign_finish(f.ckeys.login_keypair[1], "jean", RECOVERY_ID, device, device_pk, HOST)
    return [
        {
            "op": "recovery_veto",
            "name": "the owner's veto",
            "veto_text": text.decode(),
            "sig": hx(sig),
        },
        {
            "op": "recovery_finish",
            "name": "finish proof by the contacts login key",
            "device": device,
            "device_pk": hx(device_pk),
            "host": HOST,
            "message": hx(msg),
            "signature": hx(proof),
        },
    ]


def _negatives(f: _Fixture) -> list[JSON]:
    owner = {"owner_sign_pk": hx(f.owner_pk), "account": "jean"}
    out: list[JSON] = []

    def bad_set(name: str, body: dict[str, Any], sk: bytes | None = None) -> None:
        text, sig = _sign(sk or f.owner_sk, "recovery-set", body)
        out.append(
            neg(name, "open_set", "IntegrityError", set_text=text.decode(), sig=hx(sig), **owner)
        )

    contacts = f.set.to_json()["contacts"]
    bad_set("signed by another key", f.set_body(), f.people["alice"].identity_sign[1])
    bad_set("threshold 1", f.set_body(threshold=1))
    bad_set("threshold 0", f.set_body(threshold=0))
    bad_set("threshold above the number of contacts", f.set_body(threshold=4))
    bad_set("the same contact twice", f.set_body(contacts=[contacts[0], {**contacts[0], "x": 2}]))
    owner_entry = {**contacts[1], "handle": "jean"}
    bad_set("the owner as a contact", f.set_body(contacts=[contacts[0], owner_entry]))
    bad_set("contacts not numbered 1..n", f.set_body(contacts=[contacts[1], contacts[0]]))
    bad_set("another account", f.set_body(account="paul"))
    bad_set("delay above 10 years", f.set_body(delay=rc.MAX_DELAY + 1))
    bad_set("negative delay", f.set_body(delay=-1))
    bad_set("another type", f.set_body(type="recovery-request"))
    bad_set("v 2", f.set_body(v=2))
    bad_set("an extra field", f.set_body(extra=1))
    low = bytes.fromhex("0100000000000000000000000000000000000000000000000000000000000000")
    bad_set(
        "a low-order contact key",
        f.set_body(contacts=[{**contacts[0], "box_pk": b64u(low)}, *contacts[1:]]),
    )
    out.append(
        neg(
            "flipped signature",
            "open_set",
            "IntegrityError",
            set_text=f.set_text.decode(),
            sig=hx(bytes([f.set_sig[0] ^ 1]) + f.set_sig[1:]),
            **owner,
        )
    )
    spaced = f.set_text.decode().replace(",", ", ", 1)
    out.append(
        neg(
            "not canonical",
            "open_set",
            "IntegrityError",
            set_text=spaced,
            sig=hx(_sign(f.owner_sk, "recovery-set", f.set_body())[1]),
            **owner,
        )
    )

    req = f.request_text.decode()
    for name, text in (
        ("request: an extra field", req.replace('"v":1', '"v":1,"x":1')),
        ("request: another type", req.replace("recovery-request", "recovery-set")),
        ("request: not canonical", req.replace(",", ", ", 1)),
        ("request: a low-order device key", req.replace(b64u(f.dpk), b64u(low))),
        ("request: short nonce", req.replace(b64u(f.request.nonce), b64u(f.request.nonce[:15]))),
    ):
        out.append(neg(name, "decode_request", "IntegrityError", request_text=text))

    base = {"set_text": f.set_text.decode(), "set_sig": hx(f.set_sig), **owner, "request_text": req}

    def bad_approval(
        name: str,
        handle: str,
        body: dict[str, Any],
        signer: str | None = None,
        resealed: bytes | None = None,
    ) -> None:
        text, sig = _sign(f.people[signer or handle].identity_sign[1], "recovery-approval", body)
        out.append(
            neg(
                name,
                "check_approval",
                "IntegrityError",
                contact=handle,
                approval_text=text.decode(),
                sig=hx(sig),
                resealed=hx(resealed or f.resealed(handle)),
                **base,
            )
        )

    t = T0 + 2000
    other = det("contacts/other", 16).hex()
    bad_approval("approval: another recovery", "alice", f.approval_body("alice", t, recovery=other))
    bad_approval(
        "approval: another device key",
        "alice",
        f.approval_body("alice", t, box_pk=b64u(f.people["bob"].identity_box[0])),
    )
    bad_approval(
        "approval: another request hash",
        "alice",
        f.approval_body("alice", t, request=b64u(bytes(32))),
    )
    bad_approval("approval: another set", "alice", f.approval_body("alice", t, set=other))
    bad_approval("approval: a shorter delay", "alice", f.approval_body("alice", t, delay=0))
    bad_approval("approval: another threshold", "alice", f.approval_body("alice", t, threshold=3))
    bad_approval(
        "approval: another share", "alice", f.approval_body("alice", t), resealed=f.resealed("bob")
    )
    bad_approval("approval: another account", "alice", f.approval_body("alice", t, account="paul"))
    bad_approval(
        "approval: signed by another contact", "alice", f.approval_body("alice", t), signer="bob"
    )
    bad_approval(
        "approval: named for bob, signed by alice (a forged count)",
        "bob",
        f.approval_body("bob", t),
        signer="alice",
    )
    bad_approval(
        "approval: dated before the request",
        "alice",
        f.approval_body("alice", f.request.created - rc.CLOCK_SKEW - 1),
    )
    bad_approval(
        "approval: another type", "alice", f.approval_body("alice", t, type="recovery-veto")
    )

    alice = f.people["alice"]
    c = f.contact("alice")
    sealed = rc.seal_share(f.set, c, f.shares[0], det("contacts/share-eph/alice"))
    share_base = {**base, "contact": "alice", "box_sk": hx(alice.identity_box[1])}
    out.append(
        neg(
            "share: opened as bob's",
            "open_share",
            "IntegrityError",
            **{**share_base, "contact": "bob", "box_sk": hx(f.people["bob"].identity_box[1])},
            sealed=hx(sealed),
        )
    )
    out.append(
        neg(
            "share: truncated", "open_share", "IntegrityError", **share_base, sealed=hx(sealed[:-1])
        )
    )
    wrong_x = _crypto.seal(
        alice.identity_box[0],
        det("contacts/eph-x"),
        f.shares[1],
        b"vault.v1/recovery-share\x00"
        + canonical_json({"account": "jean", "contact": "alice", "set": SET_ID, "v": 1, "x": 1}),
    )
    out.append(
        neg(
            "share: carries another x",
            "open_share",
            "IntegrityError",
            **share_base,
            sealed=hx(wrong_x),
        )
    )
    out.append(
        neg(
            "re-sealed share: another recovery",
            "open_reshare",
            "IntegrityError",
            **{**base, "contact": "alice", "recovery": other, "box_sk": hx(f.dsk)},
            sealed=hx(f.resealed("alice")),
        )
    )

    vtext, vsig = rc.make_veto("jean", f.request_text, T0 + 3000, f.owner_sk)
    other_req = rc.Request("jean", other, f.dpk, T0 + 1000, det("contacts/nonce", 16)).encode()
    out.append(
        neg(
            "veto: of another request",
            "check_veto",
            "IntegrityError",
            veto_text=vtext.decode(),
            sig=hx(vsig),
            owner_sign_pk=hx(f.owner_pk),
            request_text=other_req.decode(),
        )
    )
    atext, asig = _sign(alice.identity_sign[1], "recovery-veto", json.loads(vtext))
    out.append(
        neg(
            "veto: signed by a contact",
            "check_veto",
            "IntegrityError",
            veto_text=atext.decode(),
            sig=hx(asig),
            owner_sign_pk=hx(f.owner_pk),
            request_text=req,
        )
    )

    device = det("contacts/device-id", 16).hex()
    device_pk = keys.device_keypair(det("contacts/device-seed"))[0]
    proof = rc.sign_finish(f.ckeys.login_keypair[1], "jean", RECOVERY_ID, device, device_pk, HOST)
    fin = {
        "login_pk": hx(f.ckeys.login_keypair[0]),
        "account": "jean",
        "recovery": RECOVERY_ID,
        "device": device,
        "device_pk": hx(device_pk),
        "host": HOST,
        "signature": hx(proof),
    }
    out.append(
        neg("finish: another device", "verify_finish", "IntegrityError", **{**fin, "device": other})
    )
    out.append(
        neg(
            "finish: another host",
            "verify_finish",
            "IntegrityError",
            **{**fin, "host": "evil.example"},
        )
    )
    out.append(
        neg(
            "finish: another recovery",
            "verify_finish",
            "IntegrityError",
            **{**fin, "recovery": other},
        )
    )
    out.append(
        neg(
            "contacts secret all zero",
            "contacts_keys",
            "IntegrityError",
            contacts_secret=hx(bytes(32)),
        )
    )
    return out


def build_recovery_contacts(w: World) -> JSON:
    f = _Fixture(w)
    positive = [
        _set_case(f),
        *_share_cases(f),
        _request_case(f),
        *_approval_cases(f),
        *_veto_finish_cases(f),
    ]
    return vector_file(
        "recovery_contacts",
        "Trusted contacts",
        "trusted-contact recovery: owner-signed set, shares sealed to contacts, the new "
        "device's request and code, approvals re-sealing shares to the request's key, veto, "
        "finish proof, ready = max(created, t-th approval) + delay",
        owner="jean",
        recovery=RECOVERY_ID,
        positive=positive,
        negative=_negatives(f),
    )
