"""The only door to PyNaCl, argon2-cffi and OpenSSL's libcrypto.

Every other module calls these small functions; none imports nacl or argon2, or loads
libcrypto, itself.
Foreign exceptions are translated here: any failed authentication (AEAD tag, signature,
sealed box) raises the single opaque :class:`~vault_core.errors.IntegrityError`.
Randomness is never drawn here: callers pass the nonces and keys they got from their
I/O shell (``os.urandom`` in the client), so the core stays deterministic and testable.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
import threading
from typing import Any

import argon2.low_level as _argon2
import nacl.bindings as _b  # importing it runs sodium_init(): the fast code paths are chosen
import nacl.exceptions as _nacl_exc
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from .errors import FormatError, IntegrityError

KEY_SIZE = 32
XNONCE_SIZE = 24
TAG_SIZE = 16
SIGN_PK_SIZE = 32
SIGN_SK_SEED_SIZE = 32
SIGNATURE_SIZE = 64
BOX_PK_SIZE = 32
SEAL_OVERHEAD = 48  # ephemeral public key (32) + tag (16)

# Client-enforced Argon2id floor (SPEC §Key derivation).
ARGON2_MIN_MEMORY_KIB = 64 * 1024
ARGON2_MIN_PASSES = 3
ARGON2_MAX_MEMORY_KIB = 4 * 1024 * 1024
ARGON2_MAX_PASSES = 64
ARGON2_MAX_LANES = 16
ARGON2_SALT_SIZE = 16


def _need_len(value: bytes, size: int, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != size:
        raise FormatError(f"{what} must be {size} bytes")


# -- hashing and KDF ------------------------------------------------------------------


def sha256(data: bytes | bytearray | memoryview) -> bytes:
    return hashlib.sha256(data).digest()


def kdf(key: bytes, label: str, size: int = 32) -> bytes:
    """Domain-separated subkey: BLAKE2b(key=key, message=label, digest_size=size).

    Identical to libsodium's ``crypto_generichash(size, label, key)``.
    """
    if not label.startswith("vault.v1/"):
        raise ValueError("KDF labels must start with vault.v1/")
    if not 16 <= len(key) <= 64:
        raise FormatError("KDF key must be 16..64 bytes")
    return hashlib.blake2b(label.encode("ascii"), key=key, digest_size=size).digest()


def mac(key: bytes, data: bytes | memoryview) -> bytes:
    """HMAC-SHA-256 (keyed ids and derived per-chunk keys)."""
    return hmac.digest(key, data, "sha256")


def equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def argon2id(secret: bytes, salt: bytes, m_kib: int, t: int, p: int, size: int = 32) -> bytes:
    """Argon2id v1.3, raw output. The floor is checked by the caller (keys.KdfParams)."""
    _need_len(salt, ARGON2_SALT_SIZE, "salt")
    return _argon2.hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=t,
        memory_cost=m_kib,
        parallelism=p,
        hash_len=size,
        type=_argon2.Type.ID,
        version=19,
    )


# -- AEAD -----------------------------------------------------------------------------


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes | memoryview, ad: bytes) -> bytes:
    """XChaCha20-Poly1305-IETF; returns ciphertext || tag."""
    out = bytearray(len(plaintext) + TAG_SIZE)
    aead_encrypt_into(key, nonce, plaintext, ad, out)
    return bytes(out)


# XChaCha20-Poly1305-IETF is ChaCha20-Poly1305-IETF (RFC 8439) under the subkey
# HChaCha20(key, nonce[0:16]), with the nonce 0x00000000 || nonce[16:24]
# (draft-irtf-cfrg-xchacha, and libsodium's own construction). Messages from this size are
# encrypted that way by OpenSSL's libcrypto, whose ChaCha20-Poly1305 has AVX-512 code where
# libsodium's stops at AVX2 (3.5 against 1.4 GB/s on one core of the benchmark machine);
# smaller ones, and every decryption, go to libsodium. The bytes are the same: tests compare
# the two on every size around the switch, and each process checks one message before
# trusting libcrypto (_openssl).
OPENSSL_FROM = 32 * 1024
_OPENSSL_UPTO = 1 << 30  # EVP lengths are C ints
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
_WORDS = struct.Struct("<16I")
_INPUT = struct.Struct("<4I")
_SUBKEY = struct.Struct("<8I")
_BLOCK_ZERO = bytes(64)
_EVP_CDEF = """
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
const EVP_CIPHER *EVP_chacha20(void);
const EVP_CIPHER *EVP_chacha20_poly1305(void);
int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, void *impl,
                       const unsigned char *key, const unsigned char *iv);
