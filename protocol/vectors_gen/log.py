"""Vectors for SPEC.md "File records" and "Log": records, signed hash-chained entries.

Writes ``log.json`` (file/device/revoke records, entries, chain verification, rollback).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from vault_core import _crypto, keys, log
from vault_core.encoding import b64u, canonical_json

from .common import (
    HANDLE,
    JSON,
    T0,
    World,
    det,
    file_record,
    flip,
    hx,
    neg,
    set_low_bit,
    vector_file,
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


def _noncanonical_sig(entry_text: str) -> str:
    obj = json.loads(entry_text)
    sig = obj["sig"]
    # 64 bytes -> 86 chars with 4 unused bits in the last one: set one of them.
    obj["sig"] = sig[:-1] + set_low_bit(sig[-1])
    return canonical_json(obj).decode()


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
