"""The key hierarchy (SPEC §Keys).

Theory of operation::

    passphrase --Argon2id(salt, m, t, p)--> root (32)
        root --kdf "vault.v1/login"--> login seed --> Ed25519 login key (server keeps the pk)
        root --kdf "vault.v1/kek"----> key-encryption key (wraps the bundle, slot "passphrase")
    recovery key (32 random) --kdf "vault.v1/recovery-login"--> Ed25519 recovery login key
                             --kdf "vault.v1/recovery-kek"----> wraps the bundle, slot "recovery"
    bundle (random, wrapped twice): identity Ed25519 seed, identity X25519 secret, vault key
        vault key --kdf "vault.v1/record-key"-> record key (file records)
                  --kdf "vault.v1/chunk-id-key"-> keyed chunk ids
                  --kdf "vault.v1/chunk-key-key"-> per-chunk keys (convergent within one vault)
                  --kdf "vault.v1/cdc-seed"-> gear-table seed of the chunker
                  --kdf "vault.v1/local-key"-> local state protection

A passphrase change re-wraps the same bundle: documents are untouched. The server only ever
sees the login public keys, the KDF parameters and salt, and the wrapped bundles.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError, WeakParameters

FORMAT_VERSION = 1
BUNDLE_MAGIC = b"VB1"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters stored with the account (server-supplied at login)."""

    salt: bytes
    m_kib: int = 64 * 1024
    t: int = 3
    p: int = 1

    def check_floor(self, max_lanes: int = 1) -> None:
        """Client-enforced floor: a server offering weaker parameters is refused.

        Lanes (``p``) split the same memory and passes across threads: they change the wall
        time, not the work per guess. Account parameters must have one lane (libsodium, and so
        the browser, computes one); a device's own profile key may use up to ``max_lanes``.
        """
        if len(self.salt) != _crypto.ARGON2_SALT_SIZE:
            raise WeakParameters("key-derivation salt has the wrong size")
        if self.salt == bytes(len(self.salt)):
            raise WeakParameters("key-derivation salt is all zero")
        if self.m_kib < _crypto.ARGON2_MIN_MEMORY_KIB or self.t < _crypto.ARGON2_MIN_PASSES:
            raise WeakParameters("the server offered key-derivation parameters below the floor")
        if (
            self.m_kib > _crypto.ARGON2_MAX_MEMORY_KIB
            or self.t > _crypto.ARGON2_MAX_PASSES
            or not 1 <= self.p <= max_lanes
        ):
            raise WeakParameters("key-derivation parameters out of range")

    def to_json(self) -> dict[str, Any]:
        return {
            "alg": "argon2id",
            "m_kib": self.m_kib,
            "p": self.p,
            "salt": b64u(self.salt),
            "t": self.t,
        }

    @classmethod
    def from_json(cls, obj: Any) -> KdfParams:
        if not isinstance(obj, dict) or obj.get("alg") != "argon2id":
            raise FormatError("kdf: unsupported algorithm")
        try:
            params = cls(
                salt=unb64u(obj["salt"], _crypto.ARGON2_SALT_SIZE, "kdf salt"),
                m_kib=_int(obj["m_kib"]),
                t=_int(obj["t"]),
                p=_int(obj["p"]),
            )
        except KeyError:
            raise FormatError("kdf: missing field") from None
        return params


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FormatError("expected an integer")
    return value


def normalize_secret(text: str) -> bytes:
    """Passphrases and link passwords are NFC-normalised UTF-8 (same text, same key)."""
    return unicodedata.normalize("NFC", text).encode("utf-8")


@dataclass(frozen=True, repr=False)
class PassphraseKeys:
    login_seed: bytes
    kek: bytes

    @property
    def login_keypair(self) -> tuple[bytes, bytes]:
        return _crypto.sign_keypair(self.login_seed)

    def __repr__(self) -> str:
        return "PassphraseKeys(<secret>)"


def derive_passphrase_keys(passphrase: str, params: KdfParams) -> PassphraseKeys:
    """Argon2id then domain-separated subkeys. Checks the floor first."""
    params.check_floor()
    root = _crypto.argon2id(
        normalize_secret(passphrase), params.salt, params.m_kib, params.t, params.p
    )
    return PassphraseKeys(
        login_seed=_crypto.kdf(root, "vault.v1/login"), kek=_crypto.kdf(root, "vault.v1/kek")
    )


@dataclass(frozen=True, repr=False)
class RecoveryKeys:
    login_seed: bytes
    kek: bytes

    @property
    def login_keypair(self) -> tuple[bytes, bytes]:
        return _crypto.sign_keypair(self.login_seed)


def derive_recovery_keys(recovery_key: bytes) -> RecoveryKeys:
    if len(recovery_key) != 32:
        raise FormatError("recovery key must be 32 bytes")
    return RecoveryKeys(
        login_seed=_crypto.kdf(recovery_key, "vault.v1/recovery-login"),
        kek=_crypto.kdf(recovery_key, "vault.v1/recovery-kek"),
    )