int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                      const unsigned char *in, int inl);
int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
"""
_EVP_CTRL_AEAD_GET_TAG = 0x10
_LIBCRYPTO_NAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.3.dylib")


class _LibCrypto:
    """OpenSSL's libcrypto through cffi's ABI mode, which releases the GIL during each call
    (the sealing workers run in parallel with each other and the event loop). It is found by
    its usual name (on Linux, the one Python's own ``hashlib`` and ``ssl`` load, already in
    memory). One cipher context per thread."""

    def __init__(self) -> None:
        import cffi  # (PyNaCl's and argon2-cffi's own dependency)

        ffi = cffi.FFI()
        ffi.cdef(_EVP_CDEF)
        lib = None
        for name in _LIBCRYPTO_NAMES:
            try:
                lib = ffi.dlopen(name)
                break
            except OSError:
                continue
        if lib is None:
            raise OSError("no libcrypto")
        self.ffi, self.lib = ffi, lib
        self.stream, self.aead = lib.EVP_chacha20(), lib.EVP_chacha20_poly1305()
        if self.stream == ffi.NULL or self.aead == ffi.NULL:
            raise OSError("libcrypto without ChaCha20-Poly1305")
        self.local = threading.local()

    def _ctx(self) -> tuple[Any, Any]:
        local = self.local
        try:
            return local.ctx, local.outl
        except AttributeError:
            ctx = self.lib.EVP_CIPHER_CTX_new()
            if ctx == self.ffi.NULL:
                raise MemoryError("EVP_CIPHER_CTX_new") from None
            local.ctx = self.ffi.gc(ctx, self.lib.EVP_CIPHER_CTX_free)
            local.outl = self.ffi.new("int *")
            return local.ctx, local.outl

    def chacha20_block0(self, key: bytes, counter_nonce: bytes) -> bytes:
        """The first 64 bytes of ChaCha20's key stream (the 16-byte counter-and-nonce)."""
        ctx, outl = self._ctx()
        lib, ffi = self.lib, self.ffi
        block = ffi.new("unsigned char[64]")
        if (
            lib.EVP_EncryptInit_ex(ctx, self.stream, ffi.NULL, key, counter_nonce) != 1
            or lib.EVP_EncryptUpdate(ctx, block, outl, _BLOCK_ZERO, 64) != 1
            or outl[0] != 64
        ):
            raise ValueError("ChaCha20 failed")
        return bytes(ffi.buffer(block))

    def encrypt(
        self,
        key: bytes,
        nonce12: bytes,
        plaintext: bytes | bytearray | memoryview,
        ad: bytes,
        dst: bytearray | memoryview,
        offset: int,
    ) -> None:
        """ChaCha20-Poly1305-IETF; ciphertext || tag to ``dst[offset:]``."""
        ctx, outl = self._ctx()
        lib, ffi = self.lib, self.ffi
        mlen = len(plaintext)
        # ``buf`` holds ``dst``'s buffer (no resize) until the last call has written to it
        buf = ffi.from_buffer(dst, require_writable=True)
        if offset < 0 or len(buf) - offset < mlen + TAG_SIZE:
            raise ValueError("output buffer too small")
        out = buf + offset
        ok = lib.EVP_EncryptInit_ex(ctx, self.aead, ffi.NULL, key, nonce12) == 1
        if ok and ad:
            ok = lib.EVP_EncryptUpdate(ctx, ffi.NULL, outl, ad, len(ad)) == 1
        if ok and mlen:
            src = ffi.from_buffer(plaintext)
            ok = lib.EVP_EncryptUpdate(ctx, out, outl, src, mlen) == 1 and outl[0] == mlen
        ok = ok and lib.EVP_EncryptFinal_ex(ctx, out + mlen, outl) == 1 and outl[0] == 0
        ok = ok and lib.EVP_CIPHER_CTX_ctrl(ctx, _EVP_CTRL_AEAD_GET_TAG, TAG_SIZE, out + mlen) == 1
        del out, buf
        if not ok:
            raise ValueError("ChaCha20-Poly1305 failed")


