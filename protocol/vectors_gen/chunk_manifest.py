"""Vectors for SPEC.md "Chunks" and "Manifests".

Writes ``chunk.json`` (chunk ids, keys, blobs, FastCDC cut points) and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import struct

from vault_core import _crypto, chunks, manifest

from .common import (
    FILE_ID,
    JSON,
    World,
    blake2b_stream,
    det,
    file_chunks,
    flip,
    hx,
    neg,
    vector_file,
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


def manifest_ad(file_id: bytes, version: int) -> bytes:
    return b"vault.v1/manifest\x00" + file_id + struct.pack(">I", version)


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
