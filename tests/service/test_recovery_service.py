"""The trusted-contact recovery service called directly (issue 21): dataclasses, no output,
and the owner's devices told on the event bus (``recovery``) while they watch, then in
``status`` notices; the veto is an event too."""

from __future__ import annotations

import asyncio

import pytest

from vault_client.service import account, recovery, syncing
from vault_client.service.events import RECOVERY, SYNC_DONE, Cancellation, Event
from vault_client.service.results import to_json
from vault_core.errors import AccessDenied, Cancelled

from .conftest import PASS


async def test_owner_devices_are_told_on_the_bus(server, new_context, capfd):
    owner = new_context("A")
    await account.init(owner, server.url, "jean", owner.home.parent / "f-A", PASS)
    owner.unlock(PASS)
    for h in ("alice", "bob"):
        c = new_context(h)
        await account.init(c, server.url, h, c.home.parent / f"f-{h}", PASS)
    entries = await recovery.set_contacts(owner, ["alice", "bob"], 2, 3600)
    assert [e.handle for e in entries] == ["alice", "bob"] and entries[0].threshold == 2
    assert to_json(entries)[0]["fingerprint"] == entries[0].fingerprint

    got: list[Event] = []
    cancel = Cancellation()
    owner.bus.subscribe(got.append, [RECOVERY])
    watching = asyncio.create_task(syncing.watch(owner, cancellation=cancel))
    rounds: list[Event] = []
    owner.bus.subscribe(rounds.append, [SYNC_DONE])
    for _ in range(400):  # the watch loop's first round, then its event socket opens
        if rounds:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    newdev = new_context("N")
    started = await recovery.start(newdev, server.url, "jean")
    assert isinstance(started, recovery.Started) and len(started.code) == 11
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.05)
    assert got and got[0].kind == RECOVERY and "veto" in got[0].text

    listed = await recovery.account_recoveries(owner)
    assert [(r.id, r.state, r.approvals, r.threshold) for r in listed] == [
        (started.id, "pending", 0, 2)
    ]
    notes = await recovery.notices(owner)
    assert notes[0].kind == "recovery" and started.id in notes[0].text

    await recovery.veto(owner, started.id)
    for _ in range(200):
        if len(got) > 1:
            break
        await asyncio.sleep(0.05)
    assert len(got) > 1
    cancel.cancel()
    with pytest.raises(Cancelled):
        await asyncio.wait_for(watching, timeout=20)
    with pytest.raises(AccessDenied):
        await recovery.finish(newdev, started.id, None, "a new passphrase for jean")
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""  # the service never prints