@functools.cache
def _openssl() -> _LibCrypto | None:
    """libcrypto, once it gave libsodium's bytes on a known message; None (all on libsodium)
    when it did not, or cannot be loaded (no OpenSSL, a FIPS build without ChaCha20, a
    fork): ciphertext nobody could open would only show at the next download."""
    try:
        impl = _LibCrypto()
        key, nonce = bytes(range(32)), bytes(range(24))
        # the sizes it will see: a multiple of 16 or not, the largest chunk; AD or none
        for size, ad in ((OPENSSL_FROM, b"check"), (OPENSSL_FROM + 13, b""), (1 << 20, bytes(79))):
            msg = (bytes(range(251)) * (size // 251 + 1))[:size]
            ours = bytearray(size + TAG_SIZE)
            _openssl_encrypt(impl, key, nonce, msg, ad, ours, 0)
            theirs = bytearray(size + TAG_SIZE)
            aead_encrypt_into(key, nonce, msg, ad, theirs, openssl=False)
            if ours != theirs:
                return None
    except Exception:  # noqa: BLE001 (any failure of the fast path: libsodium does it all)
        return None
    return impl


def hchacha20(key: bytes, inp: bytes) -> bytes:
    """HChaCha20: the 20 ChaCha rounds on (constants, key, 16 input bytes), words 0-3 and
    12-15 of the result. A ChaCha20 block (RFC 8439: its 16-byte counter-and-nonce are the
    same state words 12-15) is that result plus the initial state, which is subtracted."""
    _need_len(key, KEY_SIZE, "key")
    _need_len(inp, 16, "HChaCha20 input")
    return _hchacha20(_LibCrypto(), key, inp)


def _hchacha20(impl: _LibCrypto, key: bytes, inp: bytes) -> bytes:
    w = _WORDS.unpack(impl.chacha20_block0(key, inp))
    i = _INPUT.unpack(inp)
    return _SUBKEY.pack(
        (w[0] - _SIGMA[0]) & 0xFFFFFFFF,
        (w[1] - _SIGMA[1]) & 0xFFFFFFFF,
        (w[2] - _SIGMA[2]) & 0xFFFFFFFF,
        (w[3] - _SIGMA[3]) & 0xFFFFFFFF,
        (w[12] - i[0]) & 0xFFFFFFFF,
        (w[13] - i[1]) & 0xFFFFFFFF,
        (w[14] - i[2]) & 0xFFFFFFFF,
        (w[15] - i[3]) & 0xFFFFFFFF,
    )


def _openssl_encrypt(
    impl: _LibCrypto,
    key: bytes,
    nonce: bytes,
    plaintext: bytes | bytearray | memoryview,
    ad: bytes,
    out: bytearray | memoryview,
    offset: int,
) -> None:
    subkey = _hchacha20(impl, bytes(key), bytes(nonce[:16]))
    impl.encrypt(subkey, b"\0\0\0\0" + bytes(nonce[16:]), plaintext, bytes(ad), out, offset)


def aead_encrypt_into(
    key: bytes,
    nonce: bytes,
    plaintext: bytes | bytearray | memoryview,
    ad: bytes,
    out: bytearray | memoryview,
    offset: int = 0,
    *,
    openssl: bool = True,
) -> int:
    """XChaCha20-Poly1305-IETF, ciphertext || tag written to ``out[offset:]``; returns its size.

    Written straight into the caller's buffer (no copy of the plaintext or of the result).
    From ``OPENSSL_FROM`` bytes by libcrypto, below (or with ``openssl=False``: the
    benchmarks' "raw libsodium", the check of libcrypto) by the libsodium function PyNaCl's
    ``crypto_aead_xchacha20poly1305_ietf_encrypt`` calls. Both through cffi, which releases
    the GIL during the call.
    """
    _need_len(key, KEY_SIZE, "key")
    _need_len(nonce, XNONCE_SIZE, "nonce")
    mlen = len(plaintext)
    if offset < 0 or len(out) - offset < mlen + TAG_SIZE:
        raise ValueError("output buffer too small")
    if openssl and OPENSSL_FROM <= mlen <= _OPENSSL_UPTO and (impl := _openssl()) is not None:
        _openssl_encrypt(impl, key, nonce, plaintext, ad, out, offset)
        return mlen + TAG_SIZE
    dst = _ffi.from_buffer(out, require_writable=True)
    src = _ffi.from_buffer(plaintext) if mlen else _ffi.NULL
    rc = _lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
        dst + offset,
        _ffi.NULL,
        src,
        mlen,
        ad if ad else _ffi.NULL,
        len(ad),
        _ffi.NULL,
        bytes(nonce),
        bytes(key),
    )
    if rc != 0:  # pragma: no cover - libsodium only fails on absurd lengths
        raise ValueError("encryption failed")
    return mlen + TAG_SIZE


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes | memoryview, ad: bytes) -> bytes:
    _need_len(key, KEY_SIZE, "key")
    if len(nonce) != XNONCE_SIZE or len(ciphertext) < TAG_SIZE:
        raise IntegrityError()
    out = bytearray(len(ciphertext) - TAG_SIZE)
    aead_decrypt_into(key, nonce, ciphertext, ad, out)
    return bytes(out)


