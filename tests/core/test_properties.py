"""Property tests of the pure core (hypothesis).

* every format round-trips;
* any flipped byte, truncation, extension, reordering or splice of a ciphertext, manifest,
  record, grant payload, envelope or log entry is rejected with the opaque IntegrityError
  (never another exception type, never accepted);
* the log verifier rejects dropped, reordered, replayed, forked entries, unknown, revoked or
  injected devices, and leaves its state untouched on failure;
* low-order / small-order / zero public keys, weak Argon2id parameters and unsafe paths are
  refused.
"""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import nacl.bindings as sodium
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vault_core import _crypto, chunks, deposits, grants, keys, local, log, manifest
from vault_core.encoding import b64u, canonical_json, parse_canonical_json, unb64u
from vault_core.errors import FormatError, IntegrityError, RollbackError, WeakParameters

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- a fixed little world ---------------------------------------------------------------------

HANDLE = "jean"
BUNDLE = keys.new_bundle(HANDLE, bytes(range(1, 97)), 1_767_225_600)
VK = BUNDLE.vault_keys
ID_PK, ID_SK = BUNDLE.identity_sign
BOX_PK, BOX_SK = BUNDLE.identity_box
OTHER = keys.new_bundle("bouchra", bytes(range(101, 197)), 1_767_225_600)
OTHER_BOX_PK, OTHER_BOX_SK = OTHER.identity_box


def _device(n: int) -> tuple[str, bytes, bytes, keys.DeviceCert]:
    dev_id = f"{n:02x}" * 16
    pk, sk = keys.device_keypair(bytes([n]) * 32)
    return dev_id, pk, sk, keys.DeviceCert.issue(BUNDLE, dev_id, f"device {n}", pk, n)


DEVICES = {n: _device(n) for n in (1, 2, 3)}

X25519_LOW_ORDER = [
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
]
X25519_LOW_ORDER += [p[:31] + bytes([p[31] | 0x80]) for p in X25519_LOW_ORDER]

ED25519_SMALL_ORDER = [
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    )
]


def only_integrity(fn: Callable[[], Any]) -> None:
    """fn MUST fail, and only with the opaque IntegrityError."""
    with pytest.raises(IntegrityError) as info:
        fn()
    assert type(info.value) is IntegrityError, type(info.value)


# -- strategies -------------------------------------------------------------------------------

b32 = st.binary(min_size=32, max_size=32)
b24 = st.binary(min_size=24, max_size=24)
hex32 = st.binary(min_size=16, max_size=16).map(bytes.hex)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
safe_int = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
uint = st.integers(min_value=0, max_value=2**53 - 1)
name_part = st.text(
    alphabet=string.ascii_letters + string.digits + " ._-éàüß日本", min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))


def _valid_path(p: str) -> bool:
    try:
        log.check_path(p)
    except FormatError:
        return False
    return True


safe_path = st.lists(name_part, min_size=1, max_size=4).map("/".join).filter(_valid_path)