_RECOVERY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def format_recovery_key(recovery_key: bytes) -> str:
    """Printable form: base32 (RFC 4648, no padding) of key || 2-byte checksum, groups of 4."""
    check = _crypto.sha256(b"vault.v1/recovery-check" + recovery_key)[:2]
    text = base64.b32encode(recovery_key + check).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\n")
    if not cleaned or any(ch not in _RECOVERY_ALPHABET for ch in cleaned):
        raise FormatError("recovery key: unexpected characters")
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError:
        raise FormatError("recovery key: not valid") from None
    if len(raw) != 34:
        raise FormatError("recovery key: wrong length")
    key, check = raw[:32], raw[32:]
    if _crypto.sha256(b"vault.v1/recovery-check" + key)[:2] != check:
        raise FormatError("recovery key: checksum mismatch (typo?)")
    return key


@dataclass(frozen=True, repr=False)
class VaultKeys:
    """Keys derived from the vault key; never leave the owner's devices."""

    record_key: bytes
    chunk_id_key: bytes
    chunk_key_key: bytes
    cdc_seed: int
    local_key: bytes

    def __repr__(self) -> str:
        return "VaultKeys(<secret>)"


@dataclass(frozen=True, repr=False)
class AccountBundle:
    """The account's secret keys (SPEC §Bundle)."""

    handle: str
    identity_sign_seed: bytes
    identity_box_secret: bytes
    vault_key: bytes
    created: int = 0
    vault_keys: VaultKeys = field(init=False, compare=False)

    def __post_init__(self) -> None:
        for value in (self.identity_sign_seed, self.identity_box_secret, self.vault_key):
            if len(value) != 32 or value == bytes(32):
                raise IntegrityError()
        vk = self.vault_key
        seed = int.from_bytes(_crypto.kdf(vk, "vault.v1/cdc-seed", 16)[:8], "big") | 1
        object.__setattr__(
            self,
            "vault_keys",
            VaultKeys(
                record_key=_crypto.kdf(vk, "vault.v1/record-key"),
                chunk_id_key=_crypto.kdf(vk, "vault.v1/chunk-id-key"),
                chunk_key_key=_crypto.kdf(vk, "vault.v1/chunk-key-key"),
                cdc_seed=seed & ((1 << 63) - 1),
                local_key=_crypto.kdf(vk, "vault.v1/local-key"),
            ),
        )

    def __repr__(self) -> str:
        return f"AccountBundle(handle={self.handle!r}, <secret>)"

    @property
    def identity_sign(self) -> tuple[bytes, bytes]:
        return _crypto.sign_keypair(self.identity_sign_seed)

    @property
    def identity_box(self) -> tuple[bytes, bytes]:
        return _crypto.box_keypair(self.identity_box_secret)

    def public_identity(self) -> PublicIdentity:
        return PublicIdentity.create(self)

    def to_plain(self) -> bytes:
        return canonical_json(
            {
                "box_sk": b64u(self.identity_box_secret),
                "created": self.created,
                "handle": self.handle,
                "sign_seed": b64u(self.identity_sign_seed),
                "v": FORMAT_VERSION,
                "vault_key": b64u(self.vault_key),
            }
        )

    @classmethod
    def from_plain(cls, data: bytes) -> AccountBundle:
        try:
            obj = parse_canonical_json(data)
        except FormatError:
            raise IntegrityError() from None
        if not isinstance(obj, dict) or type(obj.get("v")) is not int or obj["v"] != 1:
            raise IntegrityError()
        try:
            return cls(
                handle=want(obj["handle"], str),
                identity_sign_seed=unb64u(obj["sign_seed"], 32),
                identity_box_secret=unb64u(obj["box_sk"], 32),
                vault_key=unb64u(obj["vault_key"], 32),
                created=_int(obj["created"]),
            )
        except (KeyError, FormatError):
            raise IntegrityError() from None


def new_bundle(handle: str, random32x3: bytes, created: int) -> AccountBundle:
    """A fresh bundle from 96 random bytes supplied by the caller."""
    if len(random32x3) != 96:
        raise ValueError("need 96 random bytes")
    return AccountBundle(
        handle=handle,
        identity_sign_seed=random32x3[:32],
        identity_box_secret=random32x3[32:64],
        vault_key=random32x3[64:],
        created=created,
    )


BUNDLE_SLOTS = ("passphrase", "recovery", "contacts")


def _bundle_ad(handle: str, slot: str) -> bytes:
    return b"vault.v1/bundle\x00" + canonical_json({"handle": handle, "slot": slot, "v": 1})


def wrap_bundle(bundle: AccountBundle, kek: bytes, slot: str, nonce: bytes) -> bytes:
    """``"VB1" || nonce(24) || AEAD(kek, nonce, bundle, AD(handle, slot))``."""
    if slot not in BUNDLE_SLOTS:
        raise ValueError("unknown slot")
    ct = _crypto.aead_encrypt(kek, nonce, bundle.to_plain(), _bundle_ad(bundle.handle, slot))
    return BUNDLE_MAGIC + nonce + ct


