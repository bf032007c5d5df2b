"""Devices: injected by the server (in its device table, in the log), revoked devices that
keep writing, forged authors. Only devices certified by the account's identity key write the
log, and a revoked one no longer does.

The log cases forge entries with the account's record key (as a party holding the vault key
but not the identity key would): defence in depth beyond the record encryption, which alone
stops a server that has neither.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from vault_core.errors import EXIT_AUTH, EXIT_INTEGRITY
from vault_core.keys import DeviceCert, device_keypair, new_bundle
from vault_core.log import DeviceRecord, FileRecord, LogEntry

from .harness import World, assert_refused
from .helpers import forge_entry, record_of


def test_injected_device_not_shown_as_genuine(world: World) -> None:
    """The server adds a device to the account (a row with no valid certificate): ``vault
    devices`` must not present it as one of the owner's devices."""
    evil = os.urandom(16).hex()
    pk, _ = device_keypair(os.urandom(32))
    world.store.execute(
        "INSERT INTO devices (id, account_id, name, sign_pk, cert, created_at, revoked_at)"
        " VALUES (?,?,?,?,?,?,NULL)",
        evil,
        world.store.account_id("jean"),
        "Jean's new phone",
        pk,
        b"",
        0,
    )
    res = world.a.run("devices", "--json")
    if res.returncode == 0:
        listed = {d["id"]: d for d in json.loads(res.stdout)}
        if evil in listed:
            d = listed[evil]
            assert d.get("certified") is False or d.get("verified") is False, (
                f"an uncertified device injected by the server is listed as genuine: {d}"
            )
    else:
        assert_refused(res, EXIT_INTEGRITY, names=(evil, "device"))


def _genuine(world: World) -> list[bytes]:
    return [e for _, e in world.store.log("jean")]


def _append(world: World, entries: list[LogEntry]) -> list[bytes]:
    genuine = _genuine(world)
    world.store.replace_log("jean", genuine + [e.encode() for e in entries])
    return genuine


def _device_cases(world: World) -> dict[str, Any]:
    a = world.a
    head = LogEntry.decode(_genuine(world)[-1]).hash()
    new_id = os.urandom(16).hex()
    seed = os.urandom(32)
    pk, sk = device_keypair(seed)
    other_identity = new_bundle("jean", os.urandom(96), 0)
    b_id = world.facts["device_b"]
    (b_cert,) = world.store.query("SELECT cert FROM devices WHERE id=?", b_id)[0]
    evil = FileRecord(
        file_id=os.urandom(16).hex(), version=1, path="papiers/acte.txt", deleted=True
    )
    acte = record_of(a, "papiers/acte.txt")
    tomb = FileRecord(
        file_id=acte.file_id, version=acte.version + 1, path="papiers/acte.txt", deleted=True
    )

    def join(cert: bytes, dev_id: str = new_id) -> list[LogEntry]:
        e1 = forge_entry(
            a, 11, head, DeviceRecord("device", dev_id, cert), device_id=dev_id, device_sk=sk
        )
        e2 = forge_entry(a, 12, e1.hash(), tomb, device_id=dev_id, device_sk=sk)
        return [e1, e2]

    return {
        # a device certified by an identity key that is not the account's
        "certified-by-another-identity": lambda: join(
            DeviceCert.issue(other_identity, new_id, "phone", pk, 0).encode()
        ),
        # device b's genuine certificate, presented by another device id and key
        "someone-elses-certificate": lambda: join(bytes(b_cert)),
        # no device record at all: an unknown author
        "unknown-author": lambda: [forge_entry(a, 11, head, evil, device_id=new_id, device_sk=sk)],
        # device b's id, signed by device a's key (a forged author among known devices)
        "forged-author": lambda: [forge_entry(a, 11, head, tomb, device_id=b_id)],
        # device b re-keyed: a new key for a known device id
        "known-device-re-keyed": lambda: join(
            DeviceCert.issue(other_identity, b_id, "b", pk, 0).encode(), dev_id=b_id
        ),
    }


DEVICE_CASES = [
    "certified-by-another-identity",
    "someone-elses-certificate",
    "unknown-author",
    "forged-author",
    "known-device-re-keyed",
]


def attack_device_entries(world: World, case: str) -> dict[str, Any]:
    forged = _device_cases(world)[case]()
    genuine = _append(world, forged)
    cps = {d: getattr(world, d).checkpoint() for d in ("a", "b")}
    res = {d: getattr(world, d).run("sync") for d in ("a", "b")}
    return {"res": res, "cps": cps, "genuine": genuine}


def check_device_refused(world: World, out: dict[str, Any]) -> None:
    for d, tree in (("a", "a_tree"), ("b", "b_tree")):
        dev = getattr(world, d)
        assert_refused(out["res"][d], EXIT_INTEGRITY, names=("log entry",))
        assert dev.tree() == world.facts[tree], f"device {d} applied a forged entry"
        assert dev.checkpoint() == out["cps"][d]


@pytest.mark.parametrize("case", DEVICE_CASES)
def test_entries_by_uncertified_or_forged_devices_refused(world: World, case: str) -> None:
    out = attack_device_entries(world, case)
    check_device_refused(world, out)
    world.store.replace_log("jean", out["genuine"])
    world.b.ok("sync")
    assert world.b.tree() == world.facts["a_tree"]


def test_revoked_device_cannot_write(world: World) -> None:
    """Jean revokes device b (stolen). The thief keeps b's keys and the server colludes: an
    entry signed by b after its revocation (deleting a document) is refused by device a, and
    b itself can no longer reach the account; nothing is deleted anywhere."""
    a, b = world.a, world.b
    a.ok("devices", "revoke", world.facts["device_b"])
    log = _genuine(world)
    head = LogEntry.decode(log[-1]).hash()
    acte = record_of(a, "papiers/acte.txt")
    tomb = FileRecord(
        file_id=acte.file_id, version=acte.version + 1, path="papiers/acte.txt", deleted=True
    )
    world.store.replace_log("jean", [*log, forge_entry(b, len(log) + 1, head, tomb).encode()])
    cp = a.checkpoint()
    assert_refused(a.run("sync"), EXIT_INTEGRITY, names=("log entry",))
    assert a.tree() == world.facts["a_tree"] and a.checkpoint() == cp
    assert_refused(b.run("sync"), EXIT_AUTH, names=("revoked", "device"))
    assert b.tree() == world.facts["b_tree"], "the revoked device lost its local files"
    world.store.replace_log("jean", log)  # the tampering stops
    a.ok("sync")
    assert a.read("papiers/acte.txt") == world.facts["a_tree"]["papiers/acte.txt"]