json_values = st.recursive(
    st.none() | st.booleans() | safe_int | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def file_records(draw: st.DrawFn) -> log.FileRecord:
    deleted = draw(st.booleans())
    common = {
        "file_id": draw(hex32),
        "version": draw(st.integers(min_value=1, max_value=2**32 - 1)),
        "path": draw(safe_path),
        "mtime": draw(uint),
    }
    if deleted:
        return log.FileRecord(deleted=True, **common)
    return log.FileRecord(
        deleted=False,
        size=draw(uint),
        content=draw(b32),
        manifest=draw(hex64),
        key=draw(b32),
        doc_type=draw(st.none() | st.text(min_size=1, max_size=64)),
        certificate=draw(st.none() | st.dictionaries(st.text(max_size=5), safe_int, max_size=3)),
        **common,
    )


def flip_at(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index % len(out)] ^= mask
    return bytes(out)


masks = st.integers(min_value=1, max_value=255)

# -- encodings --------------------------------------------------------------------------------


@MANY
@given(st.binary(max_size=100))
def test_b64u_round_trip(data: bytes) -> None:
    text = b64u(data)
    assert set(text) <= set(string.ascii_letters + string.digits + "-_")
    assert unb64u(text) == data


@MANY
@given(st.text(alphabet=string.ascii_letters + string.digits + "-_+/= \n", max_size=40))
def test_b64u_accepts_only_canonical(text: str) -> None:
    try:
        data = unb64u(text)
    except FormatError:
        return
    assert b64u(data) == text  # one byte string, one text


@MANY
@given(json_values)
def test_canonical_json_round_trip(value: Any) -> None:
    data = canonical_json(value)
    assert parse_canonical_json(data) == value
    assert canonical_json(parse_canonical_json(data)) == data


@MANY
@given(json_values, st.integers(min_value=0, max_value=2), st.booleans())
def test_canonical_json_rejects_other_spellings(value: Any, indent: int, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent or None, ensure_ascii=ascii_only).encode()
    if text == canonical_json(value):
        assert parse_canonical_json(text) == value
    else:
        with pytest.raises(FormatError):
            parse_canonical_json(text)


@MANY
@given(
    st.binary(max_size=64)
    | st.text(alphabet='{}[]":,\\ntrufalse0123-eE.ud8 ', max_size=40).map(str.encode)
)
def test_parse_canonical_json_only_raises_format_error(data: bytes) -> None:
    try:
        parse_canonical_json(data)
    except FormatError:
        pass


# -- chunks -----------------------------------------------------------------------------------


def _sealed_chunk(plain: bytes, nonce: bytes) -> tuple[chunks.ChunkRef, bytes]:
    ref = chunks.chunk_ref(VK.chunk_id_key, VK.chunk_key_key, plain)
    return ref, chunks.seal_chunk(ref, plain, nonce)


@FAST
@given(st.binary(min_size=1, max_size=3000), b24)
def test_chunk_round_trip(plain: bytes, nonce: bytes) -> None:
    ref, blob = _sealed_chunk(plain, nonce)
    assert len(blob) == len(plain) + chunks.CHUNK_OVERHEAD
    assert chunks.open_chunk(ref, blob) == plain


@MANY
@given(st.binary(min_size=1, max_size=500), b24, st.integers(min_value=0), masks)
def test_chunk_flip_rejected(plain: bytes, nonce: bytes, index: int, mask: int) -> None:
    ref, blob = _sealed_chunk(plain, nonce)
    only_integrity(lambda: chunks.open_chunk(ref, flip_at(blob, index, mask)))


@FAST
@given(st.binary(min_size=1, max_size=500), b24, st.data())
def test_chunk_truncated_or_extended_rejected(
    plain: bytes, nonce: bytes, data: st.DataObject
) -> None:
    ref, blob = _sealed_chunk(plain, nonce)
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    only_integrity(lambda: chunks.open_chunk(ref, blob[:cut]))
    extra = data.draw(st.binary(min_size=1, max_size=50))
    only_integrity(lambda: chunks.open_chunk(ref, blob + extra))


@FAST
@given(st.binary(min_size=1, max_size=300), st.binary(min_size=1, max_size=300), b24)
def test_chunk_swap_rejected(a: bytes, b: bytes, nonce: bytes) -> None:
    assume(a != b)
    ref_a, _ = _sealed_chunk(a, nonce)
    ref_b, blob_b = _sealed_chunk(b, nonce)
    only_integrity(lambda: chunks.open_chunk(ref_a, blob_b))
    # Even with the size forged to match, the AD (id) and key differ.
    only_integrity(lambda: chunks.open_chunk(replace(ref_a, size=ref_b.size), blob_b))


@FAST
@given(st.binary(min_size=0, max_size=300_000), st.integers(min_value=1, max_value=2**62))
def test_cdc_cut_and_stream_agree_and_cover(data: bytes, seed: int) -> None:
    import io

    pieces = [bytes(p) for p in chunks.cut(chunks.new_chunker(seed), data)]
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= chunks.MAX_CHUNK for p in pieces)
    assert all(len(p) >= chunks.CDC_MIN for p in pieces[:-1])
    streamed = [bytes(p) for p in chunks.cut_stream(chunks.new_chunker(seed), io.BytesIO(data))]
    assert streamed == pieces


# -- manifests --------------------------------------------------------------------------------


@st.composite
def manifests(draw: st.DrawFn) -> manifest.Manifest:
    parts = draw(st.lists(st.binary(min_size=1, max_size=64), max_size=6))
    refs = [chunks.chunk_ref(VK.chunk_id_key, VK.chunk_key_key, p) for p in parts]
    file_id = draw(st.binary(min_size=16, max_size=16))
    version = draw(st.integers(1, 2**32 - 1))
    if parts and draw(st.booleans()):  # a small file inline (VMF2)
        return manifest.Manifest.inline(file_id, version, b"".join(parts))
    return manifest.Manifest.build(file_id, version, refs)


@FAST
@given(st.binary(min_size=1, max_size=manifest.MAX_INLINE), st.integers(1, 2**62))
def test_inline_content_hash_is_the_one_chunk_hash(data: bytes, seed: int) -> None:
    """A small file's record does not depend on the form of its manifest: the inline content
    hash equals the content hash of the same bytes cut by the chunker (one chunk)."""
    pieces = list(chunks.cut(chunks.new_chunker(seed), data))
    refs = [chunks.chunk_ref(VK.chunk_id_key, VK.chunk_key_key, p) for p in pieces]
    inline = manifest.Manifest.inline(bytes(16), 1, data)
    assert inline.content == manifest.Manifest.build(bytes(16), 1, refs).content
    assert inline.data == data and inline.chunks == () and inline.size == len(data)


@FAST
@given(st.binary(min_size=1, max_size=2000), b32, b24, st.data())
def test_inline_forged_bytes_rejected(
    data: bytes, key: bytes, nonce: bytes, draw: st.DataObject
) -> None:
    """Re-sealed under the right key and AD, other bytes (changed, cut, extended, or sizes
    out of range) under the original content hash are refused by the content commitment."""
    m = manifest.Manifest.inline(bytes(16), 7, data)
    other = draw.draw(st.binary(max_size=2100).filter(lambda b: b != data))
    forged = replace(m, data=other, size=draw.draw(st.sampled_from([len(data), len(other)])))
    blob_id, blob = manifest.seal_manifest(forged, key, nonce)
    only_integrity(lambda: manifest.open_manifest(blob, blob_id, key, m.file_id, m.version))


def test_inline_over_the_limit_rejected() -> None:
    """An inline manifest of 65,537 bytes, well formed otherwise, is refused."""
    big = bytes(manifest.MAX_INLINE + 1)
    content = manifest.content_hash(len(big), [_crypto.sha256(big)])
    over = manifest.Manifest(bytes(16), 7, len(big), content, (), big)
    key = bytes(range(32))
    blob_id, blob = manifest.seal_manifest(over, key, bytes(24))
    only_integrity(lambda: manifest.open_manifest(blob, blob_id, key, bytes(16), 7))


