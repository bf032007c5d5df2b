"""The service layer called directly, as the app's daemon calls it: plain arguments in,
dataclasses out, VaultError subclasses for failures, events on the bus, explicit
cancellation, and nothing printed or prompted."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from vault_client.service import (
    Cancellation,
    Context,
    Event,
    account,
    documents,
    redeem,
    requests,
    shares,
    syncing,
    trust,
)
from vault_client.service.events import PROGRESS_ADVANCE, PROGRESS_START, PROGRESS_STOP, SYNC_DONE
from vault_client.service.results import to_json
from vault_core.errors import (
    AuthError,
    Cancelled,
    GrantUnavailable,
    Locked,
    NotFound,
    UsageError,
)

from .conftest import PASS


def _write(folder: Path, rel: str, data: bytes) -> None:
    p = folder / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


async def _owner(server, new_context, name: str = "A", handle: str = "jean") -> Context:
    ctx = new_context(name)
    created = await account.init(ctx, server.url, handle, ctx.home.parent / f"f-{name}", PASS)
    assert isinstance(created, account.AccountCreated)
    assert created.handle == handle and len(created.recovery_key) > 40
    return ctx


async def test_owner_flow_dataclasses_and_no_output(server, new_context, tmp_path, capfd):
    ctx = await _owner(server, new_context)
    folder = ctx.profile.folder
    _write(folder, "papiers/acte.txt", b"acte de naissance")
    _write(folder, "avis.txt", b"avis v1")

    report = await syncing.sync(ctx)
    assert sorted(report.uploaded) == ["avis.txt", "papiers/acte.txt"]

    _write(folder, "avis.txt", b"avis v2")
    await syncing.sync(ctx)
    versions = documents.history(ctx, str(folder / "avis.txt"))
    assert [type(v) for v in versions] == [documents.Version, documents.Version]
    assert [v.size for v in versions] == [7, 7] and not versions[-1].deleted

    restored = await documents.restore(ctx, "avis.txt")
    assert restored.from_version == 1 and (folder / "avis.txt").read_bytes() == b"avis v1"

    devices = await account.list_devices(ctx)
    assert [(d.this, d.verified) for d in devices] == [(True, True)]

    created = await shares.create(ctx, ["papiers"], 3600, max_uses=2)
    assert created.link is not None and created.link.startswith(server.url + "/s/")
    listed = await shares.list_shares(ctx)
    assert [(s.id, s.remaining_uses) for s in listed] == [(created.grant_id, 2)]

    # a counsellor's empty profile redeems the link: the same service, no account needed
    counsellor = new_context("C")
    out = tmp_path / "out"
    done = await redeem.redeem(counsellor, created.link, out)
    assert done.written == ["papiers/acte.txt"]
    assert (out / "papiers" / "acte.txt").read_bytes() == b"acte de naissance"
    assert [i.name for i in done.items] == ["papiers/acte.txt"]

    log = await shares.log(ctx, created.grant_id)
    assert [a.event for a in log][:1] == ["open"] and "papiers/acte.txt" in [
        a.document for a in log
    ]

    await shares.revoke(ctx, created.grant_id)
    with pytest.raises(GrantUnavailable):
        await redeem.redeem(counsellor, created.link, tmp_path / "out2")
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())

    # every result is JSON as the CLI's --json and the app's API give it
    text = json.dumps(to_json([*versions, *devices, *listed, done]))
    assert '"from_"' not in text and "acte de naissance" not in text

    # the service printed nothing (faces print)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


async def test_locked_without_passphrase_source(server, new_context):
    ctx = await _owner(server, new_context)
    daemon = Context(ctx.home)  # a fresh process on the same profile: locked, no source
    with pytest.raises(Locked) as info:
        await account.list_devices(daemon)
    assert info.value.exit_code == 3
    with pytest.raises(AuthError):
        daemon.unlock("not the passphrase")
    daemon.unlock(PASS)
    assert [d.this for d in await account.list_devices(daemon)] == [True]
    daemon.profile.lock()
    with pytest.raises(Locked):
        await shares.list_shares(daemon)

    asked: list[int] = []

    def source() -> str:
        asked.append(1)
        return PASS

    cli_like = Context(ctx.home, passphrase=source)
    await shares.list_shares(cli_like)
    await shares.list_shares(cli_like)
    assert asked == [1]  # asked once, then the profile stays unlocked in this process


async def test_one_session_for_the_daemon(server, new_context):
    ctx = await _owner(server, new_context)
    async with ctx:
        async with ctx.api() as first:
            pass
        await shares.list_shares(ctx)
        await requests.list_requests(ctx)
        async with ctx.api() as again:
            assert again is first and not again.session.closed
    assert first._session is None  # closed with the context


async def test_progress_and_sync_events_on_the_bus(server, new_context):
    ctx = await _owner(server, new_context)
    for i in range(5):
        _write(ctx.profile.folder, f"doc{i}.txt", f"document {i}".encode())
    seen: list[Event] = []
    ctx.bus.subscribe(seen.append, [PROGRESS_START, PROGRESS_ADVANCE, PROGRESS_STOP])
    report = await syncing.sync(ctx)
    assert len(report.uploaded) == 5
    kinds = [e.kind for e in seen]
    assert kinds[0] == PROGRESS_START and kinds[-1] == PROGRESS_STOP
    advanced = [e.data["path"] for e in seen if e.kind == PROGRESS_ADVANCE]
    assert sorted(advanced) == [f"doc{i}.txt" for i in range(5)]
    assert seen[-1].data == {"done": 5, "total": 5}

    # nobody listening: the engine gets no progress object at all (no per-file work)
    quiet = Context(ctx.home)
    assert not quiet.bus.listening(PROGRESS_ADVANCE) and syncing._progress(quiet) is None


async def test_watch_streams_events_and_stops_on_cancel(server, new_context):
    a = await _owner(server, new_context)
    b = new_context("B")
    await account.login(b, server.url, "jean", b.home.parent / "f-B", PASS)
    _write(a.profile.folder, "first.txt", b"one")
    cancel = Cancellation()
    got: list[Event] = []

    async def reader() -> None:
        async with b.bus.stream() as events:
            async for event in events:
                got.append(event)
                if event.kind == SYNC_DONE and (b.profile.folder / "second.txt").exists():
                    cancel.cancel()
                    return

    async def writer() -> None:
        await syncing.sync(a)
        # wait for b's first round, then change something on a: the server's event stream
        # wakes b's loop, which downloads it
        while not any(e.kind == SYNC_DONE for e in got):
            await asyncio.sleep(0.05)
        _write(a.profile.folder, "second.txt", b"two")
        await syncing.sync(a)

    watching = asyncio.create_task(syncing.watch(b, cancellation=cancel))
    await asyncio.wait_for(asyncio.gather(reader(), writer()), timeout=60)
    with pytest.raises(Cancelled):
        await asyncio.wait_for(watching, timeout=20)
    assert (b.profile.folder / "first.txt").read_bytes() == b"one"
    assert (b.profile.folder / "second.txt").read_bytes() == b"two"
    assert not [p for p in b.profile.folder.rglob("*") if p.name.endswith((".part", ".tmp"))]


async def test_cancelled_before_start_changes_nothing(server, new_context):
    ctx = await _owner(server, new_context)
    _write(ctx.profile.folder, "x.txt", b"x")
    cancel = Cancellation()
    cancel.cancel()
    with pytest.raises(Cancelled):
        await syncing.sync(ctx, cancellation=cancel)
    assert (await syncing.status(ctx)).pending == [
        syncing.PendingAction("x.txt", "x.txt", "upload")
    ]


async def test_mass_deletion_is_a_decision_of_the_face(server, new_context):
    ctx = await _owner(server, new_context)
    for i in range(10):
        _write(ctx.profile.folder, f"f{i}.txt", b"x")
    await syncing.sync(ctx)
    for i in range(9):
        (ctx.profile.folder / f"f{i}.txt").unlink()
    with pytest.raises(UsageError, match="would delete 9 of 10"):
        await syncing.sync(ctx)  # no confirm: refused, nothing changed
    assert len((await syncing.status(ctx)).pending) == 9
    questions: list[str] = []
    report = await syncing.sync(ctx, confirm=lambda q: questions.append(q) or True)
    assert len(report.deleted_remote) == 9 and "9 of 10" in questions[0]


async def test_values_and_trust(server, new_context):
    from vault_client.service.values import parse_duration

    assert parse_duration("7d") == 7 * 86400
    with pytest.raises(UsageError):
        parse_duration("7 days")
    ctx = await _owner(server, new_context)
    with pytest.raises(UsageError):
        trust.add(ctx, "not a key", "Préfecture")
    key = "A" * 43
    added = trust.add(ctx, key, "Préfecture")
    assert trust.list_authorities(ctx) == [added]
    assert dataclasses.asdict(added) == {
        "id": key,
        "public_key": key,
        "name": "Préfecture",
        "words": added.words,
    }
    assert len(added.words.split()) == 6


async def test_conflicts_listed_and_resolved(server, new_context):
    a = await _owner(server, new_context)
    b = new_context("B")
    await account.login(b, server.url, "jean", b.home.parent / "f-B", PASS)
    _write(a.profile.folder, "avis.txt", b"v1")
    await syncing.sync(a)
    await syncing.sync(b)
    _write(a.profile.folder, "avis.txt", b"from A")
    _write(b.profile.folder, "avis.txt", b"from B")
    await syncing.sync(a)
    report = await syncing.sync(b)
    assert len(report.conflicts) == 1
    found = documents.conflicts(b)
    assert [(c.path, c.exists, len(c.copies)) for c in found] == [("avis.txt", True, 1)]
    copy = found[0].copies[0]
    assert copy.device == "B" and (b.profile.folder / copy.path).read_bytes() == b"from B"

    assert documents.resolve_conflict(b, "avis.txt", copy.path, "this") == "avis.txt"
    assert (b.profile.folder / "avis.txt").read_bytes() == b"from B"
    assert not (b.profile.folder / copy.path).exists()
    await syncing.sync(b)
    await syncing.sync(a)
    assert (a.profile.folder / "avis.txt").read_bytes() == b"from B"
    assert documents.conflicts(a) == []
    versions = documents.history(a, "avis.txt")
    assert len(versions) >= 3  # A's version stays in the history

    with pytest.raises(NotFound, match="no conflict copy"):
        documents.resolve_conflict(b, "avis.txt", copy.path, "both")