def aead_decrypt_into(
    key: bytes,
    nonce: bytes | memoryview,
    ciphertext: bytes | bytearray | memoryview,
    ad: bytes,
    out: bytearray | memoryview,
) -> int:
    """Verify and decrypt into ``out`` (at least ``len(ciphertext) - 16`` bytes).

    On any failure ``out`` is wiped and the opaque IntegrityError raised: libsodium writes no
    plaintext before the tag is verified, and nothing unverified is ever released.
    """
    _need_len(key, KEY_SIZE, "key")
    clen = len(ciphertext)
    if len(nonce) != XNONCE_SIZE or clen < TAG_SIZE or len(out) < clen - TAG_SIZE:
        raise IntegrityError()
    try:
        dst = _ffi.from_buffer(out, require_writable=True) if clen > TAG_SIZE else _ffi.NULL
        rc = _lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
            dst,
            _ffi.NULL,
            _ffi.NULL,
            _ffi.from_buffer(ciphertext),
            clen,
            ad if ad else _ffi.NULL,
            len(ad),
            bytes(nonce),
            bytes(key),
        )
    except (TypeError, ValueError):
        raise IntegrityError() from None
    if rc != 0:
        out[: clen - TAG_SIZE] = bytes(clen - TAG_SIZE)
        raise IntegrityError()
    return clen - TAG_SIZE


# -- signatures -----------------------------------------------------------------------


def sign_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """Ed25519 key pair from a 32-byte seed: (public key, secret key 64 bytes)."""
    _need_len(seed, SIGN_SK_SEED_SIZE, "seed")
    pk, sk = _b.crypto_sign_seed_keypair(seed)
    return bytes(pk), bytes(sk)


def sign(secret_key: bytes, message: bytes) -> bytes:
    _need_len(secret_key, 64, "signing key")
    signed = _b.crypto_sign(message, secret_key)
    return bytes(signed[:SIGNATURE_SIZE])


