"""File manifests (SPEC §Manifests).

A manifest lists, in order, the chunks of one version of one file. It is encrypted under the
version's random file key with the file id and version in the associated data, and it is
referenced from the signed file record by the SHA-256 of its ciphertext (which is also its blob
id), together with the file key: the signed record therefore commits to the key, the chunk list,
every chunk's size and plaintext hash, the total size and the content hash.

Plaintext layout (all integers big-endian)::

    "VMF1" | file_id (16) | version u32 | size u64 | content_hash (32) | n u32
    | n × ( chunk_id (32) | chunk_key (32) | chunk_hash (32) | chunk_size u32 )

A file of 1..65536 bytes may instead carry its bytes in its manifest (one blob per small file
instead of a chunk and a manifest; its content hash is the one of the file cut as one chunk)::

    "VMF2" | file_id (16) | version u32 | size u64 | content_hash (32) | data (size)

Blob layout: ``"VM1" | nonce (24) | XChaCha20-Poly1305(file_key, nonce, plaintext, AD)`` with
``AD = "vault.v1/manifest\\0" | file_id | version u32``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from . import _crypto
from .chunks import MAX_CHUNK, ChunkRef
from .errors import IntegrityError

MANIFEST_MAGIC = b"VM1"
_PLAIN_MAGIC = b"VMF1"
_INLINE_MAGIC = b"VMF2"
_HEAD = struct.Struct(">16sIQ32sI")
_INLINE_HEAD = struct.Struct(">16sIQ32s")
MAX_INLINE = 64 * 1024  # largest file whose bytes may be inside its manifest
_ENTRY = struct.Struct(">32s32s32sI")
MAX_CHUNKS = 1 << 20  # 1 Mi chunks (≥ 64 GiB per file)


def content_hash(size: int, chunk_hashes: Sequence[bytes]) -> bytes:
    """SHA-256 over the size and the ordered chunk hashes: the file's plaintext commitment."""
    return _crypto.sha256(
        b"vault.v1/content\x00" + struct.pack(">Q", size) + b"".join(chunk_hashes)
    )


@dataclass(frozen=True, repr=False)
class Manifest:
    file_id: bytes
    version: int
    size: int
    content: bytes
    chunks: tuple[ChunkRef, ...]
    data: bytes | None = None  # the file's bytes, when inline (then ``chunks`` is empty)

    def __repr__(self) -> str:
        if self.data is not None:
            return f"Manifest(version={self.version}, size={self.size}, inline)"
        return f"Manifest(version={self.version}, size={self.size}, chunks={len(self.chunks)})"

    @classmethod
    def build(cls, file_id: bytes, version: int, chunks: Sequence[ChunkRef]) -> Manifest:
        size = sum(c.size for c in chunks)
        return cls(
            file_id, version, size, content_hash(size, [c.hash for c in chunks]), tuple(chunks)
        )

    @classmethod
    def inline(cls, file_id: bytes, version: int, data: bytes) -> Manifest:
        """A manifest holding the file's bytes."""
        if not 0 < len(data) <= MAX_INLINE:
            raise ValueError("an inline manifest holds 1..65536 bytes")
        h = content_hash(len(data), [_crypto.sha256(data)])
        return cls(file_id, version, len(data), h, (), bytes(data))

    def with_id(self, file_id: bytes, version: int) -> Manifest:
        """The same content under another file id and version (a re-publication)."""
        return Manifest(file_id, version, self.size, self.content, self.chunks, self.data)

    def encode(self) -> bytes:
        if self.data is not None:
            return b"".join(
                (
                    _INLINE_MAGIC,
                    _INLINE_HEAD.pack(self.file_id, self.version, self.size, self.content),
                    self.data,
                )
            )
        parts = [
            _PLAIN_MAGIC,
            _HEAD.pack(self.file_id, self.version, self.size, self.content, len(self.chunks)),
        ]
        parts.extend(_ENTRY.pack(bytes.fromhex(c.id), c.key, c.hash, c.size) for c in self.chunks)
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        if data[:4] == _INLINE_MAGIC and len(data) >= 4 + _INLINE_HEAD.size:
            file_id, version, size, content = _INLINE_HEAD.unpack_from(data, 4)
            body = data[4 + _INLINE_HEAD.size :]
            if not 0 < size <= MAX_INLINE or len(body) != size:
                raise IntegrityError()
            m = cls.inline(file_id, version, bytes(body))
            if m.content != content:
                raise IntegrityError()
            return m
        if len(data) < 4 + _HEAD.size or data[:4] != _PLAIN_MAGIC:
            raise IntegrityError()
        file_id, version, size, content, n = _HEAD.unpack_from(data, 4)
        if n > MAX_CHUNKS or len(data) != 4 + _HEAD.size + n * _ENTRY.size:
            raise IntegrityError()
        chunks = []
        offset = 4 + _HEAD.size
        for _ in range(n):
            cid, key, h, csize = _ENTRY.unpack_from(data, offset)
            offset += _ENTRY.size
            if not 0 < csize <= MAX_CHUNK:
                raise IntegrityError()
            chunks.append(ChunkRef(id=cid.hex(), key=key, hash=h, size=csize))
        m = cls(file_id, version, size, content, tuple(chunks))
        if (
            sum(c.size for c in chunks) != size
            or content_hash(size, [c.hash for c in chunks]) != content
        ):
            raise IntegrityError()
        return m


def _ad(file_id: bytes, version: int) -> bytes:
    return b"vault.v1/manifest\x00" + file_id + struct.pack(">I", version)


def seal_manifest(manifest: Manifest, file_key: bytes, nonce: bytes) -> tuple[str, bytes]:
    """Returns (blob id, blob). The blob id is SHA-256 of the blob, hex."""
    blob = (
        MANIFEST_MAGIC
        + nonce
        + _crypto.aead_encrypt(
            file_key, nonce, manifest.encode(), _ad(manifest.file_id, manifest.version)
        )
    )
    return _crypto.sha256(blob).hex(), blob


def open_manifest(
    blob: bytes, blob_id: str, file_key: bytes, file_id: bytes, version: int
) -> Manifest:
    """Check the blob against its id (from a signed record), decrypt and parse."""
    if _crypto.sha256(blob).hex() != blob_id or blob[:3] != MANIFEST_MAGIC or len(blob) < 43:
        raise IntegrityError()
    plain = _crypto.aead_decrypt(file_key, blob[3:27], blob[27:], _ad(file_id, version))
    m = Manifest.decode(plain)
    if m.file_id != file_id or m.version != version:
        raise IntegrityError()
    return m
