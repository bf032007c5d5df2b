"""Deterministic test vectors for protocol/SPEC.md.

``python -m protocol.make_vectors`` (from the repository root) rewrites
``protocol/vectors/*.json``; ``--check`` only compares and exits 1 on any difference.

Every "random" input (keys, seeds, nonces, ephemeral secrets) is derived from a fixed label
with :func:`det`, so the output is identical on every run and every machine. The vectors are
meant for independent implementations (e.g. JavaScript with libsodium-wrappers-sumo): each
case carries its inputs, its expected outputs and the intermediate values a reimplementation
needs (derived keys, associated data, signed messages), all spelled out in SPEC.md.

Conventions inside the files: byte strings are lowercase hex; fields ending in ``_text`` are
UTF-8 text (JSON documents byte-exact); fields ending in ``_b64u`` are base64url without
padding; integers are JSON numbers except 64-bit values, given as hex strings. A negative case
names the operation (``op``) that MUST fail and the error class (``error``) the Python core
raises (IntegrityError = opaque authentication failure, FormatError = malformed input,
WeakParameters = refused key-derivation parameters, RollbackError = rollback detected).

While building, this script re-derives every intermediate value from the SPEC's formulas and
asserts that the core produced the same bytes: a drift between spec and code stops it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vault_core import _crypto, chunks, deposits, grants, keys, log, login, manifest
from vault_core.encoding import b64u, canonical_json

JSON = dict[str, Any]
VECTORS_DIR = Path(__file__).resolve().parent / "vectors"

HANDLE = "jean"
GRANTEE = "bouchra"
HOST = "vault.example.org"
SERVER = "https://vault.example.org"
T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
PASSPHRASE = "Fête des Lumières, 8 décembre"  # noqa: S105 (a test vector)
LINK_PASSWORD = "sésame 42"  # noqa: S105 (a test vector)
ISSUER_NAME = "Mairie de Villeurbanne – État civil"

ENCODING_NOTE = (
    "byte strings: lowercase hex; *_text: UTF-8 text, byte-exact; *_b64u: base64url without "
    "padding; 64-bit integers: hex strings"
)


# -- deterministic inputs ------------------------------------------------------------------


def blake2b_stream(key: bytes, size: int) -> bytes:
    """BLAKE2b-512 in counter mode: block i = BLAKE2b(key=key, msg=u64be(i), 64 bytes).

    Reproducible with libsodium's crypto_generichash; used for every derived input and for
    the CDC test buffers.
    """
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.blake2b(struct.pack(">Q", i), key=key, digest_size=64).digest()
        i += 1
    return bytes(out[:size])


def det(label: str, size: int = 32) -> bytes:
    """Fixed pseudo-random bytes for a label (test vectors only, never for real keys)."""
    key = hashlib.blake2b(b"vault.v1 test vectors\x00" + label.encode(), digest_size=32).digest()
    return blake2b_stream(key, size)


def hx(data: bytes | memoryview) -> str:
    return bytes(data).hex()


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def neg(name: str, op: str, error: str, **fields: Any) -> JSON:
    return {"name": name, "op": op, "error": error, **fields}


def vector_file(name: str, section: str, description: str, **body: Any) -> JSON:
    return {
        "vector": name,
        "format_version": 1,
        "spec": f"protocol/SPEC.md §{section}",
        "description": description,
        "encoding": ENCODING_NOTE,
        **body,
    }


# -- the fixed world -----------------------------------------------------------------------


class World:
    """All the keys and objects the vectors share, built once."""

    def __init__(self) -> None:
        self.bundle = keys.new_bundle(HANDLE, det("jean/bundle", 96), T0)
        self.identity = self.bundle.public_identity()
        self.id_sign_pk, self.id_sign_sk = self.bundle.identity_sign
        self.id_box_pk, self.id_box_sk = self.bundle.identity_box
        self.vk = self.bundle.vault_keys
        self.grantee = keys.new_bundle(GRANTEE, det("bouchra/bundle", 96), T0)
        self.grantee_identity = self.grantee.public_identity()
        self.kdf_params = keys.KdfParams(salt=det("jean/kdf-salt", 16))
        self.recovery_key = det("jean/recovery-key")
        # Devices of Jean's account.
        self.devices: dict[str, tuple[str, bytes, bytes, keys.DeviceCert]] = {}
        for tag, name in (("a", "Jean's laptop"), ("b", "Téléphone de Jean")):
            dev_id = det(f"jean/device-{tag}/id", 16).hex()
            pk, sk = keys.device_keypair(det(f"jean/device-{tag}/seed"))
            cert = keys.DeviceCert.issue(self.bundle, dev_id, name, pk, T0 + 10)
            self.devices[tag] = (dev_id, pk, sk, cert)
        # Authority and issuer.
        self.auth_pk, self.auth_sk = deposits.authority_keypair(det("authority/seed"))
        self.iss_pk, self.iss_sk = deposits.issuer_keypair(det("issuer/seed"))
        self.cert = deposits.IssuerCert.issue(
            self.auth_sk, self.auth_pk, self.iss_pk, ISSUER_NAME, T0 - 30 * DAY, T0 + 365 * DAY
        )
        self.foreign_pk, self.foreign_sk = deposits.authority_keypair(det("foreign-authority"))


# -- encoding ------------------------------------------------------------------------------


def build_encoding() -> JSON:
    b64 = []
    for data in (b"", b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", bytes([0xFB, 0xFF, 0xBF])):
        b64.append({"op": "b64u", "bytes": hx(data), "text": b64u(data)})
    b64.append({"op": "b64u", "bytes": hx(det("encoding/32")), "text": b64u(det("encoding/32"))})
    canon = [
        ('{ "b": 1, "a": [true, false, null] }', '{"a":[true,false,null],"b":1}'),
        ('{"z": {"y": 2, "x": -3}, "é": "\\u00e9\\n\\u0001\\"\\\\/"}', None),
        ('{"\\uffff": 1, "\\ud83d\\ude00": 2, "~": 3, "A": 4}', None),
        ('"\\u2028 \\u007f"', None),
        ("[9007199254740991, -9007199254740991, 0]", None),
        ('{"": ""}', None),
    ]
    canon_cases = []
    for src, expected in canon:
        text = canonical_json(json.loads(src)).decode("utf-8")
        if expected is not None:
            assert text == expected
        canon_cases.append({"op": "canonical_json", "input_text": src, "canonical_text": text})
    negative = [
        neg("padding", "unb64u", "FormatError", text="Zm9vYg=="),
        neg("standard alphabet +", "unb64u", "FormatError", text="-+8"),
        neg("standard alphabet /", "unb64u", "FormatError", text="-_/"),
        neg("non-canonical trailing bits (2 chars)", "unb64u", "FormatError", text="Zn"),
        neg("non-canonical trailing bits (3 chars)", "unb64u", "FormatError", text="Zm9"),
        neg("impossible length 4n+1", "unb64u", "FormatError", text="Zm9vY"),
        neg("embedded whitespace", "unb64u", "FormatError", text="Zm9v Yg"),
        neg("trailing newline", "unb64u", "FormatError", text="Zm9vYg\n"),
        neg(
            "wrong size for a 32-byte field", "unb64u", "FormatError", text=b64u(bytes(31)), size=32
        ),
    ]
    bad_json = [
        ("whitespace", '{"a": 1}'),
        ("unsorted keys", '{"b":1,"a":2}'),
        ("duplicate key", '{"a":1,"a":1}'),
        ("float", '{"a":1.0}'),
        ("exponent", '{"a":1e2}'),
        ("negative zero", '{"a":-0}'),
        ("leading zero", '{"a":01}'),
        ("integer above 2^53-1", '{"a":9007199254740992}'),
        ("integer below -(2^53-1)", '{"a":-9007199254740992}'),
        ("huge integer (5000 digits)", '{"a":1' + "0" * 5000 + "}"),
        ("unneeded escape \\u0041", '"\\u0041"'),
        ("escaped solidus", '"\\/"'),
        ("upper-case hex escape", '"\\u001F"'),
        ("escaped non-ASCII", '"\\u00e9"'),
        ("lone surrogate escape", '"\\ud800"'),
        ("NaN", '{"a":NaN}'),
        ("Infinity", '{"a":Infinity}'),
        ("trailing newline", '{"a":1}\n'),
        ("trailing garbage", '{"a":1}x'),
        ("raw control character in a string", '"a\tb"'),
        ("single quotes", "{'a':1}"),
        ("empty document", ""),
    ]
    for name, text in bad_json:
        negative.append(neg(name, "parse_canonical_json", "FormatError", text=text))
    negative.append(
        neg(
            "UTF-8 byte order mark",
            "parse_canonical_json",
            "FormatError",
            bytes=hx(b'\xef\xbb\xbf{"a":1}'),
        )
    )
    negative.append(
        neg("invalid UTF-8", "parse_canonical_json", "FormatError", bytes=hx(b'"\xc3\x28"'))
    )
    negative.append(
        neg(
            "overlong UTF-8 for '/'", "parse_canonical_json", "FormatError", bytes=hx(b'"\xc0\xaf"')
        )
    )
    return vector_file(
        "encoding",
        "Conventions",
        "base64url without padding and canonical JSON",
        positive=b64 + canon_cases,
        negative=negative,
    )


# -- key derivation ------------------------------------------------------------------------

KDF_LABELS: tuple[tuple[str, int], ...] = (
    ("vault.v1/login", 32),
    ("vault.v1/kek", 32),
    ("vault.v1/recovery-login", 32),
    ("vault.v1/recovery-kek", 32),
    ("vault.v1/record-key", 32),
    ("vault.v1/chunk-id-key", 32),
    ("vault.v1/chunk-key-key", 32),
    ("vault.v1/cdc-seed", 16),
    ("vault.v1/local-key", 32),
    ("vault.v1/grant-key", 32),
    ("vault.v1/grant-access", 32),
    ("vault.v1/grant-pw-salt", 16),
    ("vault.v1/grant-password", 32),
)


def build_kdf(w: World) -> JSON:
    positive: list[JSON] = []
    key = det("kdf/key")
    for label, size in KDF_LABELS:
        out = _crypto.kdf(key, label, size)
        assert out == hashlib.blake2b(label.encode(), key=key, digest_size=size).digest()
        positive.append(
            {"op": "kdf", "key": hx(key), "label": label, "size": size, "output": hx(out)}
        )
    key64 = det("kdf/key64", 64)
    positive.append(
        {
            "op": "kdf",
            "key": hx(key64),
            "label": "vault.v1/grant-password",
            "size": 32,
            "output": hx(_crypto.kdf(key64, "vault.v1/grant-password")),
        }
    )
    # Raw Argon2id with TEST-ONLY parameters (far below the floor: never accept them).
    for m_kib, t, p in ((256, 2, 1), (512, 1, 2)):
        pw = b"password"
        salt = det(f"kdf/argon2-salt/{m_kib}", 16)
        out = _crypto.argon2id(pw, salt, m_kib, t, p)
        positive.append(
            {
                "op": "argon2id",
                "test_only": True,
                "password": hx(pw),
                "salt": hx(salt),
                "m_kib": m_kib,
                "t": t,
                "p": p,
                "size": 32,
                "output": hx(out),
            }
        )
    # Passphrase keys at the floor (64 MiB, 3 passes, 1 lane).
    params = w.kdf_params
    root = _crypto.argon2id(PASSPHRASE.encode(), params.salt, params.m_kib, params.t, params.p)
    pk = keys.derive_passphrase_keys(PASSPHRASE, params)
    assert pk.login_seed == _crypto.kdf(root, "vault.v1/login")
    assert pk.kek == _crypto.kdf(root, "vault.v1/kek")
    positive.append(
        {
            "op": "passphrase",
            "passphrase_text": PASSPHRASE,
            "passphrase_utf8": hx(PASSPHRASE.encode()),
            "kdf": params.to_json(),
            "root": hx(root),
            "login_seed": hx(pk.login_seed),
            "login_pk": hx(pk.login_keypair[0]),
            "kek": hx(pk.kek),
        }
    )
    rk = keys.derive_recovery_keys(w.recovery_key)
    assert rk.login_seed == _crypto.kdf(w.recovery_key, "vault.v1/recovery-login")
    positive.append(
        {
            "op": "recovery",
            "recovery_key": hx(w.recovery_key),
            "login_seed": hx(rk.login_seed),
            "login_pk": hx(rk.login_keypair[0]),
            "kek": hx(rk.kek),
        }
    )
    vk = w.bundle.vault_key
    cdc16 = _crypto.kdf(vk, "vault.v1/cdc-seed", 16)
    cdc_seed = (int.from_bytes(cdc16[:8], "big") | 1) & ((1 << 63) - 1)
    assert cdc_seed == w.vk.cdc_seed
    positive.append(
        {
            "op": "vault_keys",
            "vault_key": hx(vk),
            "record_key": hx(w.vk.record_key),
            "chunk_id_key": hx(w.vk.chunk_id_key),
            "chunk_key_key": hx(w.vk.chunk_key_key),
            "local_key": hx(w.vk.local_key),
            "cdc_seed_kdf16": hx(cdc16),
            "cdc_seed_u64": f"{cdc_seed:016x}",
        }
    )
    good = params.to_json()
    negative = [
        neg("memory below 64 MiB", "kdf_params", "WeakParameters", kdf={**good, "m_kib": 65535}),
        neg("two passes", "kdf_params", "WeakParameters", kdf={**good, "t": 2}),
        neg(
            "one pass, huge memory",
            "kdf_params",
            "WeakParameters",
            kdf={**good, "m_kib": 1 << 21, "t": 1},
        ),
        neg(
            "test-only parameters",
            "kdf_params",
            "WeakParameters",
            kdf={**good, "m_kib": 256, "t": 2},
        ),
        neg("all-zero salt", "kdf_params", "WeakParameters", kdf={**good, "salt": b64u(bytes(16))}),
        neg("zero lanes", "kdf_params", "WeakParameters", kdf={**good, "p": 0}),
        neg("17 lanes", "kdf_params", "WeakParameters", kdf={**good, "p": 17}),
        neg(
            "memory above 4 GiB",
            "kdf_params",
            "WeakParameters",
            kdf={**good, "m_kib": (4 << 20) + 1},
        ),
        neg("65 passes", "kdf_params", "WeakParameters", kdf={**good, "t": 65}),
        neg("argon2i", "kdf_params", "FormatError", kdf={**good, "alg": "argon2i"}),
        neg(
            "15-byte salt",
            "kdf_params",
            "FormatError",
            kdf={**good, "salt": b64u(bytes(14) + b"\x01")},
        ),
        neg(
            "salt with padding",
            "kdf_params",
            "FormatError",
            kdf={**good, "salt": good["salt"] + "=="},
        ),
        neg("memory as a string", "kdf_params", "FormatError", kdf={**good, "m_kib": "65536"}),
        neg("passes as a boolean", "kdf_params", "FormatError", kdf={**good, "t": True}),
        neg(
            "missing salt",
            "kdf_params",
            "FormatError",
            kdf={k: v for k, v in good.items() if k != "salt"},
        ),
    ]
    return vector_file(
        "kdf",
        "Key hierarchy",
        "BLAKE2b KDF labels, raw Argon2id (test-only costs), passphrase keys at the floor, "
        "recovery keys, vault subkeys, Argon2id floor",
        positive=positive,
        negative=negative,
    )


# -- login ---------------------------------------------------------------------------------


def build_login(w: World) -> JSON:
    pk = keys.derive_passphrase_keys(PASSPHRASE, w.kdf_params)
    rk = keys.derive_recovery_keys(w.recovery_key)
    _, dev_pk, dev_sk, _ = w.devices["a"]
    positive: list[JSON] = []
    cases = [
        ("passphrase", pk.login_keypair),
        ("recovery", rk.login_keypair),
        ("device", (dev_pk, dev_sk)),
    ]
    for purpose, (pub, sec) in cases:
        challenge = det(f"login/challenge/{purpose}")
        body = canonical_json(
            {"challenge": b64u(challenge), "handle": HANDLE, "host": HOST, "purpose": purpose}
        )
        msg = b"vault.v1/login-proof\x00" + body
        assert msg == login.login_proof_message(HANDLE, HOST, purpose, challenge)
        sig = login.sign_login_proof(sec, HANDLE, HOST, purpose, challenge)
        positive.append(
            {
                "op": "login_proof",
                "handle": HANDLE,
                "host": HOST,
                "purpose": purpose,
                "challenge": hx(challenge),
                "public_key": hx(pub),
                "body_text": body.decode(),
                "message": hx(msg),
                "signature": hx(sig),
            }
        )
    token = det("login/token")
    positive.append({"op": "token_hash", "token": hx(token), "hash": hx(login.token_hash(token))})
    base = {k: v for k, v in positive[0].items() if k not in ("op", "body_text", "message")}
    negative = [
        neg("other host", "login_proof", "IntegrityError", **{**base, "host": "evil.example.org"}),
        neg("other handle", "login_proof", "IntegrityError", **{**base, "handle": "jeanne"}),
        neg("other purpose", "login_proof", "IntegrityError", **{**base, "purpose": "recovery"}),
        neg(
            "other challenge",
            "login_proof",
            "IntegrityError",
            **{**base, "challenge": hx(det("x"))},
        ),
        neg(
            "flipped signature bit",
            "login_proof",
            "IntegrityError",
            **{**base, "signature": hx(flip(bytes.fromhex(base["signature"]), 5))},
        ),
        neg(
            "signature by the recovery key",
            "login_proof",
            "IntegrityError",
            **{**base, "public_key": hx(rk.login_keypair[0])},
        ),
        neg(
            "identity point as public key",
            "login_proof",
            "IntegrityError",
            **{**base, "public_key": "01" + "00" * 31},
        ),
        neg(
            "all-zero public key",
            "login_proof",
            "IntegrityError",
            **{**base, "public_key": "00" * 32},
        ),
        neg(
            "truncated signature",
            "login_proof",
            "IntegrityError",
            **{**base, "signature": base["signature"][:-2]},
        ),
    ]
    return vector_file(
        "login",
        "Login proof",
        "Ed25519 login proofs for the three purposes, and the stored token hash",
        positive=positive,
        negative=negative,
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
            identity={**good, "sig": good["sig"][:-1] + _set_low_bit(good["sig"][-1])},
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


X25519_LOW_ORDER = (
    "0000000000000000000000000000000000000000000000000000000000000000",  # 0 (order 4)
    "0100000000000000000000000000000000000000000000000000000000000000",  # 1 (order 1)
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  # order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  # order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p-1 (order 2)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p = 0
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p+1 = 1
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


# -- chunks --------------------------------------------------------------------------------


def chunk_ad(chunk_id: str) -> bytes:
    return b"vault.v1/chunk\x00" + bytes.fromhex(chunk_id)


def ref_json(ref: chunks.ChunkRef) -> JSON:
    return {"id": ref.id, "key": hx(ref.key), "hash": hx(ref.hash), "size": ref.size}


def build_chunk(w: World) -> JSON:
    from pyfastcdc.py.constants import GEAR, MASKS  # the reference tables, for the record

    idk, kk = w.vk.chunk_id_key, w.vk.chunk_key_key
    positive: list[JSON] = []
    blobs: list[tuple[chunks.ChunkRef, bytes]] = []
    for i, size in enumerate((1000, 1)):
        plain = det(f"chunk/plaintext/{i}", size)
        ref = chunks.chunk_ref(idk, kk, plain)
        h = hashlib.sha256(plain).digest()
        assert (
            ref.hash == h and ref.id == _crypto.mac(idk, h).hex() and ref.key == _crypto.mac(kk, h)
        )
        nonce = det(f"chunk/nonce/{i}", 24)
        blob = chunks.seal_chunk(ref, plain, nonce)
        assert blob == b"VC1" + nonce + _crypto.aead_encrypt(
            ref.key, nonce, plain, chunk_ad(ref.id)
        )
        blobs.append((ref, blob))
        positive.append(
            {
                "op": "chunk",
                "chunk_id_key": hx(idk),
                "chunk_key_key": hx(kk),
                "plaintext": hx(plain),
                "sha256": hx(h),
                "id": ref.id,
                "key": hx(ref.key),
                "size": ref.size,
                "nonce": hx(nonce),
                "ad": hx(chunk_ad(ref.id)),
                "blob": hx(blob),
            }
        )
    # Content-defined chunking over reproducible buffers.
    gen_key = det("chunk/cdc-input-key")
    length = 1_600_000
    data = blake2b_stream(gen_key, length)
    edited = data[:700_000] + b"inserted by an edit " * 5 + data[700_000:]
    seed = w.vk.cdc_seed
    from pyfastcdc import utils as cdc_utils

    bits = cdc_utils.logarithm2(chunks.CDC_AVG)
    for name, buf, edit in (("original", data, None), ("edited", edited, 700_000)):
        lengths = [len(c) for c in chunks.cut(chunks.new_chunker(seed), buf)]
        ids = [chunks.chunk_ref(idk, kk, c).id for c in chunks.cut(chunks.new_chunker(seed), buf)]
        case: JSON = {
            "op": "cdc",
            "name": name,
            "cdc_seed_u64": f"{seed:016x}",
            "chunk_id_key": hx(idk),
            "chunk_key_key": hx(kk),
            "input": {"generator": "blake2b-ctr", "key": hx(gen_key), "length": length},
            "cut_lengths": lengths,
            "chunk_ids": ids,
        }
        if edit is not None:
            case["input"]["insert"] = {"offset": edit, "bytes_text": "inserted by an edit " * 5}
        positive.append(case)
    cdc_params = {
        "min_size": chunks.CDC_MIN,
        "avg_size": chunks.CDC_AVG,
        "max_size": chunks.CDC_MAX,
        "normalization": 1,
        "bits": bits,
        "mask_s": f"{MASKS[bits + 1]:016x}",
        "mask_l": f"{MASKS[bits - 1]:016x}",
        "gear_table_unseeded": [f"{g:016x}" for g in GEAR],
    }
    (ref0, blob0), (ref1, blob1) = blobs
    r0 = ref_json(ref0)
    negative = [
        neg("flipped magic", "open_chunk", "IntegrityError", ref=r0, blob=hx(flip(blob0, 0))),
        neg("flipped nonce", "open_chunk", "IntegrityError", ref=r0, blob=hx(flip(blob0, 5))),
        neg(
            "flipped ciphertext", "open_chunk", "IntegrityError", ref=r0, blob=hx(flip(blob0, 100))
        ),
        neg("flipped tag", "open_chunk", "IntegrityError", ref=r0, blob=hx(flip(blob0, -1))),
        neg("truncated by one byte", "open_chunk", "IntegrityError", ref=r0, blob=hx(blob0[:-1])),
        neg(
            "extended by one byte", "open_chunk", "IntegrityError", ref=r0, blob=hx(blob0 + b"\x00")
        ),
        neg("empty blob", "open_chunk", "IntegrityError", ref=r0, blob=""),
        neg(
            "swapped chunk (other chunk's blob)",
            "open_chunk",
            "IntegrityError",
            ref=r0,
            blob=hx(blob1),
        ),
        neg(
            "swapped chunk with matching size",
            "open_chunk",
            "IntegrityError",
            ref={**ref_json(ref1), "size": ref0.size},
            blob=hx(blob0),
        ),
        neg(
            "right key and blob, wrong id (AD)",
            "open_chunk",
            "IntegrityError",
            ref={**r0, "id": ref1.id},
            blob=hx(blob0),
        ),
        neg(
            "right blob, wrong plaintext hash",
            "open_chunk",
            "IntegrityError",
            ref={**r0, "hash": hx(ref1.hash)},
            blob=hx(blob0),
        ),
        neg(
            "wrong key",
            "open_chunk",
            "IntegrityError",
            ref={**r0, "key": hx(ref1.key)},
            blob=hx(blob0),
        ),
    ]
    return vector_file(
        "chunk",
        "Chunks",
        "chunk ids, keys and blobs; FastCDC cut points (affect deduplication only)",
        cdc_params=cdc_params,
        positive=positive,
        negative=negative,
    )


# -- manifests -----------------------------------------------------------------------------

FILE_ID = det("file/id", 16)
FILE_PATH = "Papiers/Acte de naissance.pdf"


def manifest_ad(file_id: bytes, version: int) -> bytes:
    return b"vault.v1/manifest\x00" + file_id + struct.pack(">I", version)


def file_chunks(w: World) -> tuple[bytes, list[chunks.ChunkRef]]:
    parts = [det(f"file/part/{i}", n) for i, n in enumerate((700, 500, 300))]
    refs = [chunks.chunk_ref(w.vk.chunk_id_key, w.vk.chunk_key_key, p) for p in parts]
    return b"".join(parts), refs


def build_manifest(w: World) -> JSON:
    _, refs = file_chunks(w)
    positive: list[JSON] = []
    built: dict[int, tuple[manifest.Manifest, bytes, str, bytes]] = {}
    for version, crefs in ((1, refs), (2, [])):
        m = manifest.Manifest.build(FILE_ID, version, crefs)
        size = sum(r.size for r in crefs)
        ch_input = (
            b"vault.v1/content\x00" + struct.pack(">Q", size) + b"".join(r.hash for r in crefs)
        )
        assert m.content == hashlib.sha256(ch_input).digest()
        plain = m.encode()
        expect = (
            b"VMF1"
            + FILE_ID
            + struct.pack(">IQ", version, size)
            + m.content
            + struct.pack(">I", len(crefs))
        )
        expect += b"".join(
            bytes.fromhex(r.id) + r.key + r.hash + struct.pack(">I", r.size) for r in crefs
        )
        assert plain == expect
        file_key = det(f"file/key/{version}")
        nonce = det(f"manifest/nonce/{version}", 24)
        blob_id, blob = manifest.seal_manifest(m, file_key, nonce)
        assert blob_id == hashlib.sha256(blob).hexdigest()
        built[version] = (m, blob, blob_id, file_key)
        positive.append(
            {
                "op": "open_manifest",
                "file_id": hx(FILE_ID),
                "version": version,
                "file_key": hx(file_key),
                "chunks": [ref_json(r) for r in crefs],
                "size": size,
                "content_hash_input": hx(ch_input),
                "content_hash": hx(m.content),
                "plaintext": hx(plain),
                "nonce": hx(nonce),
                "ad": hx(manifest_ad(FILE_ID, version)),
                "blob": hx(blob),
                "blob_id": blob_id,
            }
        )
    # a small file inline (VMF2): its bytes inside the manifest
    data = det("file/inline", 1000)
    inline = manifest.Manifest.inline(FILE_ID, 3, data)
    ch_input = b"vault.v1/content\x00" + struct.pack(">Q", 1000) + hashlib.sha256(data).digest()
    assert inline.content == hashlib.sha256(ch_input).digest()
    iplain = inline.encode()
    assert iplain == b"VMF2" + FILE_ID + struct.pack(">IQ", 3, 1000) + inline.content + data
    ikey, inonce = det("file/key/3"), det("manifest/nonce/3", 24)
    iblob_id, iblob = manifest.seal_manifest(inline, ikey, inonce)
    positive.append(
        {
            "op": "open_manifest_inline",
            "file_id": hx(FILE_ID),
            "version": 3,
            "file_key": hx(ikey),
            "data": hx(data),
            "size": 1000,
            "content_hash_input": hx(ch_input),
            "content_hash": hx(inline.content),
            "plaintext": hx(iplain),
            "nonce": hx(inonce),
            "ad": hx(manifest_ad(FILE_ID, 3)),
            "blob": hx(iblob),
            "blob_id": iblob_id,
        }
    )
    m, blob, blob_id, file_key = built[1]
    base = {"file_id": hx(FILE_ID), "version": 1, "file_key": hx(file_key)}

    def rehashed(b: bytes) -> JSON:
        return {"blob": hx(b), "blob_id": hashlib.sha256(b).hexdigest()}

    def resealed(plain: bytes, file_id: bytes = FILE_ID, version: int = 1) -> JSON:
        nonce = det("manifest/nonce/crafted", 24)
        ad = manifest_ad(file_id, version)
        return rehashed(b"VM1" + nonce + _crypto.aead_encrypt(file_key, nonce, plain, ad))

    plain = m.encode()
    head, entries = plain[:68], plain[68:]
    e = [entries[i * 100 : (i + 1) * 100] for i in range(3)]
    other = det("file/other-id", 16)
    swapped_head = b"VMF1" + other + plain[20:68]
    negative = [
        neg(
            "flipped byte, id not updated",
            "open_manifest",
            "IntegrityError",
            **base,
            blob=hx(flip(blob, 50)),
            blob_id=blob_id,
        ),
        neg(
            "flipped ciphertext byte, id recomputed",
            "open_manifest",
            "IntegrityError",
            **base,
            **rehashed(flip(blob, 50)),
        ),
        neg(
            "flipped magic, id recomputed",
            "open_manifest",
            "IntegrityError",
            **base,
            **rehashed(flip(blob, 1)),
        ),
        neg(
            "truncated, id recomputed",
            "open_manifest",
            "IntegrityError",
            **base,
            **rehashed(blob[:-1]),
        ),
        neg(
            "extended, id recomputed",
            "open_manifest",
            "IntegrityError",
            **base,
            **rehashed(blob + b"\x00"),
        ),
        neg(
            "other version (AD)",
            "open_manifest",
            "IntegrityError",
            **{**base, "version": 2},
            blob=hx(blob),
            blob_id=blob_id,
        ),
        neg(
            "other file id (AD)",
            "open_manifest",
            "IntegrityError",
            **{**base, "file_id": hx(other)},
            blob=hx(blob),
            blob_id=blob_id,
        ),
        neg(
            "other version's blob (splice)",
            "open_manifest",
            "IntegrityError",
            **base,
            blob=hx(built[2][1]),
            blob_id=built[2][2],
        ),
        neg(
            "wrong file key",
            "open_manifest",
            "IntegrityError",
            **{**base, "file_key": hx(built[2][3])},
            blob=hx(blob),
            blob_id=blob_id,
        ),
        neg(
            "reordered chunks",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(head + e[1] + e[0] + e[2]),
        ),
        neg(
            "dropped last chunk, count fixed",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(plain[:64] + struct.pack(">I", 2) + e[0] + e[1]),
        ),
        neg(
            "dropped last chunk, count and size fixed",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(
                plain[:12]
                + struct.pack(">Q", 1200)
                + plain[28:64]
                + struct.pack(">I", 2)
                + e[0]
                + e[1]
            ),
        ),
        neg(
            "count says 4, 3 entries",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(plain[:64] + struct.pack(">I", 4) + entries),
        ),
        neg(
            "trailing byte", "open_manifest", "IntegrityError", **base, **resealed(plain + b"\x00")
        ),
        neg(
            "size field off by one",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(plain[:12] + struct.pack(">Q", 1501) + plain[28:]),
        ),
        neg(
            "zero-size chunk entry",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(head + e[0] + e[1] + e[2][:96] + struct.pack(">I", 0)),
        ),
        neg(
            "plaintext magic VMF3",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(b"VMF3" + plain[4:]),
        ),
        neg(
            "a chunk list under the inline magic VMF2",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(b"VMF2" + plain[4:]),
        ),
        neg(
            "inner file id differs from AD",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(swapped_head + entries),
        ),
        neg(
            "inner version differs from AD",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(plain[:20] + struct.pack(">I", 2) + plain[24:]),
        ),
    ]
    # inline (VMF2) rejects: sealed under the file key of version 1 for the AD of version 1
    ihead = b"VMF2" + FILE_ID + struct.pack(">I", 1)

    def inl(size: int, body: bytes, content: bytes | None = None) -> JSON:
        h = content or manifest.content_hash(len(body), [hashlib.sha256(body).digest()])
        return resealed(ihead + struct.pack(">Q", size) + h + body)

    big = det("file/inline-big", 65537)
    negative += [
        neg("inline: size 0", "open_manifest", "IntegrityError", **base, **inl(0, b"")),
        neg(
            "inline: 65537 bytes",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(65537, big),
        ),
        neg(
            "inline: trailing byte",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(1000, data + b"\x00", inline.content),
        ),
        neg(
            "inline: truncated",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(1000, data[:-1], inline.content),
        ),
        neg(
            "inline: size field off by one",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(999, data),
        ),
        neg(
            "inline: flipped data byte",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(1000, flip(data, 10), inline.content),
        ),
        neg(
            "inline: content hash of the chunk list form with no chunks",
            "open_manifest",
            "IntegrityError",
            **base,
            **inl(1000, data, manifest.content_hash(1000, [])),
        ),
        neg(
            "inline: inner version differs from AD",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(iplain),
        ),
        neg(
            "inline: inner file id differs from AD",
            "open_manifest",
            "IntegrityError",
            **base,
            **resealed(b"VMF2" + other + struct.pack(">I", 1) + iplain[24:]),
        ),
    ]
    return vector_file(
        "manifest",
        "Manifests",
        "file manifests: plaintext layout, blob, blob id (a 3-chunk file, an empty file and "
        "a 1000-byte file inline)",
        positive=positive,
        negative=negative,
    )


# -- records and the log -------------------------------------------------------------------


def record_ad(handle: str, seq: int, device_id: str) -> bytes:
    return b"vault.v1/record\x00" + canonical_json(
        {"device": device_id, "handle": handle, "seq": seq}
    )


def sign_message(entry: log.LogEntry) -> bytes:
    return b"vault.v1/log-entry\x00" + canonical_json(entry.unsigned())


def genesis(handle: str) -> bytes:
    return hashlib.sha256(b"vault.v1/log-genesis\x00" + handle.encode()).digest()


class ChainBuilder:
    def __init__(self, w: World, name: str) -> None:
        self.w = w
        self.name = name
        self.seq = 0
        self.head = genesis(HANDLE)
        self.entries: list[log.LogEntry] = []
        self.cases: list[JSON] = []

    def add(self, tag: str, record: log.Record, time: int) -> log.LogEntry:
        dev_id, _, sk, _ = self.w.devices[tag]
        seq = self.seq + 1
        nonce = det(f"log/{self.name}/nonce/{seq}", 24)
        e = log.make_entry(
            handle=HANDLE,
            record_key=self.w.vk.record_key,
            device_id=dev_id,
            device_sk=sk,
            seq=seq,
            prev=self.head,
            time=time,
            record=record,
            nonce=nonce,
        )
        plain = canonical_json(record.to_json())
        ad = record_ad(HANDLE, seq, dev_id)
        assert e.rec == b"VR1" + nonce + _crypto.aead_encrypt(
            self.w.vk.record_key, nonce, plain, ad
        )
        entry_bytes = e.encode()
        assert e.hash() == hashlib.sha256(b"vault.v1/log-hash\x00" + entry_bytes).digest()
        self.cases.append(
            {
                "seq": seq,
                "device": dev_id,
                "time": time,
                "prev": hx(self.head),
                "record_text": plain.decode(),
                "record_ad": hx(ad),
                "nonce": hx(nonce),
                "rec": hx(e.rec),
                "unsigned_text": canonical_json(e.unsigned()).decode(),
                "sign_message": hx(sign_message(e)),
                "sig": hx(e.sig),
                "entry_text": entry_bytes.decode(),
                "hash": hx(e.hash()),
            }
        )
        self.entries.append(e)
        self.seq = seq
        self.head = e.hash()
        return e


def custom_entry(
    w: World,
    *,
    tag: str,
    seq: int,
    prev: bytes,
    record_obj: Any,
    ad_seq: int | None = None,
    record_key: bytes | None = None,
    signer_sk: bytes | None = None,
    nonce_label: str,
    time: int = T0 + 500,
) -> log.LogEntry:
    """An entry built by hand, to break exactly one rule."""
    dev_id, _, sk, _ = w.devices[tag]
    nonce = det(nonce_label, 24)
    plain = record_obj if isinstance(record_obj, bytes) else canonical_json(record_obj)
    ad = record_ad(HANDLE, seq if ad_seq is None else ad_seq, dev_id)
    rec = b"VR1" + nonce + _crypto.aead_encrypt(record_key or w.vk.record_key, nonce, plain, ad)
    e = log.LogEntry(seq=seq, prev=prev, device_id=dev_id, time=time, rec=rec, sig=b"")
    return replace(e, sig=_crypto.sign(signer_sk or sk, sign_message(e)))


def file_record(w: World, version: int) -> log.FileRecord:
    if version == 1:
        data, refs = file_chunks(w)
        m = manifest.Manifest.build(FILE_ID, 1, refs)
        blob_id, _ = manifest.seal_manifest(m, det("file/key/1"), det("manifest/nonce/1", 24))
        return log.FileRecord(
            file_id=hx(FILE_ID),
            version=1,
            path=FILE_PATH,
            deleted=False,
            size=len(data),
            mtime=(T0 + 100) * 1000,
            content=m.content,
            manifest=blob_id,
            key=det("file/key/1"),
            doc_type="birth-certificate",
        )
    return log.FileRecord(
        file_id=hx(FILE_ID), version=version, path=FILE_PATH, deleted=True, mtime=(T0 + 200) * 1000
    )


def build_log(w: World) -> JSON:
    a_id, _, _, a_cert = w.devices["a"]
    b_id, _, _, b_cert = w.devices["b"]
    dev_a = log.DeviceRecord("device", a_id, a_cert.encode())
    dev_b = log.DeviceRecord("device", b_id, b_cert.encode())
    # Chain "main": device record, a file, a tombstone.
    main = ChainBuilder(w, "main")
    e1 = main.add("a", dev_a, T0 + 20)
    e2 = main.add("a", file_record(w, 1), T0 + 100)
    e3 = main.add("a", file_record(w, 2), T0 + 200)
    v = log.LogVerifier(HANDLE, w.id_sign_pk, w.vk.record_key)
    for e in main.entries:
        v.feed(e.encode())
    state_main = v.state()
    # Chain "revoke": device a, device b enrols itself, a revokes b.
    rv = ChainBuilder(w, "revoke")
    rv.add("a", dev_a, T0 + 20)
    rv.add("b", dev_b, T0 + 30)
    rv.add("a", log.DeviceRecord("revoke", b_id), T0 + 40)
    v2 = log.LogVerifier(HANDLE, w.id_sign_pk, w.vk.record_key)
    for e in rv.entries:
        v2.feed(e.encode())
    state_revoke = v2.state()
    v1 = log.LogVerifier(HANDLE, w.id_sign_pk, w.vk.record_key)
    v1.feed(e1.encode())
    v1.feed(e2.encode())
    state_after_2 = v1.state()

    def t(e: log.LogEntry) -> str:
        return e.encode().decode()

    rec1 = file_record(w, 1).to_json()
    # A fork: an alternative seq-2 entry, and a seq-3 entry on top of it.
    e2_fork = custom_entry(
        w,
        tag="a",
        seq=2,
        prev=e1.hash(),
        record_obj={**rec1, "path": "Autre.pdf"},
        nonce_label="log/fork/2",
    )
    e3_fork = custom_entry(
        w,
        tag="a",
        seq=3,
        prev=e2_fork.hash(),
        record_obj=file_record(w, 2).to_json(),
        nonce_label="log/fork/3",
    )
    e3_prev1 = custom_entry(
        w,
        tag="a",
        seq=3,
        prev=e1.hash(),
        record_obj=file_record(w, 2).to_json(),
        nonce_label="log/prev1/3",
    )
    c_id = det("jean/device-c/id", 16).hex()
    c_pk, c_sk = keys.device_keypair(det("jean/device-c/seed"))
    _, server_sk = keys.device_keypair(det("server/forged-identity"))
    forged_cert = keys.DeviceCert(
        HANDLE,
        c_id,
        "injected",
        c_pk,
        T0,
        _crypto.sign(
            server_sk,
            b"vault.v1/device-cert\x00"
            + canonical_json(
                {
                    "created": T0,
                    "device": c_id,
                    "handle": HANDLE,
                    "name": "injected",
                    "sign_pk": b64u(c_pk),
                }
            ),
        ),
    )
    genuine_c = keys.DeviceCert.issue(w.bundle, c_id, "C", c_pk, T0)
    w.devices["c"] = (c_id, c_pk, c_sk, genuine_c)
    other_vault = keys.new_bundle(HANDLE, det("other-vault/bundle", 96), T0)
    rec_v = dict(json.loads(canonical_json(dev_a.to_json())))
    negative = [
        neg("dropped entry", "verify_chain", "IntegrityError", entries=[t(e1), t(e3)], accepted=1),
        neg(
            "reordered entries",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e3), t(e2)],
            accepted=1,
        ),
        neg(
            "replayed entry",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2), t(e2)],
            accepted=2,
        ),
        neg(
            "replayed first entry",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e1)],
            accepted=1,
        ),
        neg(
            "forked prev (points two back)",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2), t(e3_prev1)],
            accepted=2,
        ),
        neg(
            "fork seen from a saved high-water mark",
            "verify_chain",
            "IntegrityError",
            start_state=state_after_2,
            entries=[t(e3_fork)],
            accepted=0,
        ),
        neg(
            "other branch replacing a seen entry",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2), t(e2_fork)],
            accepted=2,
        ),
        neg(
            "first entry missing (starts at seq 2)",
            "verify_chain",
            "IntegrityError",
            entries=[t(e2)],
            accepted=0,
        ),
        neg(
            "first entry is not a device record",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=1,
                        prev=genesis(HANDLE),
                        record_obj=rec1,
                        nonce_label="log/nodev/1",
                    )
                )
            ],
            accepted=0,
        ),
        neg(
            "entry by an unknown device",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="c",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=rec1,
                        nonce_label="log/unknown/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "injected device record (certificate not by the identity key)",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="c",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=log.DeviceRecord("device", c_id, forged_cert.encode()).to_json(),
                        nonce_label="log/inject/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "device record for another device",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=log.DeviceRecord("device", c_id, genuine_c.encode()).to_json(),
                        nonce_label="log/otherdev/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "device record whose certificate names another device",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="c",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=log.DeviceRecord("device", c_id, b_cert.encode()).to_json(),
                        nonce_label="log/certmix/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "re-enrolment of a known device with another key",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        signer_sk=c_sk,
                        record_obj=log.DeviceRecord(
                            "device",
                            a_id,
                            keys.DeviceCert.issue(w.bundle, a_id, "swap", c_pk, T0).encode(),
                        ).to_json(),
                        nonce_label="log/rekey/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "entry by a revoked device",
            "verify_chain",
            "IntegrityError",
            entries=[t(e) for e in rv.entries]
            + [
                t(
                    custom_entry(
                        w,
                        tag="b",
                        seq=4,
                        prev=rv.head,
                        record_obj=rec1,
                        nonce_label="log/revoked/4",
                    )
                )
            ],
            accepted=3,
        ),
        neg(
            "revoked device re-enrolling",
            "verify_chain",
            "IntegrityError",
            entries=[t(e) for e in rv.entries]
            + [
                t(
                    custom_entry(
                        w,
                        tag="b",
                        seq=4,
                        prev=rv.head,
                        record_obj=dev_b.to_json(),
                        nonce_label="log/reenrol/4",
                    )
                )
            ],
            accepted=3,
        ),
        neg(
            "revoking an unknown device",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=log.DeviceRecord("revoke", c_id).to_json(),
                        nonce_label="log/revunknown/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "record encrypted for another seq (AD)",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=rec1,
                        ad_seq=3,
                        nonce_label="log/adseq/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "record under another vault's record key",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj=rec1,
                        record_key=other_vault.vault_keys.record_key,
                        nonce_label="log/otherkey/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "record with a traversal path",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj={**rec1, "path": "../x"},
                        nonce_label="log/traversal/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "record of unknown kind",
            "verify_chain",
            "IntegrityError",
            entries=[
                t(e1),
                t(
                    custom_entry(
                        w,
                        tag="a",
                        seq=2,
                        prev=e1.hash(),
                        record_obj={**rec_v, "kind": "admin"},
                        nonce_label="log/kind/2",
                    )
                ),
            ],
            accepted=1,
        ),
        neg(
            "flipped signature",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(replace(e2, sig=flip(e2.sig, 7)))],
            accepted=1,
        ),
        neg(
            "flipped record ciphertext",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(replace(e2, rec=flip(e2.rec, 60)))],
            accepted=1,
        ),
        neg(
            "other time, same signature",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(replace(e2, time=e2.time + 1))],
            accepted=1,
        ),
        neg(
            "other device id, same signature",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(replace(e2, device_id=b_id))],
            accepted=1,
        ),
        neg(
            "signature missing",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), canonical_json(e2.unsigned()).decode()],
            accepted=1,
        ),
        neg(
            "extra field",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), canonical_json({**json.loads(e2.encode()), "x": 1}).decode()],
            accepted=1,
        ),
        neg(
            "format version 2",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), canonical_json({**json.loads(e2.encode()), "v": 2}).decode()],
            accepted=1,
        ),
        neg(
            "format version true",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2).replace('"v":1', '"v":true')],
            accepted=1,
        ),
        neg(
            "non-canonical JSON (space)",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2).replace(",", ", ", 1)],
            accepted=1,
        ),
        neg(
            "non-canonical base64 in sig",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), _noncanonical_sig(t(e2))],
            accepted=1,
        ),
        neg(
            "truncated entry",
            "verify_chain",
            "IntegrityError",
            entries=[t(e1), t(e2)[:-1]],
            accepted=1,
        ),
        neg(
            "log of another account (genesis)",
            "verify_chain",
            "IntegrityError",
            handle="jeanne",
            entries=[t(e1)],
            accepted=0,
        ),
        neg(
            "rollback: server head below the high-water mark",
            "check_head",
            "RollbackError",
            server_head=2,
            seen_seq=3,
        ),
    ]
    return vector_file(
        "log",
        "Log",
        "file/device/revoke records, signed hash-chained log entries and their verification",
        context={
            "handle": HANDLE,
            "identity_sign_pk": hx(w.id_sign_pk),
            "record_key": hx(w.vk.record_key),
            "genesis": hx(genesis(HANDLE)),
        },
        positive=[
            {"op": "chain", "name": "main", "entries": main.cases, "final_state": state_main},
            {"op": "chain", "name": "revoke", "entries": rv.cases, "final_state": state_revoke},
            {"op": "check_head", "server_head": 3, "seen_seq": 3},
        ],
        negative=negative,
    )


B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _set_low_bit(char: str) -> str:
    """Set an unused trailing bit of the last base64url character (32 or 64 bytes)."""
    return B64U_ALPHABET[B64U_ALPHABET.index(char) | 1]


def _noncanonical_sig(entry_text: str) -> str:
    obj = json.loads(entry_text)
    sig = obj["sig"]
    # 64 bytes -> 86 chars with 4 unused bits in the last one: set one of them.
    obj["sig"] = sig[:-1] + _set_low_bit(sig[-1])
    return canonical_json(obj).decode()


def build_paths() -> JSON:
    ok = [
        "a",
        "Papiers/Acte de naissance.pdf",
        "é/ü/日本語.txt",
        ".hidden",
        "a..b",
        "a b/c d",
        "x" * 255,
    ]
    bad = [
        ("empty", ""),
        ("dot", "."),
        ("dot-dot", ".."),
        ("dot-dot inside", "a/../b"),
        ("dot-dot at the end", "a/.."),
        ("dot inside", "a/./b"),
        ("absolute", "/etc/passwd"),
        ("empty part", "a//b"),
        ("trailing slash", "a/"),
        ("backslash", "a\\b"),
        ("backslash traversal", "..\\x"),
        ("NUL", "a\x00b"),
        ("control character", "a\nb"),
        ("drive letter", "C:/Windows"),
        ("drive-relative", "C:x"),
        ("longer than 4096 bytes", "a/" * 2048 + "a"),
        ("name over 255 bytes", "x" * 256),
        ("only dots", "..."),
        ("dot-dot-space (Windows strips it)", ".. /x"),
        ("trailing dot", "avis."),
        ("trailing space", "avis "),
        ("colon (alternate data stream)", "a/b:c"),
        ("reserved device name", "CON"),
        ("reserved device name with extension", "dossier/nul.txt"),
        ("bidi override", "facture\u202etxt.exe"),
    ]
    return vector_file(
        "paths",
        "File records",
        "vault paths a client accepts and refuses (before a decrypted name reaches a file system)",
        positive=[{"op": "check_path", "path": p} for p in ok],
        negative=[neg(name, "check_path", "FormatError", path=p) for name, p in bad],
    )


# -- sealing, grants -----------------------------------------------------------------------


def seal_case(
    recipient_sk: bytes, ephemeral: bytes, message: bytes, ad: bytes
) -> tuple[bytes, JSON]:
    import nacl.bindings as sodium  # to show the raw X25519 output, an intermediate value

    rpk = _crypto.box_keypair(recipient_sk)[0]
    epk = _crypto.box_keypair(ephemeral)[0]
    shared = bytes(sodium.crypto_scalarmult(ephemeral, rpk))
    key_input = b"vault.v1/seal" + epk + rpk
    key = hashlib.blake2b(key_input, key=shared, digest_size=32).digest()
    sealed = _crypto.seal(rpk, ephemeral, message, ad)
    assert sealed == epk + _crypto.aead_encrypt(key, bytes(24), message, ad)
    return sealed, {
        "recipient_sk": hx(recipient_sk),
        "recipient_pk": hx(rpk),
        "ephemeral_sk": hx(ephemeral),
        "ephemeral_pk": hx(epk),
        "shared": hx(shared),
        "key_input": hx(key_input),
        "key": hx(key),
        "nonce": hx(bytes(24)),
        "ad": hx(ad),
        "message": hx(message),
        "sealed": hx(sealed),
    }


def build_seal(w: World) -> JSON:
    ad = b"vault.v1/test-seal\x00ad"
    sealed, case = seal_case(
        w.grantee.identity_box_secret, det("seal/ephemeral"), b"a sealed message", ad
    )
    base = {"recipient_sk": case["recipient_sk"], "ad": hx(ad)}
    negative = [
        neg(
            "flipped ephemeral key",
            "seal_open",
            "IntegrityError",
            **base,
            sealed=hx(flip(sealed, 0)),
        ),
        neg(
            "flipped ciphertext", "seal_open", "IntegrityError", **base, sealed=hx(flip(sealed, 33))
        ),
        neg("flipped tag", "seal_open", "IntegrityError", **base, sealed=hx(flip(sealed, -1))),
        neg(
            "truncated below 48 bytes",
            "seal_open",
            "IntegrityError",
            **base,
            sealed=hx(sealed[:47]),
        ),
        neg("extended", "seal_open", "IntegrityError", **base, sealed=hx(sealed + b"\x00")),
        neg(
            "other AD",
            "seal_open",
            "IntegrityError",
            **{**base, "ad": hx(ad + b"x")},
            sealed=hx(sealed),
        ),
        neg(
            "other recipient",
            "seal_open",
            "IntegrityError",
            **{**base, "recipient_sk": hx(w.bundle.identity_box_secret)},
            sealed=hx(sealed),
        ),
    ]
    for h in X25519_LOW_ORDER:
        negative.append(
            neg(
                "low-order ephemeral key",
                "seal_open",
                "IntegrityError",
                **base,
                sealed=h + hx(sealed[32:]),
            )
        )
    negative.append(
        neg(
            "sealing to a low-order recipient key",
            "seal",
            "IntegrityError",
            recipient_pk=X25519_LOW_ORDER[2],
            ephemeral_sk=hx(det("seal/ephemeral")),
            message=hx(b"x"),
            ad=hx(ad),
        )
    )
    return vector_file(
        "seal",
        "Primitives",
        "the sealing construction (anonymous X25519 + BLAKE2b + XChaCha20-Poly1305, zero nonce)",
        positive=[{"op": "seal", **case}],
        negative=negative,
    )


def grant_item(w: World) -> grants.GrantItem:
    rec = file_record(w, 1)
    return grants.GrantItem(
        name="Acte de naissance.pdf",
        file_id=rec.file_id,
        version=rec.version,
        size=rec.size,
        mtime=rec.mtime,
        content=rec.content,
        manifest=rec.manifest,
        key=rec.key,
        doc_type=rec.doc_type,
    )


def payload_case(
    w: World, header: grants.GrantHeader, grant_key: bytes, label: str
) -> tuple[bytes, JSON]:
    payload = grants.GrantPayload(
        header.grant_id, 1, ("Papiers/Acte de naissance.pdf",), (grant_item(w),)
    )
    nonce = det(f"grant/{label}/payload-nonce", 24)
    sealed = grants.seal_payload(header, payload, grant_key, w.id_sign_sk, nonce)
    hb = header.encode()
    pt = canonical_json(payload.to_json())
    ad = b"vault.v1/grant-payload\x00" + hashlib.sha256(hb).digest()
    ct = _crypto.aead_encrypt(grant_key, nonce, pt, ad)
    msg = b"vault.v1/grant\x00" + hashlib.sha256(hb).digest() + nonce + ct
    assert sealed == b"VG1" + _crypto.sign(w.id_sign_sk, msg) + nonce + ct
    return sealed, {
        "grant_id": header.grant_id,
        "grant_key": hx(grant_key),
        "owner_sign_pk": hx(w.id_sign_pk),
        "header_text": hb.decode(),
        "header_sha256": hx(hashlib.sha256(hb).digest()),
        "payload_text": pt.decode(),
        "nonce": hx(nonce),
        "ad": hx(ad),
        "ciphertext": hx(ct),
        "sig_message": hx(msg),
        "sig": hx(sealed[3:67]),
        "sealed": hx(sealed),
        "sealed_b64u": b64u(sealed),
    }


def build_grant(w: World) -> JSON:
    positive: list[JSON] = []
    # Link secrets.
    secret = det("grant/link/secret")
    gid_link = det("grant/link/id", 16).hex()
    ls = grants.link_secrets(secret)
    assert ls.grant_key == _crypto.kdf(secret, "vault.v1/grant-key")
    link = grants.format_link(SERVER, gid_link, secret)
    positive.append(
        {
            "op": "link",
            "server": SERVER,
            "grant_id": gid_link,
            "secret": hx(secret),
            "link": link,
            "password": None,
            "grant_key": hx(ls.grant_key),
            "access_token": hx(ls.access_token),
            "access_hash": hx(grants.access_hash(ls.access_token)),
        }
    )
    secret_pw = det("grant/pwlink/secret")
    gid_pw = det("grant/pwlink/id", 16).hex()
    lpw = grants.link_secrets(secret_pw, LINK_PASSWORD)
    pw_salt = _crypto.kdf(secret_pw, "vault.v1/grant-pw-salt", 16)
    pw_key = _crypto.argon2id(
        LINK_PASSWORD.encode(), pw_salt, grants.GRANT_PW_M_KIB, grants.GRANT_PW_T, 1
    )
    base = _crypto.kdf(secret_pw + pw_key, "vault.v1/grant-password")
    assert lpw.grant_key == _crypto.kdf(base, "vault.v1/grant-key")
    positive.append(
        {
            "op": "link",
            "server": SERVER,
            "grant_id": gid_pw,
            "secret": hx(secret_pw),
            "link": grants.format_link(SERVER, gid_pw, secret_pw),
            "password": LINK_PASSWORD,
            "password_utf8": hx(LINK_PASSWORD.encode()),
            "pw_salt": hx(pw_salt),
            "pw_argon2id": {"m_kib": grants.GRANT_PW_M_KIB, "t": grants.GRANT_PW_T, "p": 1},
            "pw_key": hx(pw_key),
            "base": hx(base),
            "grant_key": hx(lpw.grant_key),
            "access_token": hx(lpw.access_token),
            "access_hash": hx(grants.access_hash(lpw.access_token)),
        }
    )

    # Headers and payloads.
    def header(
        gid: str, kind: str, password: bool, to: str | None, to_box: bytes | None
    ) -> grants.GrantHeader:
        return grants.GrantHeader(
            grant_id=gid,
            owner=HANDLE,
            owner_sign_pk=w.id_sign_pk,
            kind=kind,
            to=to,
            to_box_pk=to_box,
            expires=T0 + 7 * DAY,
            max_uses=5 if kind == "link" else None,
            password=password,
            created=T0 + 300,
        )

    h_link = header(gid_link, "link", False, None, None)
    sealed_link, case_link = payload_case(w, h_link, ls.grant_key, "link")
    positive.append({"op": "open_payload", "name": "link", **case_link})
    h_pw = header(gid_pw, "link", True, None, None)
    sealed_pw, case_pw = payload_case(w, h_pw, lpw.grant_key, "pwlink")
    positive.append({"op": "open_payload", "name": "password link", **case_pw})
    gid_acc = det("grant/account/id", 16).hex()
    acc_key = det("grant/account/key")
    h_acc = header(gid_acc, "account", False, GRANTEE, w.grantee_identity.box_pk)
    _, case_acc = payload_case(w, h_acc, acc_key, "account")
    positive.append(
        {
            "op": "open_payload",
            "name": "account",
            "pinned_owner_sign_pk": hx(w.id_sign_pk),
            **case_acc,
        }
    )
    key_ad = b"vault.v1/grant-key\x00" + gid_acc.encode()
    sealed_key, seal_detail = seal_case(
        w.grantee.identity_box_secret, det("grant/account/ephemeral"), acc_key, key_ad
    )
    assert sealed_key == grants.seal_grant_key(
        w.grantee_identity.box_pk, acc_key, gid_acc, det("grant/account/ephemeral")
    )
    positive.append({"op": "open_grant_key", "grant_id": gid_acc, **seal_detail})

    hb_link = h_link.encode()
    pl = {"grant_id": gid_link, "grant_key": hx(ls.grant_key), "header_text": hb_link.decode()}
    # A forged account grant: the server seals its own key to the grantee, signs with its own.
    srv_pk, srv_sk = keys.device_keypair(det("server/forged-identity"))
    h_forged = replace(h_acc, owner_sign_pk=srv_pk)
    forged_payload = grants.GrantPayload(gid_acc, 1, ("x",), (grant_item(w),))
    forged = grants.seal_payload(
        h_forged, forged_payload, acc_key, srv_sk, det("grant/forged/nonce", 24)
    )
    link_obj = json.loads(hb_link)
    noncanon_secret = link[:-1] + _set_low_bit(link[-1])
    negative = [
        neg(
            "password-less open of a password link",
            "open_payload",
            "IntegrityError",
            grant_id=gid_pw,
            grant_key=hx(grants.link_secrets(secret_pw).grant_key),
            header_text=h_pw.encode().decode(),
            sealed=hx(sealed_pw),
        ),
        neg(
            "wrong password",
            "open_payload",
            "IntegrityError",
            grant_id=gid_pw,
            grant_key=hx(grants.link_secrets(secret_pw, "sesame 42").grant_key),
            header_text=h_pw.encode().decode(),
            sealed=hx(sealed_pw),
        ),
        neg(
            "flipped signature",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 10)),
        ),
        neg(
            "flipped nonce",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 70)),
        ),
        neg(
            "flipped ciphertext",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 120)),
        ),
        neg(
            "flipped tag", "open_payload", "IntegrityError", **pl, sealed=hx(flip(sealed_link, -1))
        ),
        neg(
            "flipped magic", "open_payload", "IntegrityError", **pl, sealed=hx(flip(sealed_link, 0))
        ),
        neg("truncated", "open_payload", "IntegrityError", **pl, sealed=hx(sealed_link[:-1])),
        neg("extended", "open_payload", "IntegrityError", **pl, sealed=hx(sealed_link + b"\x00")),
        neg(
            "opened as another grant id",
            "open_payload",
            "IntegrityError",
            **{**pl, "grant_id": gid_pw},
            sealed=hx(sealed_link),
        ),
        neg(
            "header with a later expiry",
            "open_payload",
            "IntegrityError",
            **{
                **pl,
                "header_text": canonical_json(
                    {**link_obj, "expires": link_obj["expires"] + DAY}
                ).decode(),
            },
            sealed=hx(sealed_link),
        ),
        neg(
            "header with more uses",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": canonical_json({**link_obj, "max_uses": None}).decode()},
            sealed=hx(sealed_link),
        ),
        neg(
            "non-canonical header",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": json.dumps(link_obj, sort_keys=True)},
            sealed=hx(sealed_link),
        ),
        neg(
            "header version 2",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": canonical_json({**link_obj, "v": 2}).decode()},
            sealed=hx(sealed_link),
        ),
        neg(
            "payload of another grant (splice)",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(sealed_pw),
        ),
        neg(
            "forged account grant: signer is not the pinned owner",
            "open_payload",
            "IntegrityError",
            grant_id=gid_acc,
            grant_key=hx(acc_key),
            header_text=h_forged.encode().decode(),
            pinned_owner_sign_pk=hx(w.id_sign_pk),
            sealed=hx(forged),
        ),
        neg(
            "grant key sealed for another grant id",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_link,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=hx(sealed_key),
        ),
        neg(
            "grant key opened by another account",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.bundle.identity_box_secret),
            sealed=hx(sealed_key),
        ),
        neg(
            "grant key with a low-order ephemeral key",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=X25519_LOW_ORDER[3] + hx(sealed_key[32:]),
        ),
        neg(
            "grant key flipped",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=hx(flip(sealed_key, 40)),
        ),
        neg(
            "link secret in non-canonical base64",
            "parse_link",
            "IntegrityError",
            link=noncanon_secret,
        ),
        neg(
            "link secret of 31 bytes",
            "parse_link",
            "IntegrityError",
            link=grants.format_link(SERVER, gid_link, secret[:31]),
        ),
        neg("link secret with padding", "parse_link", "IntegrityError", link=link + "="),
        neg("link without fragment", "parse_link", "FormatError", link=link.split("#")[0]),
        neg(
            "link with an upper-case grant id",
            "parse_link",
            "FormatError",
            link=link.replace(gid_link, gid_link.upper()),
        ),
        neg(
            "link with a short grant id",
            "parse_link",
            "FormatError",
            link=link.replace(gid_link, gid_link[:30]),
        ),
    ]
    return vector_file(
        "grant",
        "Grants",
        "link secrets (with and without password), signed grant headers and payloads, sealed "
        "account-grant keys",
        positive=positive,
        negative=negative,
    )


# -- issuers, deposits, requests -----------------------------------------------------------


def build_issuer(w: World) -> JSON:
    c = w.cert
    body = canonical_json(c.body())
    msg = b"vault.v1/issuer-cert\x00" + body
    positive = [
        {
            "op": "issuer_cert",
            "authority_seed": hx(det("authority/seed")),
            "authority_pk": hx(w.auth_pk),
            "issuer_seed": hx(det("issuer/seed")),
            "issuer_pk": hx(w.iss_pk),
            "body_text": body.decode(),
            "message": hx(msg),
            "sig": hx(c.sig),
            "cert_text": c.encode().decode(),
            "trusted": [hx(w.auth_pk)],
            "now": T0,
            "usage": "deposit",
            "name": c.name,
        }
    ]
    good = json.loads(c.encode())
    base = {"trusted": [hx(w.auth_pk)], "now": T0, "usage": "deposit"}
    deposit_only = deposits.IssuerCert.issue(
        w.auth_sk, w.auth_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after, ("deposit",)
    )
    self_signed = deposits.IssuerCert.issue(
        w.iss_sk, w.iss_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after
    )
    claims_authority = replace(self_signed, authority_pk=w.auth_pk)
    foreign = deposits.IssuerCert.issue(
        w.foreign_sk, w.foreign_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after
    )
    negative = [
        neg(
            "authority not pinned",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=foreign.encode().decode(),
        ),
        neg(
            "self-signed",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=self_signed.encode().decode(),
        ),
        neg(
            "claims the pinned authority, signed by the issuer",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=claims_authority.encode().decode(),
        ),
        neg(
            "expired",
            "issuer_cert",
            "IntegrityError",
            **{**base, "now": c.not_after + 1},
            cert_text=c.encode().decode(),
        ),
        neg(
            "not yet valid",
            "issuer_cert",
            "IntegrityError",
            **{**base, "now": c.not_before - 1},
            cert_text=c.encode().decode(),
        ),
        neg(
            "usage not granted",
            "issuer_cert",
            "IntegrityError",
            **{**base, "usage": "request"},
            cert_text=deposit_only.encode().decode(),
        ),
        neg(
            "renamed",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "name": "Préfecture"}}
            ).decode(),
        ),
        neg(
            "validity extended",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "not_after": c.not_after + DAY}}
            ).decode(),
        ),
        neg(
            "flipped signature",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json({**good, "sig": b64u(flip(c.sig, 1))}).decode(),
        ),
        neg(
            "version true",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json({**good, "cert": {**good["cert"], "v": True}}).decode(),
        ),
        neg(
            "validity bound as a string",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "not_before": str(c.not_before)}}
            ).decode(),
        ),
        neg(
            "other type",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "type": "device-cert"}}
            ).decode(),
        ),
    ]
    return vector_file(
        "issuer_cert",
        "Issuer certificates",
        "issuer certificates signed by a pinned authority",
        positive=positive,
        negative=negative,
    )


DOCUMENT = (
    b"%PDF-1.7\n% vault test vector document\n" + det("deposit/document-body", 300) + b"\n%%EOF\n"
)


def envelope_case(
    kind: str, item_id: str, recipient: keys.AccountBundle, meta: JSON, body: bytes, label: str
) -> tuple[bytes, JSON]:
    key = det(f"{label}/key")
    eph = det(f"{label}/ephemeral")
    nonce = det(f"{label}/nonce", 24)
    rpk = recipient.identity_box[0]
    env = deposits.seal_envelope(kind, item_id, rpk, meta, body, key, eph, nonce)
    key_ad = b"vault.v1/" + kind.encode() + b"-key\x00" + item_id.encode()
    ad = b"vault.v1/" + kind.encode() + b"\x00" + item_id.encode()
    sealed_key, seal_detail = seal_case(recipient.identity_box_secret, eph, key, key_ad)
    mj = canonical_json(meta)
    plain = struct.pack(">I", len(mj)) + mj + body
    ct = _crypto.aead_encrypt(key, nonce, plain, ad)
    assert env == b"VD1" + struct.pack(">H", len(sealed_key)) + sealed_key + nonce + ct
    return env, {
        "kind": kind,
        "id": item_id,
        "recipient_box_sk": hx(recipient.identity_box_secret),
        "recipient_box_pk": hx(rpk),
        "key": hx(key),
        "sealed_key_ad": hx(key_ad),
        "sealed_key": hx(sealed_key),
        "seal": seal_detail,
        "meta_text": mj.decode(),
        "body": hx(body),
        "plaintext": hx(plain),
        "nonce": hx(nonce),
        "ad": hx(ad),
        "envelope": hx(env),
    }


def statement(w: World, dep_id: str, **changes: Any) -> deposits.DepositStatement:
    st = deposits.DepositStatement(
        deposit_id=dep_id,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        doc_sha256=hashlib.sha256(DOCUMENT).digest(),
        doc_type="birth-certificate",
        title="Acte de naissance (copie intégrale)",
        filename="acte-de-naissance.pdf",
        issued=T0 + 3600,
        size=len(DOCUMENT),
        issuer_pk=w.iss_pk,
    )
    return replace(st, **changes)


def build_deposit(w: World) -> JSON:
    dep_id = det("deposit/id", 16).hex()
    st = statement(w, dep_id)
    proof = deposits.DepositProof.sign(st, w.iss_sk, w.cert)
    st_msg = b"vault.v1/deposit\x00" + canonical_json(st.body())
    env, case = envelope_case(
        "deposit", dep_id, w.bundle, {"proof": proof.to_json()}, DOCUMENT, "deposit"
    )
    rebuilt = deposits.build_deposit(
        statement=st,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        document=DOCUMENT,
        recipient_box_pk=w.id_box_pk,
        key=det("deposit/key"),
        ephemeral=det("deposit/ephemeral"),
        nonce=det("deposit/nonce", 24),
    )
    assert rebuilt == env
    verify = {
        "trusted": [hx(w.auth_pk)],
        "now": T0 + DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "deposit",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(st_msg),
            "statement_sig": hx(proof.sig),
            "proof_text": canonical_json(proof.to_json()).decode(),
            "document_sha256": hx(hashlib.sha256(DOCUMENT).digest()),
            **case,
            "verify": verify,
            "issuer_name": ISSUER_NAME,
        }
    ]
    rsk = hx(w.bundle.identity_box_secret)

    def dep_env(
        stmt: deposits.DepositStatement,
        doc: bytes = DOCUMENT,
        *,
        signer: bytes | None = None,
        cert: deposits.IssuerCert | None = None,
        to: keys.AccountBundle | None = None,
        label: str,
    ) -> str:
        p = deposits.DepositProof(
            stmt,
            _crypto.sign(signer or w.iss_sk, b"vault.v1/deposit\x00" + canonical_json(stmt.body())),
            cert or w.cert,
        )
        e, _ = envelope_case(
            "deposit", stmt.deposit_id, to or w.bundle, {"proof": p.to_json()}, doc, label
        )
        return hx(e)

    foreign_cert = deposits.IssuerCert.issue(
        w.foreign_sk, w.foreign_pk, w.iss_pk, ISSUER_NAME, T0 - DAY, T0 + DAY
    )
    other_iss_pk, other_iss_sk = deposits.issuer_keypair(det("issuer/other"))
    base = {"id": dep_id, "recipient_box_sk": rsk, "verify": verify}
    negative = [
        neg(
            "retargeted: Jean's deposit re-sealed to Bouchra",
            "deposit",
            "IntegrityError",
            id=dep_id,
            recipient_box_sk=hx(w.grantee.identity_box_secret),
            verify={**verify, "owner": GRANTEE, "owner_sign_pk": hx(w.grantee_identity.sign_pk)},
            envelope=dep_env(st, to=w.grantee, label="deposit/retarget"),
        ),
        neg(
            "addressed to another key of the same handle",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, to_sign_pk=w.grantee_identity.sign_pk), label="deposit/tokey"
            ),
        ),
        neg(
            "opened under another deposit id (AD)",
            "deposit",
            "IntegrityError",
            **{**base, "id": det("deposit/other-id", 16).hex()},
            envelope=hx(env),
        ),
        neg(
            "statement for another deposit id",
            "deposit",
            "IntegrityError",
            **{**base, "id": det("deposit/other-id", 16).hex()},
            envelope=_reid_envelope(w, st, det("deposit/other-id", 16).hex()),
        ),
        neg("flipped sealed key", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 40))),
        neg("flipped ciphertext", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 200))),
        neg("flipped tag", "deposit", "IntegrityError", **base, envelope=hx(flip(env, -1))),
        neg(
            "flipped length prefix", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 4))
        ),
        neg("truncated", "deposit", "IntegrityError", **base, envelope=hx(env[:-1])),
        neg("extended", "deposit", "IntegrityError", **base, envelope=hx(env + b"\x00")),
        neg(
            "document swapped",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, DOCUMENT + b" ", label="deposit/swapdoc"),
        ),
        neg(
            "signed by a key other than the certificate's",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, signer=other_iss_sk, label="deposit/othersigner"),
        ),
        neg(
            "statement names another issuer key",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issuer_pk=other_iss_pk),
                signer=other_iss_sk,
                label="deposit/otherissuer",
            ),
        ),
        neg(
            "certificate from an authority not pinned",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, cert=foreign_cert, label="deposit/foreign"),
        ),
        neg(
            "issued after the certificate expired",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issued=w.cert.not_after + 1), label="deposit/expired"
            ),
        ),
        neg(
            "issued before the certificate was valid",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issued=w.cert.not_before - 1), label="deposit/early"
            ),
        ),
        neg(
            "dated more than a day in the future",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(statement(w, dep_id, issued=T0 + 3 * DAY), label="deposit/future"),
        ),
        neg(
            "size differs from the document",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(statement(w, dep_id, size=len(DOCUMENT) + 1), label="deposit/size"),
        ),
    ]
    return vector_file(
        "deposit",
        "Deposits",
        "signed deposit statements sealed in an envelope to the recipient, and their verification",
        positive=positive,
        negative=negative,
    )


def _reid_envelope(w: World, st: deposits.DepositStatement, outer_id: str) -> str:
    """A genuine statement for deposit X sealed in an envelope for deposit Y."""
    proof = deposits.DepositProof.sign(st, w.iss_sk, w.cert)
    env, _ = envelope_case(
        "deposit", outer_id, w.bundle, {"proof": proof.to_json()}, DOCUMENT, "deposit/reid"
    )
    return hx(env)


def build_request(w: World) -> JSON:
    req_id = det("request/id", 16).hex()
    st = deposits.RequestStatement(
        request_id=req_id,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        needs=("proof-of-address", "tax-notice"),
        due=T0 + 14 * DAY,
        message="Merci de fournir un justificatif de domicile et votre avis d'imposition.",
        created=T0 + 600,
        issuer_pk=w.iss_pk,
        requester="mairie-villeurbanne",
    )
    sig = _crypto.sign(w.iss_sk, b"vault.v1/request\x00" + canonical_json(st.body()))
    meta = {"cert": w.cert.to_json(), "sig": b64u(sig), "statement": st.body()}
    env, case = envelope_case("request", req_id, w.bundle, meta, b"", "request")
    assert env == deposits.build_request(
        statement=st,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        recipient_box_pk=w.id_box_pk,
        key=det("request/key"),
        ephemeral=det("request/ephemeral"),
        nonce=det("request/nonce", 24),
    )
    verify = {
        "trusted": [hx(w.auth_pk)],
        "now": T0 + DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "request",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(b"vault.v1/request\x00" + canonical_json(st.body())),
            "statement_sig": hx(sig),
            **case,
            "verify": verify,
        }
    ]

    def req_env(
        meta2: JSON, label: str, rid: str = req_id, to: keys.AccountBundle | None = None
    ) -> str:
        return hx(envelope_case("request", rid, to or w.bundle, meta2, b"", label)[0])

    st_bob = replace(st, to=GRANTEE, to_sign_pk=w.grantee_identity.sign_pk)
    sig_bob = _crypto.sign(w.iss_sk, b"vault.v1/request\x00" + canonical_json(st_bob.body()))
    base = {"id": req_id, "recipient_box_sk": hx(w.bundle.identity_box_secret), "verify": verify}
    _, other_sk = deposits.issuer_keypair(det("issuer/other"))
    negative = [
        neg(
            "opened under another request id (AD)",
            "request",
            "IntegrityError",
            **{**base, "id": det("request/other", 16).hex()},
            envelope=hx(env),
        ),
        neg("flipped ciphertext", "request", "IntegrityError", **base, envelope=hx(flip(env, 150))),
        neg("truncated", "request", "IntegrityError", **base, envelope=hx(env[:-1])),
        neg(
            "message changed after signing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {**meta, "statement": {**st.body(), "message": "Payez 100 €"}}, "request/msg"
            ),
        ),
        neg(
            "due date moved after signing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {**meta, "statement": {**st.body(), "due": st.due - 10 * DAY}}, "request/due"
            ),
        ),
        neg(
            "signed by another key",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {
                    **meta,
                    "sig": b64u(
                        _crypto.sign(other_sk, b"vault.v1/request\x00" + canonical_json(st.body()))
                    ),
                },
                "request/othersig",
            ),
        ),
        neg(
            "addressed to another person (re-sealed)",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {"cert": w.cert.to_json(), "sig": b64u(sig_bob), "statement": st_bob.body()},
                "request/retarget",
            ),
        ),
        neg(
            "certificate not valid now",
            "request",
            "IntegrityError",
            **{**base, "verify": {**verify, "now": w.cert.not_after + 1}},
            envelope=hx(env),
        ),
        neg(
            "certificate from an authority not pinned",
            "request",
            "IntegrityError",
            **{**base, "verify": {**verify, "trusted": [hx(w.foreign_pk)]}},
            envelope=hx(env),
        ),
        neg(
            "statement for another request id",
            "request",
            "IntegrityError",
            **{**base, "id": det("request/other", 16).hex()},
            envelope=req_env(meta, "request/reid", rid=det("request/other", 16).hex()),
        ),
        neg(
            "signature field missing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env({k: v for k, v in meta.items() if k != "sig"}, "request/nosig"),
        ),
        neg(
            "signature field not base64url",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env({**meta, "sig": "!"}, "request/badsig"),
        ),
    ]
    return vector_file(
        "request",
        "Requests",
        "signed document requests sealed to the recipient, and their verification",
        positive=positive,
        negative=negative,
    )


# -- recovery key text ---------------------------------------------------------------------


def build_recovery(w: World) -> JSON:
    rk = w.recovery_key
    text = keys.format_recovery_key(rk)
    check = hashlib.sha256(b"vault.v1/recovery-check" + rk).digest()[:2]
    compact = text.replace("-", "")
    positive = [
        {"op": "recovery_text", "recovery_key": hx(rk), "check": hx(check), "text": text},
        {"op": "parse_recovery", "text": text.lower(), "recovery_key": hx(rk)},
        {"op": "parse_recovery", "text": compact, "recovery_key": hx(rk)},
        {"op": "parse_recovery", "text": " ".join(text.split("-")) + "\n", "recovery_key": hx(rk)},
    ]
    typo = compact[:10] + ("A" if compact[10] != "A" else "B") + compact[11:]
    negative = [
        neg("one character changed (checksum)", "parse_recovery", "FormatError", text=typo),
        neg("digit 0 instead of O", "parse_recovery", "FormatError", text=compact[:-1] + "0"),
        neg("digit 1", "parse_recovery", "FormatError", text="1" + compact[1:]),
        neg("one group missing", "parse_recovery", "FormatError", text=compact[4:]),
        neg("one character too many", "parse_recovery", "FormatError", text=compact + "A"),
        neg("empty", "parse_recovery", "FormatError", text=""),
        neg("punctuation", "parse_recovery", "FormatError", text=text.replace("-", ".")),
    ]
    return vector_file(
        "recovery",
        "Recovery key",
        "printable recovery key: base32 of key || 2-byte checksum, groups of 4",
        positive=positive,
        negative=negative,
    )


# -- driver --------------------------------------------------------------------------------


def build_all() -> dict[str, JSON]:
    w = World()
    builders: list[tuple[str, Callable[[], JSON]]] = [
        ("encoding", build_encoding),
        ("kdf", lambda: build_kdf(w)),
        ("login", lambda: build_login(w)),
        ("bundle", lambda: build_bundle(w)),
        ("identity", lambda: build_identity(w)),
        ("public_keys", lambda: build_public_keys(w)),
        ("device_cert", lambda: build_device_cert(w)),
        ("chunk", lambda: build_chunk(w)),
        ("manifest", lambda: build_manifest(w)),
        ("log", lambda: build_log(w)),
        ("paths", build_paths),
        ("seal", lambda: build_seal(w)),
        ("grant", lambda: build_grant(w)),
        ("issuer_cert", lambda: build_issuer(w)),
        ("deposit", lambda: build_deposit(w)),
        ("request", lambda: build_request(w)),
        ("recovery", lambda: build_recovery(w)),
    ]
    return {name: fn() for name, fn in builders}


def render(doc: JSON) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate protocol/vectors/*.json")
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args(argv)
    docs = build_all()
    differ = []
    VECTORS_DIR.mkdir(exist_ok=True)
    for name, doc in docs.items():
        path = VECTORS_DIR / f"{name}.json"
        text = render(doc)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if differ:
        print("vectors differ: " + ", ".join(differ), file=sys.stderr)
        return 1
    if not args.check:
        print(f"wrote {len(docs)} files to {VECTORS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
