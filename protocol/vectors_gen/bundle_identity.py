"""Vectors for SPEC.md "Bundle", "Public identity and fingerprint", "Primitives" (public keys
a client refuses) and "Device certificates".

Writes ``bundle.json``, ``identity.json``, ``public_keys.json`` and ``device_cert.json``.
"""

from __future__ import annotations

import json
from typing import Any

from vault_core import _crypto, keys
from vault_core.encoding import b64u, canonical_json

from .common import (
    HANDLE,
    JSON,
    PASSPHRASE,
    T0,
    X25519_LOW_ORDER,
    World,
    det,
    flip,
    hx,
    neg,
    set_low_bit,
    vector_file,
)

# -- bundle --------------------------------------------------------------------------------


def _bundle_ad(handle: str, slot: str) -> bytes:
    return b"vault.v1/bundle\x00" + canonical_json({"handle": handle, "slot": slot, "v": 1})


def build_bundle(w: World) -> JSON:
    pk = keys.derive_passphrase_keys(PASSPHRASE, w.kdf_params)
    rk = keys.derive_recovery_keys(w.recovery_key)
    b = w.bundle
    positive: list[JSON] = []
    wrapped_by_slot: dict[str, tuple[bytes, bytes]] = {}
    for slot, kek in (("passphrase", pk.kek), ("recovery", rk.kek)):
        nonce = det(f"bundle/nonce/{slot}", 24)
        wrapped = keys.wrap_bundle(b, kek, slot, nonce)
        plain = b.to_plain()
        ad = _bundle_ad(HANDLE, slot)
        assert wrapped == b"VB1" + nonce + _crypto.aead_encrypt(kek, nonce, plain, ad)
        wrapped_by_slot[slot] = (wrapped, kek)
        positive.append(
            {
                "op": "unwrap_bundle",
                "handle": HANDLE,
                "slot": slot,
                "kek": hx(kek),
                "nonce": hx(nonce),
                "plaintext_text": plain.decode(),
                "ad": hx(ad),
                "wrapped": hx(wrapped),
                "wrapped_b64u": b64u(wrapped),
                "bundle": {
                    "sign_seed": hx(b.identity_sign_seed),
                    "box_sk": hx(b.identity_box_secret),
                    "vault_key": hx(b.vault_key),
                    "created": b.created,
                },
            }
        )
    wrapped, kek = wrapped_by_slot["passphrase"]
    base = {"handle": HANDLE, "slot": "passphrase", "kek": hx(kek)}
    nonce = det("bundle/nonce/crafted", 24)

    def crafted(plain: bytes, handle: str = HANDLE) -> str:
        ad = _bundle_ad(handle, "passphrase")
        return hx(b"VB1" + nonce + _crypto.aead_encrypt(kek, nonce, plain, ad))

    plain_obj = json.loads(b.to_plain())
    negative = [
        neg(
            "flipped magic", "unwrap_bundle", "IntegrityError", **base, wrapped=hx(flip(wrapped, 0))
        ),
        neg(
            "flipped nonce",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=hx(flip(wrapped, 10)),
        ),
        neg(
            "flipped ciphertext",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=hx(flip(wrapped, 40)),
        ),
        neg(
            "flipped tag", "unwrap_bundle", "IntegrityError", **base, wrapped=hx(flip(wrapped, -1))
        ),
        neg(
            "truncated by one byte",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=hx(wrapped[:-1]),
        ),
        neg(
            "truncated to the header",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=hx(wrapped[:27]),
        ),
        neg(
            "extended by one byte",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=hx(wrapped + b"\x00"),
        ),
        neg(
            "wrong slot in AD",
            "unwrap_bundle",
            "IntegrityError",
            **{**base, "slot": "recovery"},
            wrapped=hx(wrapped),
        ),
        neg(
            "other handle in AD",
            "unwrap_bundle",
            "IntegrityError",
            **{**base, "handle": "jeanne"},
            wrapped=hx(wrapped),
        ),
        neg(
            "recovery-slot blob opened as passphrase slot",
            "unwrap_bundle",
            "IntegrityError",
            **{**base, "kek": hx(wrapped_by_slot["recovery"][1])},
            wrapped=hx(wrapped_by_slot["recovery"][0]),
        ),
        neg(
            "all-zero vault key inside",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=crafted(canonical_json({**plain_obj, "vault_key": b64u(bytes(32))})),
        ),
        neg(
            "format version 2 inside",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=crafted(canonical_json({**plain_obj, "v": 2})),
        ),
        neg(
            "other handle inside",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=crafted(canonical_json({**plain_obj, "handle": "mallory"})),
        ),
        neg(
            "non-canonical plaintext",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=crafted(json.dumps(plain_obj).encode()),
        ),
        neg(
            "31-byte identity seed inside",
            "unwrap_bundle",
            "IntegrityError",
            **base,
            wrapped=crafted(canonical_json({**plain_obj, "sign_seed": b64u(bytes(30) + b"\x01")})),
        ),
    ]
    return vector_file(
        "bundle",
        "Bundle",
        "the account bundle wrapped under the passphrase KEK and the recovery KEK",
        positive=positive,
        negative=negative,
    )


