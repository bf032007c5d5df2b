"""The zero-copy AEAD calls (libsodium, and OpenSSL for large messages) give byte-for-byte what
PyNaCl's wrapper gives (issue 8)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_core import _crypto
from vault_core import chunks as chunkmod
from vault_core.errors import IntegrityError


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=24, max_size=24),
    msg=st.binary(max_size=5000),
    ad=st.binary(max_size=100),
)
def test_encrypt_matches_pynacl(key: bytes, nonce: bytes, msg: bytes, ad: bytes) -> None:
    expected = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad or None, nonce, key)
    assert _crypto.aead_encrypt(key, nonce, msg, ad) == expected
    assert _crypto.aead_encrypt(key, nonce, memoryview(msg), ad) == expected
    out = bytearray(7 + len(msg) + 16 + 5)
    n = _crypto.aead_encrypt_into(key, nonce, bytearray(msg), ad, out, 7)
    assert n == len(expected) and bytes(out[7 : 7 + n]) == expected
    assert out[:7] == bytes(7) and out[7 + n :] == bytes(5)
    assert _crypto.aead_decrypt(key, nonce, expected, ad) == msg
    assert _crypto.aead_decrypt(key, nonce, memoryview(expected), ad) == msg


@pytest.mark.parametrize("size", [0, 1, 65536, 1024 * 1024 + 3])
def test_large_and_empty(size: int) -> None:
    key, nonce, msg = os.urandom(32), os.urandom(24), os.urandom(size)
    ct = _crypto.aead_encrypt(key, nonce, msg, b"ad")
    assert ct == sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, b"ad", nonce, key)
    assert _crypto.aead_decrypt(key, nonce, ct, b"ad") == msg


def test_decrypt_failures_are_opaque_and_release_nothing() -> None:
    key, nonce = os.urandom(32), os.urandom(24)
    ct = bytearray(_crypto.aead_encrypt(key, nonce, b"secret plaintext", b"ad"))
    ct[3] ^= 1
    out = bytearray(b"\xaa" * 16)
    with pytest.raises(IntegrityError):
        _crypto.aead_decrypt_into(key, nonce, ct, b"ad", out)
    assert out == bytes(16)
    for bad in (b"", b"x" * 15, "not bytes"):
        with pytest.raises(IntegrityError):
            _crypto.aead_decrypt(key, nonce, bad, b"ad")  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        _crypto.aead_decrypt(key, nonce[:23], bytes(ct), b"ad")
    with pytest.raises(ValueError):
        _crypto.aead_encrypt_into(key, nonce, b"abc", b"", bytearray(18))


def test_seal_chunk_into_matches_seal_chunk() -> None:
    id_key, key_key = os.urandom(32), os.urandom(32)
    plain = os.urandom(100_000)
    ref = chunkmod.chunk_ref(id_key, key_key, plain)
    nonce = os.urandom(24)
    blob = chunkmod.seal_chunk(ref, plain, nonce)
    out = bytearray(10 + chunkmod.sealed_size(len(plain)))
    n = chunkmod.seal_chunk_into(ref, memoryview(plain), nonce, out, 10)
    assert n == len(blob) and bytes(out[10:]) == blob
    assert chunkmod.open_chunk(ref, blob) == plain
    assert blob[27:] == sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, b"vault.v1/chunk\x00" + bytes.fromhex(ref.id), nonce, ref.key
    )


def test_hchacha20_vector() -> None:
    # draft-irtf-cfrg-xchacha-03 §2.2.1
    key = bytes(range(32))
    inp = bytes.fromhex("000000090000004a0000000031415927")
    assert _crypto.hchacha20(key, inp).hex() == (
        "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    )


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=24, max_size=24),
    size=st.integers(_crypto.OPENSSL_FROM - 3, _crypto.OPENSSL_FROM + 300),
    ad=st.binary(max_size=100),
    offset=st.integers(0, 9),
)
def test_openssl_path_matches_libsodium(
    key: bytes, nonce: bytes, size: int, ad: bytes, offset: int
) -> None:
    # from OPENSSL_FROM bytes OpenSSL encrypts (HChaCha20 subkey + ChaCha20-Poly1305-IETF):
    # the same bytes as libsodium's XChaCha20-Poly1305-IETF, on both sides of the switch
    msg = os.urandom(size)
    expected = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad or None, nonce, key)
    out = bytearray(b"\xee" * (offset + size + 16 + 3))
    n = _crypto.aead_encrypt_into(key, nonce, memoryview(msg), ad, out, offset)
    assert n == len(expected) and bytes(out[offset : offset + n]) == expected
    assert out[:offset] == b"\xee" * offset and out[offset + n :] == b"\xee" * 3
    assert _crypto.aead_decrypt(key, nonce, expected, ad) == msg
    sodium_out = bytearray(size + 16)
    _crypto.aead_encrypt_into(key, nonce, msg, ad, sodium_out, openssl=False)
    assert sodium_out == expected


def test_openssl_is_used_only_once_it_gave_libsodiums_bytes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert _crypto._openssl() is not None  # here it does: large messages take the fast path
    real = _crypto._openssl_encrypt

    def wrong(impl, key, nonce, plaintext, ad, out, offset):  # type: ignore[no-untyped-def]
        real(impl, key, nonce, plaintext, ad, out, offset)
        out[offset] ^= 1  # a libcrypto that gets the construction wrong

    monkeypatch.setattr(_crypto, "_openssl_encrypt", wrong)
    _check_falls_back_to_libsodium()
    monkeypatch.undo()
    _crypto._openssl.cache_clear()
    assert _crypto._openssl() is not None


def test_without_libcrypto_libsodium_seals_everything(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_crypto, "_LIBCRYPTO_NAMES", ("libcrypto-that-is-not-there.so.9",))
    _check_falls_back_to_libsodium()
    monkeypatch.undo()
    _crypto._openssl.cache_clear()
    assert _crypto._openssl() is not None


def _check_falls_back_to_libsodium() -> None:
    _crypto._openssl.cache_clear()
    try:
        assert _crypto._openssl() is None
        key, nonce, msg = os.urandom(32), os.urandom(24), os.urandom(_crypto.OPENSSL_FROM * 2)
        ct = _crypto.aead_encrypt(key, nonce, msg, b"ad")  # by libsodium
        assert ct == sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, b"ad", nonce, key)
    finally:
        _crypto._openssl.cache_clear()


def test_libcrypto_contexts_are_per_thread() -> None:
    # the sealing workers call libcrypto at once, each with its own EVP context
    assert _crypto._openssl() is not None
    key, ad = os.urandom(32), b"ad"
    msgs = [(os.urandom(24), os.urandom(_crypto.OPENSSL_FROM + 17 * i)) for i in range(64)]

    def seal(item: tuple[bytes, bytes]) -> bytes:
        nonce, msg = item
        return _crypto.aead_encrypt(key, nonce, msg, ad)

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(seal, msgs))
    for (nonce, msg), ct in zip(msgs, got, strict=True):
        assert ct == sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad, nonce, key)