def check_sign_pk(public_key: bytes) -> None:
    """Reject malformed, all-zero, small-order or non-canonical Ed25519 public keys."""
    if not isinstance(public_key, bytes) or len(public_key) != SIGN_PK_SIZE:
        raise IntegrityError()
    if not _valid_sign_pk(public_key):
        raise IntegrityError()


@functools.lru_cache(maxsize=1024)
def _valid_sign_pk(public_key: bytes) -> bool:
    """The point checks, remembered per key: a log verifies thousands of entries signed by the
    same few device keys (validity is a function of the 32 public bytes alone)."""
    if public_key == bytes(SIGN_PK_SIZE):
        return False
    try:
        # Conversion fails for small-order and non-canonical points.
        _b.crypto_sign_ed25519_pk_to_curve25519(public_key)
    except (_nacl_exc.CryptoError, ValueError, RuntimeError):
        return False
    return bool(_b.crypto_core_ed25519_is_valid_point(public_key))


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Strict Ed25519 verification; any failure is the opaque IntegrityError."""
    check_sign_pk(public_key)
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise IntegrityError()
    try:
        _b.crypto_sign_open(signature + message, public_key)
    except (_nacl_exc.BadSignatureError, _nacl_exc.CryptoError, ValueError, TypeError):
        raise IntegrityError() from None


# -- X25519 sealed boxes --------------------------------------------------------------


def box_keypair(secret: bytes) -> tuple[bytes, bytes]:
    """X25519 key pair from 32 secret bytes: (public key, secret key)."""
    _need_len(secret, KEY_SIZE, "secret")
    pk = _b.crypto_scalarmult_base(secret)
    return bytes(pk), bytes(secret)


def check_box_pk(public_key: bytes) -> None:
    """Reject malformed, all-zero and low-order X25519 public keys."""
    if not isinstance(public_key, bytes) or len(public_key) != BOX_PK_SIZE:
        raise IntegrityError()
    # A low-order point gives an all-zero shared secret with any scalar; libsodium's
    # scalarmult refuses it.
    try:
        _b.crypto_scalarmult(b"\x01" + bytes(31), public_key)
    except (_nacl_exc.CryptoError, ValueError, RuntimeError):
        raise IntegrityError() from None


def seal(recipient_pk: bytes, ephemeral_secret: bytes, message: bytes, ad: bytes) -> bytes:
    """Seal to an X25519 public key (SPEC §Sealing): epk || XChaCha20-Poly1305(k, 0^24, m, ad).

    ``k = BLAKE2b-256(key=X25519(esk, rpk), message="vault.v1/seal" || epk || rpk)``; the key
    is fresh for every ephemeral secret, so the fixed nonce is never reused with one key.
    """
    check_box_pk(recipient_pk)
    _need_len(ephemeral_secret, KEY_SIZE, "ephemeral secret")
    epk = bytes(_b.crypto_scalarmult_base(ephemeral_secret))
    key = _seal_key(ephemeral_secret, recipient_pk, epk, recipient_pk)
    return epk + aead_encrypt(key, bytes(XNONCE_SIZE), message, ad)


def seal_open(recipient_sk: bytes, sealed: bytes, ad: bytes) -> bytes:
    if len(sealed) < BOX_PK_SIZE + TAG_SIZE:
        raise IntegrityError()
    epk = bytes(sealed[:BOX_PK_SIZE])
    check_box_pk(epk)
    rpk = bytes(_b.crypto_scalarmult_base(recipient_sk))
    key = _seal_key(recipient_sk, epk, epk, rpk)
    return aead_decrypt(key, bytes(XNONCE_SIZE), sealed[BOX_PK_SIZE:], ad)


def _seal_key(secret: bytes, peer: bytes, epk: bytes, rpk: bytes) -> bytes:
    try:
        shared = bytes(_b.crypto_scalarmult(secret, peer))
    except (_nacl_exc.CryptoError, ValueError, RuntimeError):
        raise IntegrityError() from None
    if shared == bytes(32):
        raise IntegrityError()
    return hashlib.blake2b(b"vault.v1/seal" + epk + rpk, key=shared, digest_size=32).digest()