# -- identity, public keys, device certificates --------------------------------------------


def build_identity(w: World) -> JSON:
    positive: list[JSON] = []
    for bundle in (w.bundle, w.grantee):
        ident = bundle.public_identity()
        msg = b"vault.v1/identity\x00" + canonical_json(
            {"box_pk": b64u(ident.box_pk), "handle": ident.handle, "sign_pk": b64u(ident.sign_pk)}
        )
        fp_input = (
            b"vault.v1/fingerprint\x00" + ident.handle.encode() + ident.sign_pk + ident.box_pk
        )
        positive.append(
            {
                "op": "identity",
                "handle": ident.handle,
                "sign_seed": hx(bundle.identity_sign_seed),
                "box_sk": hx(bundle.identity_box_secret),
                "sign_pk": hx(ident.sign_pk),
                "box_pk": hx(ident.box_pk),
                "message": hx(msg),
                "sig": hx(ident.sig),
                "json_text": canonical_json(ident.to_json()).decode(),
                "fingerprint_input": hx(fp_input),
                "fingerprint_sha256": hx(_crypto.sha256(fp_input)),
                "fingerprint": ident.fingerprint(),
            }
        )
    good = w.identity.to_json()
    other_box = b64u(w.grantee_identity.box_pk)
    negative = [
        neg(
            "flipped signature",
            "identity",
            "IntegrityError",
            identity={**good, "sig": b64u(flip(w.identity.sig, 3))},
        ),
        neg("other handle", "identity", "IntegrityError", identity={**good, "handle": "jeanne"}),
        neg(
            "substituted box key",
            "identity",
            "IntegrityError",
            identity={**good, "box_pk": other_box},
        ),
        neg(
            "all-zero box key",
            "identity",
            "IntegrityError",
            identity={**good, "box_pk": b64u(bytes(32))},
        ),
        neg(
            "all-zero signing key",
            "identity",
            "IntegrityError",
            identity={**good, "sign_pk": b64u(bytes(32))},
        ),
        neg(
            "non-canonical base64 in sig",
            "identity",
            "IntegrityError",
            identity={**good, "sig": good["sig"][:-1] + set_low_bit(good["sig"][-1])},
        ),
        neg(
            "missing signature",
            "identity",
            "IntegrityError",
            identity={k: v for k, v in good.items() if k != "sig"},
        ),
        neg(
            "signature by another account",
            "identity",
            "IntegrityError",
            identity={**good, "sig": b64u(w.grantee_identity.sig)},
        ),
    ]
    return vector_file(
        "identity",
        "Public identity",
        "self-signed public identity and its fingerprint",
        positive=positive,
        negative=negative,
    )


ED25519_SMALL_ORDER = (
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity (order 1)
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4, all zero
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
    "0100000000000000000000000000000000000000000000000000000000000080",  # identity, sign bit
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p+1 (non-canonical)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # same, sign bit
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p (non-canonical)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # same, sign bit
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # order 2, sign bit
)


def mixed_order_ed25519(w: World) -> bytes:
    """A valid key plus a point of order 8: on the curve, not in the prime-order subgroup."""
    import nacl.bindings as sodium  # only here: builds a deliberately bad point

    return bytes(
        sodium.crypto_core_ed25519_add(w.id_sign_pk, bytes.fromhex(ED25519_SMALL_ORDER[4]))
    )


