"""Vectors for SPEC.md "Key hierarchy", "Passphrases and the Argon2id floor" and "Login proof".

Writes ``kdf.json`` (BLAKE2b KDF labels, raw Argon2id, passphrase keys) and ``login.json``
(login proofs, token hash).
"""

from __future__ import annotations

import hashlib

from vault_core import _crypto, keys, login
from vault_core.encoding import b64u, canonical_json

from .common import (
    HANDLE,
    HOST,
    JSON,
    PASSPHRASE,
    World,
    det,
    flip,
    hx,
    neg,
    vector_file,
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