@FAST
@given(manifests(), b32, b24)
def test_manifest_round_trip(m: manifest.Manifest, key: bytes, nonce: bytes) -> None:
    assert manifest.Manifest.decode(m.encode()) == m
    blob_id, blob = manifest.seal_manifest(m, key, nonce)
    assert manifest.open_manifest(blob, blob_id, key, m.file_id, m.version) == m


@MANY
@given(manifests(), b32, b24, st.integers(min_value=0), masks, st.booleans())
def test_manifest_flip_rejected(
    m: manifest.Manifest, key: bytes, nonce: bytes, index: int, mask: int, rehash: bool
) -> None:
    blob_id, blob = manifest.seal_manifest(m, key, nonce)
    bad = flip_at(blob, index, mask)
    bad_id = _crypto.sha256(bad).hex() if rehash else blob_id
    only_integrity(lambda: manifest.open_manifest(bad, bad_id, key, m.file_id, m.version))


@FAST
@given(manifests(), b32, b24, st.data())
def test_manifest_truncate_extend_splice_rejected(
    m: manifest.Manifest, key: bytes, nonce: bytes, data: st.DataObject
) -> None:
    _, blob = manifest.seal_manifest(m, key, nonce)
    cut = blob[: data.draw(st.integers(0, len(blob) - 1))]
    only_integrity(
        lambda: manifest.open_manifest(cut, _crypto.sha256(cut).hex(), key, m.file_id, m.version)
    )
    ext = blob + data.draw(st.binary(min_size=1, max_size=40))
    only_integrity(
        lambda: manifest.open_manifest(ext, _crypto.sha256(ext).hex(), key, m.file_id, m.version)
    )
    bid = _crypto.sha256(blob).hex()
    other_version = m.version + 1 if m.version < 2**32 - 1 else 1
    only_integrity(lambda: manifest.open_manifest(blob, bid, key, m.file_id, other_version))
    other_id = flip_at(m.file_id, 0, 1)
    only_integrity(lambda: manifest.open_manifest(blob, bid, key, other_id, m.version))


@FAST
@given(manifests(), b32, b24, st.randoms(use_true_random=False))
def test_manifest_reordered_chunks_rejected(
    m: manifest.Manifest, key: bytes, nonce: bytes, rnd: Any
) -> None:
    assume(len({c.hash for c in m.chunks}) >= 2)
    order = list(m.chunks)
    while order == list(m.chunks):
        rnd.shuffle(order)
    # Re-encrypted under the right key and AD: only the content commitment catches it.
    forged = replace(m, chunks=tuple(order))
    blob_id, blob = manifest.seal_manifest(forged, key, nonce)
    only_integrity(lambda: manifest.open_manifest(blob, blob_id, key, m.file_id, m.version))
    # And a dropped chunk with the count fixed.
    dropped = replace(m, chunks=m.chunks[1:])
    blob_id, blob = manifest.seal_manifest(dropped, key, nonce)
    only_integrity(lambda: manifest.open_manifest(blob, blob_id, key, m.file_id, m.version))


# -- bundle -----------------------------------------------------------------------------------


@FAST
@given(b32, b24, st.sampled_from(keys.BUNDLE_SLOTS), st.integers(0), masks)
def test_bundle_round_trip_and_flip(
    kek: bytes, nonce: bytes, slot: str, index: int, mask: int
) -> None:
    wrapped = keys.wrap_bundle(BUNDLE, kek, slot, nonce)
    assert keys.unwrap_bundle(wrapped, kek, HANDLE, slot) == BUNDLE
    only_integrity(lambda: keys.unwrap_bundle(flip_at(wrapped, index, mask), kek, HANDLE, slot))
    only_integrity(lambda: keys.unwrap_bundle(wrapped[: index % len(wrapped)], kek, HANDLE, slot))
    only_integrity(lambda: keys.unwrap_bundle(wrapped + b"\x00", kek, HANDLE, slot))
    other = "recovery" if slot == "passphrase" else "passphrase"
    only_integrity(lambda: keys.unwrap_bundle(wrapped, kek, HANDLE, other))
    only_integrity(lambda: keys.unwrap_bundle(wrapped, kek, "jeanne", slot))


def test_bundle_under_the_passphrase_kek(passphrase_keys: keys.PassphraseKeys) -> None:
    wrapped = keys.wrap_bundle(BUNDLE, passphrase_keys.kek, "passphrase", bytes(24))
    assert keys.unwrap_bundle(wrapped, passphrase_keys.kek, HANDLE, "passphrase") == BUNDLE
    assert passphrase_keys.kek != passphrase_keys.login_seed  # login key is not the KEK
    rk = keys.derive_recovery_keys(bytes(range(32)))
    only_integrity(lambda: keys.unwrap_bundle(wrapped, rk.kek, HANDLE, "passphrase"))


# -- records and the log ----------------------------------------------------------------------


@MANY
@given(file_records())
def test_file_record_round_trip(rec: log.FileRecord) -> None:
    data = canonical_json(rec.to_json())
    assert log.record_from_json(parse_canonical_json(data)) == rec


@FAST
@given(hex32, st.binary(max_size=200), st.sampled_from(["device", "revoke"]))
def test_device_record_round_trip(dev_id: str, cert: bytes, kind: str) -> None:
    rec = log.DeviceRecord(kind, dev_id, cert)
    assert log.record_from_json(json.loads(canonical_json(rec.to_json()))) == rec


