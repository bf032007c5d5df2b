"""Content-defined chunking and chunk encryption (SPEC §Chunks).

Theory of operation: a file is cut with FastCDC (compiled, pyfastcdc) whose gear table is
seeded from the vault key, so chunk boundaries differ between vaults. For each chunk ``p``:

    h   = SHA-256(p)                                  (plaintext commitment, in the manifest)
    id  = HMAC-SHA-256(chunk_id_key, h)               (vault-private id: no cross-user dedup)
    key = HMAC-SHA-256(chunk_key_key, h)              (per-chunk key: a grant can hold exactly
                                                       the keys of the chunks it covers)
    blob = "VC1" || nonce(24) || XChaCha20-Poly1305(key, nonce, p, "vault.v1/chunk\\0" || id)

Identical chunks inside one vault get the same id and are stored once; the server cannot link
equal content across vaults. Position, order and count are bound by the signed manifest, not
by the chunk itself (a chunk may appear in many files and positions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from . import _crypto
from .errors import IntegrityError

CHUNK_MAGIC = b"VC1"
CHUNK_OVERHEAD = 3 + 24 + 16
# Chunker parameters (part of the format: changing them only affects dedup, not reading).
CDC_MIN = 64 * 1024
CDC_AVG = 192 * 1024  # pyfastcdc's effective average is avg + min = 256 KiB
CDC_MAX = 1024 * 1024
MAX_CHUNK = CDC_MAX


class Readable(Protocol):
    def readinto(self, b: memoryview, /) -> int: ...


@dataclass(frozen=True, repr=False)
class ChunkRef:
    """One entry of a manifest: everything needed to fetch, open and check a chunk."""

    id: str  # 64 hex chars
    key: bytes  # 32
    hash: bytes  # 32, SHA-256 of the plaintext
    size: int

    def __repr__(self) -> str:
        return f"ChunkRef(id={self.id[:12]}…, size={self.size})"


def new_chunker(cdc_seed: int) -> Any:
    from pyfastcdc import FastCDC  # (imported here: a sync with nothing to do never cuts)

    return FastCDC(CDC_AVG, min_size=CDC_MIN, max_size=CDC_MAX, seed=cdc_seed)


def cut(chunker: Any, data: bytes | memoryview) -> Iterator[memoryview]:
    """Cut an in-memory buffer into chunks (views into ``data``)."""
    if len(data) == 0:
        return
    for chunk in chunker.cut_buf(data):
        yield chunk.data


def cut_stream(chunker: Any, stream: Readable) -> Iterator[memoryview]:
    """Cut a stream; each view is valid only until the next one is produced."""
    for chunk in chunker.cut_stream(stream):
        yield chunk.data


def plaintext_hash(plaintext: bytes | memoryview) -> bytes:
    """``h``, the commitment to a chunk's plaintext that its manifest entry holds."""
    return _crypto.sha256(plaintext)


def chunk_ref(chunk_id_key: bytes, chunk_key_key: bytes, plaintext: bytes | memoryview) -> ChunkRef:
    h = plaintext_hash(plaintext)
    return ChunkRef(
        id=_crypto.mac(chunk_id_key, h).hex(),
        key=_crypto.mac(chunk_key_key, h),
        hash=h,
        size=len(plaintext),
    )


def _ad(chunk_id: str) -> bytes:
    return b"vault.v1/chunk\x00" + bytes.fromhex(chunk_id)


def sealed_size(plain_size: int) -> int:
    return plain_size + CHUNK_OVERHEAD


def seal_chunk_into(
    ref: ChunkRef,
    plaintext: bytes | bytearray | memoryview,
    nonce: bytes,
    out: bytearray | memoryview,
    offset: int = 0,
) -> int:
    """Write the sealed chunk (same bytes as :func:`seal_chunk`) at ``out[offset:]``."""
    out[offset : offset + 3] = CHUNK_MAGIC
    out[offset + 3 : offset + 27] = nonce
    return 27 + _crypto.aead_encrypt_into(ref.key, nonce, plaintext, _ad(ref.id), out, offset + 27)


def seal_chunk(ref: ChunkRef, plaintext: bytes | memoryview, nonce: bytes) -> bytes:
    out = bytearray(len(plaintext) + CHUNK_OVERHEAD)
    seal_chunk_into(ref, plaintext, nonce, out)
    return bytes(out)


def open_chunk(ref: ChunkRef, blob: bytes) -> bytes:
    """Decrypt and check a chunk against its manifest entry; any mismatch is IntegrityError."""
    if len(blob) != ref.size + CHUNK_OVERHEAD or blob[:3] != CHUNK_MAGIC:
        raise IntegrityError()
    view = memoryview(blob)
    plain = bytearray(ref.size)
    _crypto.aead_decrypt_into(ref.key, view[3:27], view[27:], _ad(ref.id), plain)
    if not _crypto.equal(_crypto.sha256(plain), ref.hash):
        raise IntegrityError()
    return bytes(plain)