def build_public_keys(w: World) -> JSON:
    positive = [
        {"op": "check_box_pk", "public_key": hx(w.id_box_pk)},
        {"op": "check_box_pk", "public_key": hx(w.grantee_identity.box_pk)},
        {"op": "check_sign_pk", "public_key": hx(w.id_sign_pk)},
        {"op": "check_sign_pk", "public_key": hx(w.iss_pk)},
    ]
    negative: list[JSON] = []
    for h in X25519_LOW_ORDER:
        negative.append(
            neg("low-order X25519 point", "check_box_pk", "IntegrityError", public_key=h)
        )
        hi = bytearray.fromhex(h)
        hi[31] |= 0x80
        negative.append(
            neg(
                "low-order X25519 point, bit 255 set",
                "check_box_pk",
                "IntegrityError",
                public_key=hi.hex(),
            )
        )
    negative.append(
        neg("31-byte X25519 key", "check_box_pk", "IntegrityError", public_key=hx(w.id_box_pk[:31]))
    )
    negative.append(
        neg(
            "33-byte X25519 key",
            "check_box_pk",
            "IntegrityError",
            public_key=hx(w.id_box_pk + b"\x00"),
        )
    )
    for h in ED25519_SMALL_ORDER:
        negative.append(
            neg(
                "small-order or non-canonical Ed25519 point",
                "check_sign_pk",
                "IntegrityError",
                public_key=h,
            )
        )
    negative.append(
        neg(
            "mixed-order Ed25519 point (key + order-8 torsion)",
            "check_sign_pk",
            "IntegrityError",
            public_key=hx(mixed_order_ed25519(w)),
        )
    )
    negative.append(
        neg(
            "31-byte Ed25519 key",
            "check_sign_pk",
            "IntegrityError",
            public_key=hx(w.id_sign_pk[:31]),
        )
    )
    return vector_file(
        "public_keys",
        "Primitives",
        "public keys a client MUST refuse: zero, low-order, small-order, mixed-order, "
        "non-canonical",
        positive=positive,
        negative=negative,
    )


def build_device_cert(w: World) -> JSON:
    positive: list[JSON] = []
    for tag in ("a", "b"):
        dev_id, pk, _, cert = w.devices[tag]
        msg = b"vault.v1/device-cert\x00" + canonical_json(
            {
                "created": cert.created,
                "device": dev_id,
                "handle": HANDLE,
                "name": cert.name,
                "sign_pk": b64u(pk),
            }
        )
        positive.append(
            {
                "op": "device_cert",
                "identity_sign_pk": hx(w.id_sign_pk),
                "handle": HANDLE,
                "device_id": dev_id,
                "name": cert.name,
                "device_seed": hx(det(f"jean/device-{tag}/seed")),
                "device_sign_pk": hx(pk),
                "created": cert.created,
                "message": hx(msg),
                "sig": hx(cert.sig),
                "cert_text": cert.encode().decode(),
            }
        )
    cert = w.devices["a"][3]
    good = json.loads(cert.encode())
    ident = hx(w.id_sign_pk)

    def variant(**changes: Any) -> str:
        return canonical_json({**good, **changes}).decode()

    negative = [
        neg(
            "renamed",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=variant(name="Mallory's laptop"),
        ),
        neg(
            "other creation time",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=variant(created=T0 + 11),
        ),
        neg(
            "other device id",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=variant(device=w.devices["b"][0]),
        ),
        neg(
            "substituted device key",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=variant(sign_pk=b64u(w.devices["b"][1])),
        ),
        neg(
            "flipped signature",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=variant(sig=b64u(flip(cert.sig, 0))),
        ),
        neg(
            "foreign identity key",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=hx(w.grantee_identity.sign_pk),
            cert_text=cert.encode().decode(),
        ),
        neg(
            "non-canonical JSON",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=json.dumps(good, sort_keys=True),
        ),
        neg(
            "missing signature",
            "device_cert",
            "IntegrityError",
            identity_sign_pk=ident,
            cert_text=canonical_json({k: v for k, v in good.items() if k != "sig"}).decode(),
        ),
        neg(
            "certifying a small-order device key",
            "issue_device_cert",
            "IntegrityError",
            device_sign_pk="01" + "00" * 31,
        ),
    ]
    return vector_file(
        "device_cert",
        "Device certificates",
        "device signing keys certified by the identity key",
        positive=positive,
        negative=negative,
    )