class Chain:
    """Builds a valid log: entry 1 enrols device 1, then the given records by the given devices."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.seq = 0
        self.head = log.genesis_hash(HANDLE)

    def add(self, dev: int, record: log.Record, nonce: bytes = bytes(24)) -> bytes:
        dev_id, _, sk, _ = DEVICES[dev]
        args: dict[str, Any] = {
            "handle": HANDLE,
            "record_key": VK.record_key,
            "device_id": dev_id,
            "device_sk": sk,
            "seq": self.seq + 1,
            "prev": self.head,
            "time": 1_767_225_600 + self.seq,
            "record": record,
            "nonce": nonce,
        }
        entry = log.make_entry(**args)
        data = entry.encode()
        self.entries.append(data)
        self.seq = entry.seq
        self.head = entry.hash()
        return data

    @staticmethod
    def enrol(dev: int) -> log.DeviceRecord:
        return log.DeviceRecord("device", DEVICES[dev][0], DEVICES[dev][3].encode())


def verifier() -> log.LogVerifier:
    return log.LogVerifier(HANDLE, ID_PK, VK.record_key)


def valid_chain(records: list[log.FileRecord]) -> Chain:
    c = Chain()
    c.add(1, Chain.enrol(1))
    for i, r in enumerate(records):
        c.add(1, r, nonce=i.to_bytes(24, "big"))
    return c


def feed_all(v: log.LogVerifier, entries: list[bytes]) -> None:
    for e in entries:
        v.feed(e)


def rejects(entries: list[bytes], start: log.LogVerifier | None = None) -> None:
    """The verifier rejects somewhere in `entries`, with IntegrityError, changing nothing then."""
    v = start or verifier()
    for e in entries:
        before = v.state()
        try:
            v.feed(e)
        except IntegrityError as exc:
            assert type(exc) is IntegrityError
            assert v.state() == before
            return
    pytest.fail("the verifier accepted a tampered log")


records_list = st.lists(file_records(), min_size=2, max_size=5)


@FAST
@given(records_list)
def test_log_round_trip(records: list[log.FileRecord]) -> None:
    c = valid_chain(records)
    v = verifier()
    seen = [v.feed(e)[1] for e in c.entries]
    assert seen[1:] == records
    assert v.seq == len(records) + 1 and v.head == c.head
    log.check_head(v.seq, v.seq)


@MANY
@given(records_list, st.integers(min_value=0), st.integers(min_value=0), masks)
def test_log_entry_flip_rejected(
    records: list[log.FileRecord], which: int, index: int, mask: int
) -> None:
    c = valid_chain(records)
    k = which % len(c.entries)
    bad = list(c.entries)
    bad[k] = flip_at(bad[k], index, mask)
    rejects(bad)


@FAST
@given(records_list, st.integers(min_value=0), st.binary(min_size=1, max_size=20), st.booleans())
def test_log_entry_truncated_or_extended_rejected(
    records: list[log.FileRecord], cut: int, extra: bytes, extend: bool
) -> None:
    c = valid_chain(records)
    last = c.entries[-1]
    bad = last + extra if extend else last[: cut % len(last)]
    rejects([*c.entries[:-1], bad])


@MANY
@given(records_list, st.integers(min_value=0), masks)
def test_log_record_ciphertext_flip_rejected(
    records: list[log.FileRecord], index: int, mask: int
) -> None:
    """Even re-signed by a genuine device, a modified record ciphertext does not open."""
    c = valid_chain(records)
    entry = log.LogEntry.decode(c.entries[-1])
    forged = replace(entry, rec=flip_at(entry.rec, index, mask), sig=b"")
    msg = b"vault.v1/log-entry\x00" + canonical_json(forged.unsigned())
    forged = replace(forged, sig=_crypto.sign(DEVICES[1][2], msg))
    only_integrity(lambda: log.open_record(HANDLE, VK.record_key, forged))
    rejects([*c.entries[:-1], forged.encode()])


@FAST
@given(records_list, st.data())
def test_log_drop_reorder_replay_rejected(
    records: list[log.FileRecord], data: st.DataObject
) -> None:
    e = valid_chain(records).entries
    n = len(e)
    drop = data.draw(st.integers(0, n - 2))  # dropping the last one is withholding (below)
    rejects(e[:drop] + e[drop + 1 :])
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    swapped = list(e)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    rejects(swapped)
    r = data.draw(st.integers(0, n - 1))
    at = data.draw(st.integers(r + 1, n))
    rejects([*e[:at], e[r], *e[at:]])


@FAST
@given(records_list, file_records(), st.data())
def test_log_fork_rejected(
    records: list[log.FileRecord], other: log.FileRecord, data: st.DataObject
) -> None:
    c = valid_chain(records)
    k = data.draw(st.integers(1, len(c.entries) - 1))  # fork after entry k (1-based seq k)
    fork = Chain()
    fork.entries = c.entries[:k]
    fork.seq = k
    v = verifier()
    feed_all(v, c.entries[:k])
    fork.head = v.head
    fork.add(1, other, nonce=b"\xff" * 24)
    fork.add(1, other, nonce=b"\xfe" * 24)
    assume(fork.entries[k] != c.entries[k])
    # A device that saw the original branch up to k+1 (its high-water mark) is shown the fork.
    seen = verifier()
    feed_all(seen, c.entries[: k + 1])
    rejects(fork.entries[k + 1 :], start=seen)
    # Or the fork is spliced after the original entries.
    rejects(c.entries[: k + 1] + fork.entries[k:])
    # A server whose head is below the high-water mark rolled back.
    with pytest.raises(RollbackError):
        log.check_head(k, seen.seq)


@FAST
@given(records_list, file_records())
def test_log_unknown_injected_revoked_devices(
    records: list[log.FileRecord], rec: log.FileRecord
) -> None:
    c = valid_chain(records)
    # Unknown device (certified, but never enrolled in the log).
    c2 = valid_chain(records)
    c2.add(2, rec)
    rejects(c2.entries)
    # Injected device record: a certificate not signed by the identity key.
    dev_id, pk, sk, _ = DEVICES[3]
    forged = keys.DeviceCert(HANDLE, dev_id, "x", pk, 0, _crypto.sign(sk, b"forged"))
    c3 = valid_chain(records)
    c3.add(3, log.DeviceRecord("device", dev_id, forged.encode()))
    rejects(c3.entries)
    # A certificate for this handle, signed by another account's identity key.
    msg = keys.DeviceCert._message(HANDLE, dev_id, "x", pk, 0)
    foreign = keys.DeviceCert(HANDLE, dev_id, "x", pk, 0, _crypto.sign(OTHER.identity_sign[1], msg))
    c4 = valid_chain(records)
    c4.add(3, log.DeviceRecord("device", dev_id, foreign.encode()))
    rejects(c4.entries)
    # Revoked device.
    c5 = valid_chain(records)
    c5.add(2, Chain.enrol(2))
    c5.add(1, log.DeviceRecord("revoke", DEVICES[2][0]))
    v = verifier()
    feed_all(v, c5.entries)
    c5.add(2, rec)
    rejects(c5.entries)
    assert c.entries  # the untouched chain stays valid
    feed_all(verifier(), c.entries)


@FAST
@given(records_list, st.integers(min_value=2, max_value=10**6))
def test_log_record_bound_to_its_seq(records: list[log.FileRecord], ad_seq: int) -> None:
    """A record encrypted for another position, even correctly signed, is refused."""
    c = valid_chain(records[:1])
    dev_id, _, sk, _ = DEVICES[1]
    seq = c.seq + 1
    assume(ad_seq != seq)
    e = log.make_entry(
        handle=HANDLE,
        record_key=VK.record_key,
        device_id=dev_id,
        device_sk=sk,
        seq=ad_seq,
        prev=c.head,
        time=0,
        record=records[1],
        nonce=bytes(24),
    )
    moved = replace(e, seq=seq, sig=b"")
    moved = replace(
        moved, sig=_crypto.sign(sk, b"vault.v1/log-entry\x00" + canonical_json(moved.unsigned()))
    )
    rejects([*c.entries, moved.encode()])


# -- grants -----------------------------------------------------------------------------------


@st.composite
def grant_payloads(draw: st.DrawFn) -> tuple[grants.GrantHeader, grants.GrantPayload]:
    gid = draw(hex32)
    header = grants.GrantHeader(
        grant_id=gid,
        owner=HANDLE,
        owner_sign_pk=ID_PK,
        kind="link",
        to=None,
        to_box_pk=None,
        expires=draw(uint),
        max_uses=draw(st.none() | st.integers(1, 1000)),
        password=draw(st.booleans()),
        created=draw(uint),
    )
    items = tuple(
        grants.GrantItem(
            name=draw(safe_path),
            file_id=draw(hex32),
            version=draw(st.integers(1, 1000)),
            size=draw(uint),
            mtime=draw(uint),
            content=draw(b32),
            manifest=draw(hex64),
            key=draw(b32),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    scope = tuple(draw(st.lists(safe_path, max_size=3)))
    return header, grants.GrantPayload(gid, draw(st.integers(1, 100)), scope, items)


@FAST
@given(grant_payloads(), b32, b24)
def test_grant_payload_round_trip(
    hp: tuple[grants.GrantHeader, grants.GrantPayload], key: bytes, nonce: bytes
) -> None:
    header, payload = hp
    sealed = grants.seal_payload(header, payload, key, ID_SK, nonce)
    h, p = grants.open_payload(header.encode(), sealed, key, header.grant_id, ID_PK)
    assert h == header
    assert canonical_json(p.to_json()) == canonical_json(payload.to_json())


@MANY
@given(grant_payloads(), b32, b24, st.integers(min_value=0), masks, st.booleans())
def test_grant_payload_flip_rejected(
    hp: tuple[grants.GrantHeader, grants.GrantPayload],
    key: bytes,
    nonce: bytes,
    index: int,
    mask: int,
    in_header: bool,
) -> None:
    header, payload = hp
    hb = header.encode()
    sealed = grants.seal_payload(header, payload, key, ID_SK, nonce)
    if in_header:
        only_integrity(
            lambda: grants.open_payload(flip_at(hb, index, mask), sealed, key, header.grant_id)
        )
    else:
        only_integrity(
            lambda: grants.open_payload(hb, flip_at(sealed, index, mask), key, header.grant_id)
        )


@FAST
@given(grant_payloads(), grant_payloads(), b32, b24, st.data())
def test_grant_payload_truncate_extend_splice_rejected(
    a: tuple[grants.GrantHeader, grants.GrantPayload],
    b: tuple[grants.GrantHeader, grants.GrantPayload],
    key: bytes,
    nonce: bytes,
    data: st.DataObject,
) -> None:
    (ha, pa), (hb, pb) = a, b
    assume(ha.grant_id != hb.grant_id)
    sa = grants.seal_payload(ha, pa, key, ID_SK, nonce)
    sb = grants.seal_payload(hb, pb, key, ID_SK, nonce)
    cut = data.draw(st.integers(0, len(sa) - 1))
    only_integrity(lambda: grants.open_payload(ha.encode(), sa[:cut], key, ha.grant_id))
    only_integrity(lambda: grants.open_payload(ha.encode(), sa + b"\x00", key, ha.grant_id))
    only_integrity(lambda: grants.open_payload(ha.encode(), sb, key, ha.grant_id))  # splice
    only_integrity(lambda: grants.open_payload(hb.encode(), sa, key, hb.grant_id))
    only_integrity(lambda: grants.open_payload(ha.encode(), sa, key, hb.grant_id))


@FAST
@given(b32)
def test_link_round_trip(secret: bytes) -> None:
    gid = secret[:16].hex()
    link = grants.format_link("https://v.example/", gid, secret)
    assert grants.parse_link(link) == ("https://v.example", gid, secret)
    s = grants.link_secrets(secret)
    assert len({s.grant_key, s.access_token, secret}) == 3


@FAST
@given(b32, b32, hex32, st.integers(min_value=0), masks)
def test_sealed_grant_key(grant_key: bytes, eph: bytes, gid: str, index: int, mask: int) -> None:
    sealed = grants.seal_grant_key(OTHER_BOX_PK, grant_key, gid, eph)
    assert grants.open_grant_key(OTHER_BOX_SK, sealed, gid) == grant_key
    only_integrity(lambda: grants.open_grant_key(OTHER_BOX_SK, flip_at(sealed, index, mask), gid))
    only_integrity(lambda: grants.open_grant_key(BOX_SK, sealed, gid))
    only_integrity(lambda: grants.open_grant_key(OTHER_BOX_SK, sealed[: index % len(sealed)], gid))


# -- envelopes (deposits, requests) -----------------------------------------------------------

AUTH_PK, AUTH_SK = deposits.authority_keypair(b"\x21" * 32)
ISS_PK, ISS_SK = deposits.issuer_keypair(b"\x22" * 32)
CERT = deposits.IssuerCert.issue(AUTH_SK, AUTH_PK, ISS_PK, "Mairie", 0, 2_000_000_000)
TRUSTED = {AUTH_PK: "authority"}


@FAST
@given(
    st.sampled_from(["deposit", "request"]),
    hex32,
    st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    st.binary(max_size=2000),
    b32,
    b32,
    b24,
)
def test_envelope_round_trip(
    kind: str, item_id: str, meta: dict[str, Any], body: bytes, key: bytes, eph: bytes, nonce: bytes
) -> None:
    env = deposits.seal_envelope(kind, item_id, BOX_PK, meta, body, key, eph, nonce)
    assert deposits.open_envelope(kind, item_id, BOX_SK, env) == (meta, body)


@MANY
@given(
    st.sampled_from(["deposit", "request"]),
    hex32,
    st.binary(max_size=300),
    st.integers(min_value=0),
    masks,
    st.data(),
)
def test_envelope_tampering_rejected(
    kind: str, item_id: str, body: bytes, index: int, mask: int, data: st.DataObject
) -> None:
    env = deposits.seal_envelope(
        kind, item_id, BOX_PK, {"a": 1}, body, b"\x01" * 32, b"\x02" * 32, bytes(24)
    )
    only_integrity(lambda: deposits.open_envelope(kind, item_id, BOX_SK, flip_at(env, index, mask)))
    cut = data.draw(st.integers(0, len(env) - 1))
    only_integrity(lambda: deposits.open_envelope(kind, item_id, BOX_SK, env[:cut]))
    only_integrity(lambda: deposits.open_envelope(kind, item_id, BOX_SK, env + b"\x00"))
    other_kind = "request" if kind == "deposit" else "deposit"
    only_integrity(lambda: deposits.open_envelope(other_kind, item_id, BOX_SK, env))
    other_id = ("1" if item_id[0] == "0" else "0") + item_id[1:]
    only_integrity(lambda: deposits.open_envelope(kind, other_id, BOX_SK, env))
    only_integrity(lambda: deposits.open_envelope(kind, item_id, OTHER_BOX_SK, env))


def _statement(dep_id: str, doc: bytes, **changes: Any) -> deposits.DepositStatement:
    st_ = deposits.DepositStatement(
        deposit_id=dep_id,
        to=HANDLE,
        to_sign_pk=ID_PK,
        doc_sha256=deposits.document_hash(doc),
        doc_type="tax-notice",
        title="Avis",
        filename="avis.pdf",
        issued=1_767_225_600,
        size=len(doc),
        issuer_pk=ISS_PK,
    )
    return replace(st_, **changes)


@FAST
@given(hex32, st.binary(max_size=3000), b32, b32, b24)
def test_deposit_round_trip_and_retarget(
    dep_id: str, doc: bytes, key: bytes, eph: bytes, nonce: bytes
) -> None:
    stmt = _statement(dep_id, doc)
    env = deposits.build_deposit(
        statement=stmt,
        issuer_sk=ISS_SK,
        cert=CERT,
        document=doc,
        recipient_box_pk=BOX_PK,
        key=key,
        ephemeral=eph,
        nonce=nonce,
    )
    proof, got = deposits.open_deposit(dep_id, BOX_SK, env)
    assert got == doc
    now = 1_767_225_600 + 10
    name = proof.verify(
        trusted=TRUSTED,
        now=now,
        owner=HANDLE,
        owner_sign_pk=ID_PK,
        document_sha256=deposits.document_hash(got),
    )
    assert name == "Mairie"
    # Re-sealed by the recipient to someone else: opens, but is not addressed to them.
    env2 = deposits.seal_envelope(
        "deposit", dep_id, OTHER_BOX_PK, {"proof": proof.to_json()}, doc, key, eph, nonce
    )
    proof2, doc2 = deposits.open_deposit(dep_id, OTHER_BOX_SK, env2)
    other_pk = OTHER.identity_sign[0]
    only_integrity(
        lambda: proof2.verify(
            trusted=TRUSTED,
            now=now,
            owner="bouchra",
            owner_sign_pk=other_pk,
            document_sha256=deposits.document_hash(doc2),
        )
    )
    only_integrity(
        lambda: proof.verify(
            trusted={},
            now=now,
            owner=HANDLE,
            owner_sign_pk=ID_PK,
            document_sha256=deposits.document_hash(got),
        )
    )


@FAST
@given(
    hex32,
    st.lists(st.sampled_from(deposits.DOCUMENT_TYPES), max_size=3),
    st.text(max_size=50),
    b32,
    b32,
    b24,
)
def test_request_round_trip(
    req_id: str, needs: list[str], message: str, key: bytes, eph: bytes, nonce: bytes
) -> None:
    stmt = deposits.RequestStatement(
        req_id, HANDLE, ID_PK, tuple(needs), 1_800_000_000, message, 1_767_225_600, ISS_PK, "mairie"
    )
    env = deposits.build_request(
        statement=stmt,
        issuer_sk=ISS_SK,
        cert=CERT,
        recipient_box_pk=BOX_PK,
        key=key,
        ephemeral=eph,
        nonce=nonce,
    )
    got, cert = deposits.open_request(req_id, BOX_SK, env)
    assert got == stmt and cert == CERT
    cert.verify(TRUSTED, 1_767_225_600, "request")


# -- public keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("point", X25519_LOW_ORDER, ids=lambda p: p.hex()[:10] + p.hex()[-2:])
def test_low_order_x25519_rejected(point: bytes) -> None:
    only_integrity(lambda: _crypto.check_box_pk(point))
    only_integrity(lambda: _crypto.seal(point, b"\x05" * 32, b"m", b""))
    sealed = _crypto.seal(BOX_PK, b"\x05" * 32, b"m", b"")
    only_integrity(lambda: _crypto.seal_open(BOX_SK, point + sealed[32:], b""))
    only_integrity(lambda: grants.seal_grant_key(point, b"\x01" * 32, "00" * 16, b"\x05" * 32))


@pytest.mark.parametrize("point", ED25519_SMALL_ORDER, ids=lambda p: p.hex()[:10] + p.hex()[-2:])
def test_small_order_ed25519_rejected(point: bytes) -> None:
    only_integrity(lambda: _crypto.check_sign_pk(point))
    # Any (R, S) at all: a small-order key verifies nothing.
    only_integrity(lambda: _crypto.verify(point, b"msg", bytes(64)))
    only_integrity(lambda: keys.DeviceCert.issue(BUNDLE, "00" * 16, "x", point, 0))
    only_integrity(lambda: deposits.IssuerCert.issue(AUTH_SK, AUTH_PK, point, "x", 0, 1))


def test_mixed_order_ed25519_rejected() -> None:
    torsion = ED25519_SMALL_ORDER[4]
    mixed = bytes(sodium.crypto_core_ed25519_add(ID_PK, torsion))
    only_integrity(lambda: _crypto.check_sign_pk(mixed))


@MANY
@given(b32)
def test_generated_keys_accepted(secret: bytes) -> None:
    _crypto.check_box_pk(_crypto.box_keypair(secret)[0])
    _crypto.check_sign_pk(_crypto.sign_keypair(secret)[0])


@MANY
@given(b32)
def test_arbitrary_x25519_keys_accepted_only_if_contributory(pk: bytes) -> None:
    try:
        _crypto.check_box_pk(pk)
    except IntegrityError:
        return
    assert sodium.crypto_scalarmult(b"\x07" * 32, pk) != bytes(32)


@MANY
@given(b32)
def test_arbitrary_ed25519_keys_accepted_only_if_prime_order(pk: bytes) -> None:
    try:
        _crypto.check_sign_pk(pk)
    except IntegrityError:
        return
    assert sodium.crypto_core_ed25519_is_valid_point(pk)


# -- key-derivation floor ---------------------------------------------------------------------


@MANY
@given(
    st.integers(0, 8 * 1024 * 1024),
    st.integers(0, 100),
    st.integers(0, 20),
    st.binary(min_size=16, max_size=16),
)
def test_kdf_floor(m_kib: int, t: int, p: int, salt: bytes) -> None:
    params = keys.KdfParams(salt=salt, m_kib=m_kib, t=t, p=p)
    ok = (
        64 * 1024 <= m_kib <= 4 * 1024 * 1024
        and 3 <= t <= 64
        and p == 1  # one lane: what libsodium (and the browser) computes
        and salt != bytes(16)
    )
    if ok:
        params.check_floor()
        assert keys.KdfParams.from_json(params.to_json()) == params
    else:
        with pytest.raises(WeakParameters):
            params.check_floor()
        with pytest.raises(WeakParameters):
            keys.derive_passphrase_keys("pw", params)  # refused before any Argon2 work
    # a profile's own key may use up to four lanes, never less memory or fewer passes
    local_ok = ok or (
        64 * 1024 <= m_kib <= 4 * 1024 * 1024 and 3 <= t <= 64 and 1 <= p <= 4 and salt != bytes(16)
    )
    if local_ok:
        params.check_floor(max_lanes=local.LOCAL_MAX_LANES)
    else:
        with pytest.raises(WeakParameters):
            local.local_key("pw", params)


def test_kdf_floor_examples() -> None:
    salt = bytes(range(1, 17))
    for m, t in ((65535, 3), (65536, 2), (1 << 21, 1), (256, 2)):
        with pytest.raises(WeakParameters):
            keys.KdfParams(salt, m, t, 1).check_floor()
    keys.KdfParams(salt, 65536, 3, 1).check_floor()


# -- paths ------------------------------------------------------------------------------------

TRAVERSAL = [
    "",
    ".",
    "..",
    "../x",
    "a/..",
    "a/../b",
    "a/./b",
    "/etc/passwd",
    "/",
    "a//b",
    "a/",
    "a\\b",
    "..\\..\\x",
    "a\x00b",
    "\x00",
    "C:/Windows",
    "C:x",
    "c:\\x",
    "a/\nb",
    "a/\x1fb",
]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_check_path_refuses_traversal(path: str) -> None:
    with pytest.raises(FormatError):
        log.check_path(path)


@MANY
@given(
    st.text(max_size=30)
    | st.lists(st.sampled_from(["a", "..", ".", "", "b:", "C:", "\\", "é"]), max_size=5).map(
        "/".join
    )
)
def test_check_path_never_escapes(path: str) -> None:
    try:
        log.check_path(path)
    except FormatError:
        return
    posix, win = PurePosixPath(path), PureWindowsPath(path)
    assert not posix.is_absolute() and not win.drive and not win.root
    assert all(part not in ("", ".", "..") for part in path.split("/"))
    assert "\x00" not in path and "\\" not in path
    base = PurePosixPath("/sync")
    joined = PurePosixPath(*(base / posix).parts)
    assert joined.parts[: len(base.parts)] == base.parts


# -- regressions: bugs found by these properties, fixed in vault_core -----------------------

POISON = [
    {"mtime": -1000},  # a file dated before 1970 (st_mtime_ns // 10**6 < 0)
    {"doc_type": ""},
    {"doc_type": "x" * 65},  # e.g. copied from an issuer's deposit statement
    {"path": "dir/a\\b"},  # a legal Linux file name
]


@pytest.mark.parametrize(
    "change", POISON, ids=lambda c: next(iter(c)) + "=" + repr(next(iter(c.values())))[:12]
)
def test_make_entry_refuses_records_its_verifier_rejects(change: dict[str, Any]) -> None:
    base = log.FileRecord(
        file_id="cd" * 16,
        version=1,
        path="a",
        deleted=False,
        size=1,
        content=b"\x01" * 32,
        manifest="ef" * 32,
        key=b"\x02" * 32,
    )
    rec = replace(base, **change)
    c = valid_chain([])
    # Signed and appended, such an entry would make every verifier reject the log forever.
    with pytest.raises(FormatError):
        c.add(1, rec)


def test_account_grant_requires_the_pinned_owner_key() -> None:
    srv_pk, srv_sk = keys.device_keypair(b"\x33" * 32)
    gid = "12" * 16
    header = grants.GrantHeader(
        gid, HANDLE, srv_pk, "account", "bouchra", OTHER_BOX_PK, 2**40, None, False, 0
    )
    key = b"\x44" * 32
    sealed = grants.seal_payload(
        header, grants.GrantPayload(gid, 1, (), ()), key, srv_sk, bytes(24)
    )
    # A server can mint an account grant "from jean"; only the pinned key stops it.
    only_integrity(lambda: grants.open_payload(header.encode(), sealed, key, gid))


def _check_path_reference(path: object) -> bool:
    """The rules of SPEC §Paths written plainly, one character at a time (slow, obvious)."""
    if not isinstance(path, str) or not path:
        return False
    try:
        raw = path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if len(raw) > log.MAX_PATH_BYTES or path.startswith("/"):
        return False
    if any(c in path for c in "\\:\x00"):
        return False
    for part in path.split("/"):
        if part in ("", ".", "..") or part[-1] in ". ":
            return False
        if len(part.encode("utf-8")) > log.MAX_NAME_BYTES:
            return False
        if any(ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf") for ch in part):
            return False
        if part.split(".")[0].upper().rstrip() in log._RESERVED:
            return False
    return True


@MANY
@given(
    st.text(max_size=40)
    | st.text(alphabet=st.characters(max_codepoint=127), max_size=300)
    | st.lists(
        st.sampled_from(
            [
                "a",
                "b.txt",
                "..",
                ".",
                "",
                "x ",
                "y.",
                "CON",
                "nul.txt",
                "com1",
                "\x7f",
                "\x1f",
                "\u202e",
                "é",
                "a:b",
                "\\",
                "\ud800",
                "z" * 255,
                "é" * 128,
            ]
        ),
        min_size=1,
        max_size=6,
    ).map("/".join)
)
def test_check_path_matches_the_plain_reference(path: str) -> None:
    """The fast (ASCII) path of check_path accepts exactly what the plain rules accept."""
    assert _valid_path(path) == _check_path_reference(path)


@FAST
@given(st.lists(file_records(), min_size=1, max_size=4), b32)
def test_entry_encoding_kept_is_the_encoding(records: list[log.FileRecord], sig: bytes) -> None:
    """make_entry and decode keep an entry's encoding: it is exactly what encoding the fields
    gives, and an entry made from another by dataclasses.replace does not inherit it."""
    chain = valid_chain(records)
    for data in chain.entries:
        entry = log.LogEntry.decode(data)
        fresh = log.LogEntry(
            entry.seq, entry.prev, entry.device_id, entry.time, entry.rec, entry.sig
        )
        assert entry.encode() == fresh.encode() == data
        forged = replace(entry, sig=sig + sig)
        assert forged.encode() != data
        assert log.LogEntry.decode(forged.encode()).sig == sig + sig
