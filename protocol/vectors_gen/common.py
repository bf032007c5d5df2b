"""What every vector family shares: constants, deterministic inputs, the fixed world.

Also the few helpers more than one family needs: the file and its record (SPEC.md
"Manifests" and "File records"; manifest, log and grant vectors), the low-order X25519 points
(SPEC.md "Primitives"; public-key, seal and grant vectors), the non-canonical base64url
character (SPEC.md "Conventions"; identity, log and grant vectors) and the sealing case
(SPEC.md "Primitives"; seal, grant and deposit vectors).

Family modules import only this module and vault_core, never each other nor the driver.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from vault_core import _crypto, chunks, deposits, keys, log, manifest

JSON = dict[str, Any]

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


# -- the stored file (manifest, log and grant vectors) -------------------------------------

FILE_ID = det("file/id", 16)
FILE_PATH = "Papiers/Acte de naissance.pdf"


def file_chunks(w: World) -> tuple[bytes, list[chunks.ChunkRef]]:
    parts = [det(f"file/part/{i}", n) for i, n in enumerate((700, 500, 300))]
    refs = [chunks.chunk_ref(w.vk.chunk_id_key, w.vk.chunk_key_key, p) for p in parts]
    return b"".join(parts), refs


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


# -- shared by several families ------------------------------------------------------------

X25519_LOW_ORDER = (
    "0000000000000000000000000000000000000000000000000000000000000000",  # 0 (order 4)
    "0100000000000000000000000000000000000000000000000000000000000000",  # 1 (order 1)
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  # order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  # order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p-1 (order 2)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p = 0
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p+1 = 1
)

B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def set_low_bit(char: str) -> str:
    """Set an unused trailing bit of the last base64url character (32 or 64 bytes)."""
    return B64U_ALPHABET[B64U_ALPHABET.index(char) | 1]


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