def unwrap_bundle(wrapped: bytes, kek: bytes, handle: str, slot: str) -> AccountBundle:
    if slot not in BUNDLE_SLOTS or len(wrapped) < 3 + 24 + 16 or wrapped[:3] != BUNDLE_MAGIC:
        raise IntegrityError()
    plain = _crypto.aead_decrypt(kek, wrapped[3:27], wrapped[27:], _bundle_ad(handle, slot))
    bundle = AccountBundle.from_plain(plain)
    if bundle.handle != handle:
        raise IntegrityError()
    return bundle


@dataclass(frozen=True)
class PublicIdentity:
    """An account's public keys, self-signed by the identity Ed25519 key."""

    handle: str
    sign_pk: bytes
    box_pk: bytes
    sig: bytes

    @staticmethod
    def _message(handle: str, sign_pk: bytes, box_pk: bytes) -> bytes:
        return b"vault.v1/identity\x00" + canonical_json(
            {"box_pk": b64u(box_pk), "handle": handle, "sign_pk": b64u(sign_pk)}
        )

    @classmethod
    def create(cls, bundle: AccountBundle) -> PublicIdentity:
        sign_pk, sign_sk = bundle.identity_sign
        box_pk, _ = bundle.identity_box
        sig = _crypto.sign(sign_sk, cls._message(bundle.handle, sign_pk, box_pk))
        return cls(bundle.handle, sign_pk, box_pk, sig)

    def verify(self) -> None:
        _crypto.check_box_pk(self.box_pk)
        _crypto.verify(
            self.sign_pk, self._message(self.handle, self.sign_pk, self.box_pk), self.sig
        )

    def fingerprint(self) -> str:
        """Human-comparable fingerprint: 25 bytes of SHA-256, 40 base32 chars in groups of 5."""
        digest = _crypto.sha256(
            b"vault.v1/fingerprint\x00" + self.handle.encode() + self.sign_pk + self.box_pk
        )[:25]
        text = base64.b32encode(digest).decode("ascii")
        return " ".join(text[i : i + 5] for i in range(0, 40, 5))

    def to_json(self) -> dict[str, str]:
        return {
            "box_pk": b64u(self.box_pk),
            "handle": self.handle,
            "sig": b64u(self.sig),
            "sign_pk": b64u(self.sign_pk),
        }

    @classmethod
    def from_json(cls, obj: Any) -> PublicIdentity:
        """Parse and verify; a bad or unsigned identity is an IntegrityError."""
        if not isinstance(obj, dict):
            raise IntegrityError()
        try:
            ident = cls(
                handle=want(obj["handle"], str),
                sign_pk=unb64u(obj["sign_pk"], 32),
                box_pk=unb64u(obj["box_pk"], 32),
                sig=unb64u(obj["sig"], 64),
            )
        except (KeyError, FormatError):
            raise IntegrityError() from None
        ident.verify()
        return ident


@dataclass(frozen=True)
class DeviceCert:
    """The identity key certifies a device's signing key (SPEC §Devices)."""

    handle: str
    device_id: str
    name: str
    sign_pk: bytes
    created: int
    sig: bytes

    @staticmethod
    def _message(handle: str, device_id: str, name: str, sign_pk: bytes, created: int) -> bytes:
        return b"vault.v1/device-cert\x00" + canonical_json(
            {
                "created": created,
                "device": device_id,
                "handle": handle,
                "name": name,
                "sign_pk": b64u(sign_pk),
            }
        )

    @classmethod
    def issue(
        cls, bundle: AccountBundle, device_id: str, name: str, sign_pk: bytes, created: int
    ) -> DeviceCert:
        _crypto.check_sign_pk(sign_pk)
        _, sk = bundle.identity_sign
        msg = cls._message(bundle.handle, device_id, name, sign_pk, created)
        return cls(bundle.handle, device_id, name, sign_pk, created, _crypto.sign(sk, msg))

    def verify(self, identity_sign_pk: bytes) -> None:
        _crypto.verify(
            identity_sign_pk,
            self._message(self.handle, self.device_id, self.name, self.sign_pk, self.created),
            self.sig,
        )

    def encode(self) -> bytes:
        return canonical_json(
            {
                "created": self.created,
                "device": self.device_id,
                "handle": self.handle,
                "name": self.name,
                "sig": b64u(self.sig),
                "sign_pk": b64u(self.sign_pk),
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> DeviceCert:
        try:
            obj = parse_canonical_json(data)
            return cls(
                handle=want(obj["handle"], str),
                device_id=want(obj["device"], str),
                name=want(obj["name"], str),
                sign_pk=unb64u(obj["sign_pk"], 32),
                created=_int(obj["created"]),
                sig=unb64u(obj["sig"], 64),
            )
        except (KeyError, TypeError, FormatError):
            raise IntegrityError() from None


def device_keypair(seed: bytes) -> tuple[bytes, bytes]:
    return _crypto.sign_keypair(seed)
