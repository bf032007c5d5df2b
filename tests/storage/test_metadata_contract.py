"""Contract of :class:`MetadataStore`, run over every backend (SQLite always; PostgreSQL).

Each test gets fresh state. ``open_meta()`` opens another store on the same data: the
concurrency tests use two of them as two server processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest
from helpers_storage import T0, blob_id, grant_session, hex_id, new_account, new_grant

from vault_core.errors import AlreadyExists, BadRequest, GrantUnavailable, NotFound, QuotaExceeded
from vault_server.errors import HeadConflict
from vault_server.storage.base import (
    Deposit,
    Device,
    DocRequest,
    MetadataStore,
    NewLogEntry,
    Session,
)


async def account(meta: MetadataStore, handle: str = "alice", quota: int = 10_000) -> int:
    a, d, s = new_account(handle, quota)
    return await meta.create_account(a, d, s)


async def present_blob(meta: MetadataStore, account_id: int, size: int = 10) -> str:
    b = blob_id()
    assert await meta.reserve_blob(account_id, b, size, T0) == "reserved"
    await meta.publish_blob(account_id, b)
    return b


def entry(*refs: str) -> NewLogEntry:
    return NewLogEntry(os.urandom(20), tuple(refs))


# -- schema ------------------------------------------------------------------------------
def test_schema_versions_match() -> None:
    from vault_server.storage import migrations
    from vault_server.storage.postgres import schema

    assert schema.SCHEMA_VERSION == migrations.SCHEMA_VERSION


async def test_reopening_applies_no_migration_twice(open_meta, meta: MetadataStore) -> None:
    aid = await account(meta)
    again = await open_meta()
    got = await again.get_account(aid)
    assert got is not None and got.handle == "alice"


async def test_repr_hides_secrets(meta: MetadataStore, backend: str) -> None:
    text = repr(meta)
    if backend == "postgres":
        from storage_backends import pg_dsn, pg_password

        password = pg_password(pg_dsn())
        assert password not in text and "***" in text


# -- accounts, devices, sessions ---------------------------------------------------------
async def test_account_created_with_device_and_session(meta: MetadataStore) -> None:
    a, d, s = new_account("alice", quota=1234)
    aid = await meta.create_account(a, d, s)
    acc = await meta.get_account(aid)
    assert acc is not None
    assert (acc.handle, acc.quota, acc.used, acc.log_head, acc.is_issuer) == (
        "alice",
        1234,
        0,
        0,
        False,
    )
    assert acc.kdf == a.kdf and acc.login_pk == a.login_pk and acc.identity_sig == a.identity_sig
    assert await meta.get_account_by_handle("alice") == acc
    assert await meta.get_account_by_handle("bob") is None
    assert await meta.get_account(aid + 1000) is None
    dev = await meta.get_device(aid, d.id)
    assert dev is not None and dev.account_id == aid and dev.sign_pk == d.sign_pk
    sess = await meta.get_session(s.token_hash, T0)
    assert sess is not None and (sess.account_id, sess.device_id) == (aid, d.id)


async def test_duplicate_handle_or_device_creates_nothing(meta: MetadataStore) -> None:
    a, d, s = new_account("alice")
    await meta.create_account(a, d, s)
    a2, d2, s2 = new_account("alice")
    with pytest.raises(AlreadyExists):
        await meta.create_account(a2, d2, s2)
    assert await meta.get_session(s2.token_hash, T0) is None
    a3, _, s3 = new_account("bob")
    with pytest.raises(AlreadyExists):
        await meta.create_account(a3, d, s3)  # device id taken
    assert await meta.get_account_by_handle("bob") is None
    assert await meta.get_session(s3.token_hash, T0) is None


async def test_set_issuer(meta: MetadataStore) -> None:
    aid = await account(meta)
    assert await meta.set_issuer("alice", True)
    assert (await meta.get_account(aid)).is_issuer  # type: ignore[union-attr]
    assert await meta.set_issuer("alice", False)
    assert not (await meta.get_account(aid)).is_issuer  # type: ignore[union-attr]
    assert not await meta.set_issuer("nobody", True)


async def test_sessions_expire_and_end(meta: MetadataStore) -> None:
    aid = await account(meta)
    s = Session(os.urandom(32), aid, None, T0 + 10)
    await meta.create_session(s)
    assert await meta.get_session(s.token_hash, T0 + 9) is not None
    assert await meta.get_session(s.token_hash, T0 + 10) is None
    await meta.delete_session(s.token_hash)
    assert await meta.get_session(s.token_hash, T0) is None


async def test_new_device_with_session_is_atomic(meta: MetadataStore) -> None:
    aid = await account(meta)
    d = Device(hex_id(), aid, "phone", os.urandom(32), b"cert", T0 + 1)
    s = Session(os.urandom(32), aid, d.id, T0 + 100)
    await meta.create_session(s, d)
    assert [x.id for x in await meta.list_devices(aid)][1] == d.id
    s2 = Session(os.urandom(32), aid, d.id, T0 + 100)
    with pytest.raises(AlreadyExists):
        await meta.create_session(s2, d)
    assert await meta.get_session(s2.token_hash, T0) is None


async def test_device_cert_and_revocation(meta: MetadataStore) -> None:
    a, d, s = new_account("alice")
    aid = await meta.create_account(a, d, s)
    other = await account(meta, "bob")
    assert await meta.set_device_cert(aid, d.id, b"new-cert")
    assert (await meta.get_device(aid, d.id)).cert == b"new-cert"  # type: ignore[union-attr]
    assert not await meta.set_device_cert(other, d.id, b"x")
    assert not await meta.revoke_device(other, d.id, T0)
    assert await meta.revoke_device(aid, d.id, T0 + 5)
    assert await meta.revoke_device(aid, d.id, T0 + 9)  # again: keeps the first time
    assert (await meta.get_device(aid, d.id)).revoked_at == T0 + 5  # type: ignore[union-attr]
    assert await meta.get_session(s.token_hash, T0) is None
    # a session naming a revoked device is never live
    late = Session(os.urandom(32), aid, d.id, T0 + 100)
    await meta.create_session(late)
    assert await meta.get_session(late.token_hash, T0) is None


async def test_ephemeral_device_slides_then_is_revoked_when_idle(meta: MetadataStore) -> None:
    aid = await account(meta)
    web = Device(hex_id(), aid, "Navigateur", os.urandom(32), b"", T0, idle_timeout=900)
    s = Session(os.urandom(32), aid, web.id, T0 + 900)
    await meta.create_session(s, web)
    got = await meta.get_session(s.token_hash, T0 + 1)
    assert got is not None and got.idle_timeout == 900
    assert (await meta.get_device(aid, web.id)).idle_timeout == 900  # type: ignore[union-attr]
    await meta.extend_session(s.token_hash, T0 + 1500)
    await meta.extend_session(s.token_hash, T0 + 1000)  # never earlier
    assert (await meta.get_session(s.token_hash, T0 + 1400)).expires_at == T0 + 1500  # type: ignore[union-attr]
    # an ordinary device, and the ephemeral one while its session lives, stay
    plain = Device(hex_id(), aid, "laptop", os.urandom(32), b"", T0)
    await meta.create_session(Session(os.urandom(32), aid, plain.id, T0 + 10), plain)
    await meta.purge_expired(T0 + 1400, 3600)
    assert (await meta.get_device(aid, web.id)).revoked_at is None  # type: ignore[union-attr]
    await meta.purge_expired(T0 + 1500, 3600)
    assert (await meta.get_device(aid, web.id)).revoked_at == T0 + 1500  # type: ignore[union-attr]
    assert (await meta.get_device(aid, plain.id)).revoked_at is None  # type: ignore[union-attr]
    assert await meta.get_session(s.token_hash, T0 + 1) is None


async def test_change_passphrase_ends_other_sessions(meta: MetadataStore) -> None:
    a, d, s = new_account("alice")
    aid = await meta.create_account(a, d, s)
    other = Session(os.urandom(32), aid, None, T0 + 100)
    await meta.create_session(other)
    kdf = {**a.kdf, "salt": "bmV3"}
    await meta.change_passphrase(aid, kdf, b"L" * 32, b"new-bundle", None, None, s.token_hash)
    acc = await meta.get_account(aid)
    assert acc is not None
    assert (acc.kdf, acc.login_pk, acc.bundle_pass) == (kdf, b"L" * 32, b"new-bundle")
    assert acc.recovery_login_pk == a.recovery_login_pk
    assert acc.bundle_recovery == a.bundle_recovery
    assert await meta.get_session(s.token_hash, T0) is not None
    assert await meta.get_session(other.token_hash, T0) is None
    await meta.change_passphrase(aid, kdf, b"M" * 32, b"b2", b"R" * 32, b"rb", None)
    acc = await meta.get_account(aid)
    assert acc is not None and (acc.recovery_login_pk, acc.bundle_recovery) == (b"R" * 32, b"rb")
    assert await meta.get_session(s.token_hash, T0) is None


# -- challenges and rate limits ----------------------------------------------------------
async def test_challenges_are_single_use(meta: MetadataStore) -> None:
    ch = os.urandom(32)
    await meta.put_challenge(ch, "alice", "passphrase", T0 + 300)
    assert not await meta.take_challenge(ch, "bob", "passphrase", T0)  # consumed anyway
    assert not await meta.take_challenge(ch, "alice", "passphrase", T0)
    ch2 = os.urandom(32)
    await meta.put_challenge(ch2, "alice", "device", T0 + 300)
    assert not await meta.take_challenge(ch2, "alice", "device", T0 + 300)  # expired
    ch3 = os.urandom(32)
    await meta.put_challenge(ch3, "alice", "device", T0 + 300)
    assert await meta.take_challenge(ch3, "alice", "device", T0)


async def test_concurrent_challenge_take_has_one_winner(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    ch = os.urandom(32)
    await m1.put_challenge(ch, "alice", "passphrase", T0 + 300)
    got = await asyncio.gather(
        *(m.take_challenge(ch, "alice", "passphrase", T0) for m in [m1, m2] * 5)
    )
    assert got.count(True) == 1


async def test_rate_counters(meta: MetadataStore) -> None:
    await meta.rate_hit(["k1", "k2"], T0)
    await meta.rate_hit(["k1"], T0 + 10)
    assert await meta.rate_count("k1", T0 - 1) == 2
    assert await meta.rate_count("k1", T0) == 1
    assert await meta.rate_count("k2", T0 - 1) == 1
    assert await meta.rate_count("k3", 0) == 0
    await meta.purge_expired(T0 + 20, rate_window=15)  # drops events at <= T0+5
    assert await meta.rate_count("k1", 0) == 1


async def test_rate_take_holds_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    got = await asyncio.gather(*(m.rate_take("issuer:1", T0, 60, 5) for m in [m1, m2] * 10))
    assert got.count(True) == 5
    assert not await m1.rate_take("issuer:1", T0 + 59, 60, 5)
    assert await m2.rate_take("issuer:1", T0 + 60, 60, 5)  # the window moved on


async def test_rate_take_counts_n_events_all_or_none(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    got = await asyncio.gather(*(m.rate_take("issuer:2", T0, 60, 10, 3) for m in [m1, m2] * 3))
    assert got.count(True) == 3  # 9 of 10 taken; a fourth 3 would make 12
    assert await m1.rate_count("issuer:2", T0 - 1) == 9
    assert not await m2.rate_take("issuer:2", T0 + 1, 60, 10, 2)
    assert await m2.rate_count("issuer:2", T0 - 1) == 9  # a refusal counts nothing
    assert await m2.rate_take("issuer:2", T0 + 1, 60, 10, 1)
    assert not await m1.rate_take("issuer:2", T0 + 60, 60, 10, 10)  # the one at T0 + 1 stays
    assert await m1.rate_take("issuer:2", T0 + 60, 60, 10, 9)  # the 9 at T0 left the window
    assert await m1.rate_count("issuer:2", 0) == 10  # the older ones are dropped as they go
    assert await m1.rate_take("issuer:2", T0 + 61 + 60, 60, 10, 10)
    assert await m1.rate_count("issuer:2", 0) == 10


# -- blobs -------------------------------------------------------------------------------
async def test_blob_lifecycle_and_quota(meta: MetadataStore) -> None:
    aid = await account(meta, quota=100)
    b = blob_id()
    assert await meta.reserve_blob(aid, b, 60, T0) == "reserved"
    assert await meta.blob_size(aid, b) is None  # pending is invisible
    assert await meta.blobs_missing(aid, [b]) == [b]
    assert await meta.reserve_blob(aid, b, 60, T0) == "busy"
    assert (await meta.get_account(aid)).used == 60  # type: ignore[union-attr]
    with pytest.raises(QuotaExceeded):
        await meta.reserve_blob(aid, blob_id(), 41, T0)
    assert (await meta.get_account(aid)).used == 60  # type: ignore[union-attr]
    await meta.publish_blob(aid, b)
    assert await meta.blob_size(aid, b) == 60
    assert await meta.reserve_blob(aid, b, 60, T0) == "present"
    await meta.release_blob(aid, b)  # a present blob is not released
    assert await meta.blob_size(aid, b) == 60
    c = blob_id()
    assert await meta.reserve_blob(aid, c, 40, T0) == "reserved"
    await meta.release_blob(aid, c)
    assert (await meta.get_account(aid)).used == 60  # type: ignore[union-attr]
    assert await meta.reserve_blob(aid, c, 40, T0) == "reserved"


async def test_blobs_are_per_account(meta: MetadataStore) -> None:
    a1, a2 = await account(meta, "alice"), await account(meta, "bob")
    b = await present_blob(meta, a1)
    assert await meta.blob_size(a2, b) is None
    assert await meta.blobs_missing(a2, [b]) == [b]


async def test_blobs_missing_keeps_order(meta: MetadataStore) -> None:
    aid = await account(meta)
    p1, p2 = await present_blob(meta, aid), await present_blob(meta, aid)
    m1, m2 = blob_id(), blob_id()
    assert await meta.blobs_missing(aid, [m2, p1, m1, p2, m2]) == [m2, m1, m2]
    assert await meta.blobs_missing(aid, []) == []


async def test_quota_holds_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1, quota=500)

    async def reserve(m: MetadataStore) -> str:
        try:
            return await m.reserve_blob(aid, blob_id(), 100, T0)
        except QuotaExceeded:
            return "full"

    got = await asyncio.gather(*(reserve(m) for m in [m1, m2] * 6))
    assert got.count("reserved") == 5 and got.count("full") == 7
    assert (await m2.get_account(aid)).used == 500  # type: ignore[union-attr]


async def test_same_blob_reserved_once_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1)
    b = blob_id()
    got = await asyncio.gather(*(m.reserve_blob(aid, b, 10, T0) for m in [m1, m2] * 4))
    assert got.count("reserved") == 1 and got.count("busy") == 7
    assert (await m1.get_account(aid)).used == 10  # type: ignore[union-attr]


async def test_unsettled_and_gc_marking(meta: MetadataStore) -> None:
    aid = await account(meta)
    pending = blob_id()
    await meta.reserve_blob(aid, pending, 5, T0)
    old_free = await present_blob(meta, aid)
    in_log = await present_blob(meta, aid)
    in_grant = await present_blob(meta, aid)
    await meta.log_append(aid, 0, [entry(in_log)], None, T0)
    await meta.create_grant(new_grant(aid), [in_grant])
    young = blob_id()
    await meta.reserve_blob(aid, young, 5, T0 + 100)
    await meta.publish_blob(aid, young)
    assert [r.blob_id for r in await meta.unsettled_blobs(T0)] == [pending]
    assert await meta.unsettled_blobs(T0 - 1) == []
    doomed = await meta.mark_unreferenced(T0 + 50, 100)
    assert [(r.blob_id, r.state, r.size) for r in doomed] == [(old_free, "deleting", 10)]
    assert await meta.blob_size(aid, old_free) is None
    assert {r.blob_id for r in await meta.unsettled_blobs(T0)} == {pending, old_free}
    used = (await meta.get_account(aid)).used  # type: ignore[union-attr]
    await meta.release_blob(aid, old_free)
    assert (await meta.get_account(aid)).used == used - 10  # type: ignore[union-attr]
    assert await meta.mark_unreferenced(T0 + 50, 100) == []


async def test_gc_marking_races_a_log_append(open_meta) -> None:
    """A blob is either referenced by the append or marked by GC, never both."""
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1)
    for _ in range(10):
        b = await present_blob(m1, aid)
        head = await m1.log_head(aid)

        async def append(b: str = b, head: int = head) -> bool:
            try:
                await m2.log_append(aid, head, [entry(b)], None, T0)
                return True
            except BadRequest:
                return False

        appended, marked = await asyncio.gather(append(), m1.mark_unreferenced(T0 + 1, 10))
        assert appended != any(r.blob_id == b for r in marked)
        for r in marked:
            await m1.release_blob(r.account_id, r.blob_id)


# -- change log --------------------------------------------------------------------------
async def test_log_compare_and_swap(meta: MetadataStore) -> None:
    aid = await account(meta)
    b = await present_blob(meta, aid)
    assert await meta.log_head(aid) == 0
    assert await meta.log_append(aid, 0, [entry(b), entry()], "d" * 32, T0) == 2
    with pytest.raises(HeadConflict) as e:
        await meta.log_append(aid, 1, [entry()], None, T0)
    assert e.value.head == 2
    with pytest.raises(BadRequest):
        await meta.log_append(aid, 2, [entry(blob_id())], None, T0)
    pending = blob_id()
    await meta.reserve_blob(aid, pending, 1, T0)
    with pytest.raises(BadRequest):
        await meta.log_append(aid, 2, [entry(pending)], None, T0)
    assert await meta.log_head(aid) == 2
    assert (await meta.get_account(aid)).log_head == 2  # type: ignore[union-attr]


async def test_log_append_checks_every_ref_of_a_large_append(meta: MetadataStore) -> None:
    """An append of many entries (refs checked in groups) is refused if any one ref, here the
    last of 600 after the first group, is not present; whole, it keeps every entry's refs."""
    aid = await account(meta)
    refs = [await present_blob(meta, aid) for _ in range(600)]
    entries = [entry(r) for r in refs[:-1]] + [entry(refs[-1], blob_id())]
    with pytest.raises(BadRequest):
        await meta.log_append(aid, 0, entries, None, T0)
    assert await meta.log_head(aid) == 0
    entries[-1] = entry(refs[-1], refs[0])
    assert await meta.log_append(aid, 0, entries, None, T0) == 600
    listed, head = await meta.log_list(aid, 0, 1000)
    assert head == 600 and [e.seq for e in listed] == list(range(1, 601))
    assert [e.entry for e in listed] == [e.entry for e in entries]
    # every ref is held by the log: GC marks only a blob no entry names
    loose = await present_blob(meta, aid)
    marked = await meta.mark_unreferenced(T0 + 10**6, 1000)
    assert [r.blob_id for r in marked] == [loose]


async def test_log_list_pages_with_head(meta: MetadataStore) -> None:
    aid = await account(meta)
    written = [entry() for _ in range(7)]
    await meta.log_append(aid, 0, written, None, T0)
    page, head = await meta.log_list(aid, 2, 3)
    assert head == 7
    assert [(e.seq, e.entry) for e in page] == [(3 + i, written[2 + i].entry) for i in range(3)]
    page, head = await meta.log_list(aid, 7, 10)
    assert (page, head) == ([], 7)
    other = await account(meta, "bob")
    assert await meta.log_list(other, 0, 10) == ([], 0)


async def test_log_cas_one_winner_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1)

    async def append(m: MetadataStore) -> int | None:
        try:
            return await m.log_append(aid, 0, [entry()], None, T0)
        except HeadConflict:
            return None

    got = await asyncio.gather(*(append(m) for m in [m1, m2] * 8))
    assert got.count(1) == 1 and got.count(None) == 15


async def test_concurrent_writers_lose_nothing(open_meta) -> None:
    """Writers on two 'processes' retry on conflict: every entry lands exactly once."""
    m1, m2 = await open_meta(), await open_meta()
    aid = await account(m1)
    per_writer = 6

    async def writer(m: MetadataStore, name: str) -> None:
        head = await m.log_head(aid)
        done = 0
        while done < per_writer:
            try:
                head = await m.log_append(aid, head, [entry()], f"{name}:{done}".ljust(32), T0)
                done += 1
            except HeadConflict as e:
                head = e.head

    await asyncio.gather(*(writer(m, f"w{i}") for i, m in enumerate([m1, m2] * 3)))
    page, head = await m2.log_list(aid, 0, 1000)
    assert head == 6 * per_writer == len(page)
    assert [e.seq for e in page] == list(range(1, head + 1))


# -- grants ------------------------------------------------------------------------------
async def test_grant_create_and_read(meta: MetadataStore) -> None:
    owner = await account(meta, "alice")
    b = await present_blob(meta, owner)
    g = new_grant(owner, max_uses=2)
    await meta.create_grant(g, [b, b])
    assert await meta.get_grant(g.id) == g
    assert await meta.grant_has_blob(g.id, b)
    assert not await meta.grant_has_blob(g.id, blob_id())
    with pytest.raises(AlreadyExists):
        await meta.create_grant(g, [])
    with pytest.raises(BadRequest):
        await meta.create_grant(new_grant(owner), [blob_id()])
    assert await meta.get_grant(hex_id()) is None


async def test_grant_open_counts_and_expires(meta: MetadataStore) -> None:
    owner = await account(meta, "alice")
    g = new_grant(owner, max_uses=2, expires_at=T0 + 100)
    await meta.create_grant(g, [])
    s1 = grant_session(g.id)
    opened = await meta.grant_open(g.id, T0, 10, s1)
    assert opened is not None and opened.uses == 1
    assert await meta.get_grant_session(s1.token_hash, T0) == s1
    assert await meta.get_grant_session(s1.token_hash, s1.expires_at) is None
    assert (await meta.grant_open(g.id, T0, 10, grant_session(g.id))).uses == 2  # type: ignore[union-attr]
    assert await meta.grant_open(g.id, T0, 10, grant_session(g.id)) is None  # used up
    g2 = new_grant(owner, expires_at=T0 + 100)
    await meta.create_grant(g2, [])
    assert await meta.grant_open(g2.id, T0 + 100, 10, grant_session(g2.id)) is None
    assert await meta.grant_open(hex_id(), T0, 10, grant_session(g2.id)) is None
    assert (await meta.get_grant(g2.id)).uses == 0  # type: ignore[union-attr]


async def test_grant_uses_hold_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    owner = await account(m1, "alice")
    g = new_grant(owner, max_uses=4)
    await m1.create_grant(g, [])
    got = await asyncio.gather(
        *(m.grant_open(g.id, T0, 10, grant_session(g.id)) for m in [m1, m2] * 6)
    )
    assert sum(x is not None for x in got) == 4
    assert (await m2.get_grant(g.id)).uses == 4  # type: ignore[union-attr]


async def test_grant_failed_attempts_lock(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    owner = await account(m1)
    g = new_grant(owner)
    await m1.create_grant(g, [])
    counts = await asyncio.gather(*(m.grant_failed_attempt(g.id) for m in [m1, m2] * 5))
    assert sorted(counts) == list(range(1, 11))
    assert await m1.grant_open(g.id, T0, 10, grant_session(g.id)) is None  # locked
    assert (await m2.get_grant(g.id)).state(T0, 10) == "locked"  # type: ignore[union-attr]
    assert await m1.grant_failed_attempt(hex_id()) == 0


async def test_grant_revoke_ends_sessions_at_once(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    owner = await account(m1, "alice")
    g = new_grant(owner)
    await m1.create_grant(g, [])
    s = grant_session(g.id)
    assert await m1.grant_open(g.id, T0, 10, s) is not None
    other = await account(m1, "bob")
    assert not await m2.revoke_grant(other, g.id, T0)
    assert await m2.revoke_grant(owner, g.id, T0 + 1)
    assert await m1.get_grant_session(s.token_hash, T0) is None
    revoked = await m1.get_grant(g.id)
    assert revoked is not None and revoked.state(T0, 10) == "revoked"
    assert await m1.revoke_grant(owner, g.id, T0 + 5)
    assert (await m1.get_grant(g.id)).revoked_at == T0 + 1  # type: ignore[union-attr]


async def test_grant_payload_update(meta: MetadataStore) -> None:
    owner = await account(meta, "alice")
    b1, b2 = await present_blob(meta, owner), await present_blob(meta, owner)
    g = new_grant(owner)
    await meta.create_grant(g, [b1])
    await meta.update_grant_payload(owner, g.id, b"new", [b2], T0, 10)
    got = await meta.get_grant(g.id)
    assert got is not None and got.payload == b"new"
    assert not await meta.grant_has_blob(g.id, b1) and await meta.grant_has_blob(g.id, b2)
    with pytest.raises(BadRequest):
        await meta.update_grant_payload(owner, g.id, b"x", [blob_id()], T0, 10)
    other = await account(meta, "bob")
    with pytest.raises(NotFound):
        await meta.update_grant_payload(other, g.id, b"x", [], T0, 10)
    await meta.revoke_grant(owner, g.id, T0)
    with pytest.raises(GrantUnavailable):
        await meta.update_grant_payload(owner, g.id, b"x", [], T0, 10)


async def test_grant_lists_and_access_log(meta: MetadataStore) -> None:
    alice, bob = await account(meta, "alice"), await account(meta, "bob")
    link = new_grant(alice)
    shared = dataclasses.replace(new_grant(alice, kind="account", to=bob), created_at=T0 + 1)
    await meta.create_grant(link, [])
    await meta.create_grant(shared, [])
    mine = await meta.list_grants(alice)
    assert [(i.grant.id, i.to_handle, i.owner_handle) for i in mine] == [
        (link.id, None, "alice"),
        (shared.id, "bob", "alice"),
    ]
    assert [(i.grant.id, i.owner_handle) for i in await meta.list_shared(bob)] == [
        (shared.id, "alice")
    ]
    assert await meta.list_shared(alice) == []
    await meta.grant_open(shared.id, T0, 10, grant_session(shared.id, bob))
    b = blob_id()
    await meta.grant_log_access(shared.id, T0 + 2, b, bob)
    await meta.grant_log_access(shared.id, T0 + 3, b, None)
    log = await meta.grant_access_log(alice, shared.id)
    assert log is not None
    assert [(x.at, x.what, x.account_handle) for x in log] == [
        (T0, "open", "bob"),
        (T0 + 2, b, "bob"),
        (T0 + 3, b, None),
    ]
    assert await meta.grant_access_log(bob, shared.id) is None


# -- inbox and requests ------------------------------------------------------------------
async def test_deposits(meta: MetadataStore) -> None:
    city, jean = await account(meta, "city"), await account(meta, "jean")
    d = Deposit(hex_id(), jean, city, "city", b"envelope!", T0)
    await meta.add_deposit(d, 10)
    with pytest.raises(AlreadyExists):
        await meta.add_deposit(d, 10)
    infos = await meta.list_deposits(jean)
    assert [(i.id, i.sender_handle, i.received_at, i.size) for i in infos] == [
        (d.id, "city", T0, 9)
    ]
    assert await meta.get_deposit(jean, d.id) == d
    assert await meta.get_deposit(city, d.id) is None
    assert not await meta.delete_deposit(city, d.id)
    assert await meta.delete_deposit(jean, d.id)
    assert await meta.list_deposits(jean) == []


async def test_inbox_limit_holds_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    city, jean = await account(m1, "city"), await account(m1, "jean")

    async def deposit(m: MetadataStore) -> bool:
        try:
            await m.add_deposit(Deposit(hex_id(), jean, city, "city", b"e", T0), 3)
            return True
        except QuotaExceeded:
            return False

    got = await asyncio.gather(*(deposit(m) for m in [m1, m2] * 4))
    assert got.count(True) == 3
    assert len(await m2.list_deposits(jean)) == 3


async def test_add_deposits_answers_each_in_one_transaction(meta: MetadataStore) -> None:
    city, jean, anne = [await account(meta, h) for h in ("city", "jean", "anne")]
    held = Deposit(hex_id(), jean, city, "city", b"held before", T0)
    await meta.add_deposit(held, 3)
    twice = hex_id()
    batch = [
        Deposit(hex_id(), jean, city, "city", b"one", T0),
        Deposit(held.id, anne, city, "city", b"a taken id, another recipient", T0),
        Deposit(twice, anne, city, "city", b"two", T0),
        Deposit(twice, anne, city, "city", b"two again", T0),  # taken earlier in this call
        Deposit(hex_id(), jean, city, "city", b"three", T0),
        Deposit(hex_id(), jean, city, "city", b"four: jean holds 3", T0),
        Deposit(hex_id(), anne, city, "city", b"five", T0),
    ]
    got = await meta.add_deposits(batch, 3)
    assert got == ["created", "exists", "created", "exists", "created", "inbox_full", "created"]
    assert sorted(i.id for i in await meta.list_deposits(jean)) == sorted(
        [held.id, batch[0].id, batch[4].id]
    )
    assert sorted(i.id for i in await meta.list_deposits(anne)) == sorted([twice, batch[6].id])
    stored = await meta.get_deposit(anne, twice)
    assert stored is not None and stored.envelope == b"two"
    assert (await meta.get_deposit(jean, held.id)) == held  # not overwritten
    # the same call again: every id is held now
    assert await meta.add_deposits(batch, 3) == ["exists"] * 5 + ["inbox_full", "exists"]
    assert await meta.add_deposits([], 3) == []


async def test_add_deposits_inbox_limit_holds_across_processes(open_meta) -> None:
    m1, m2 = await open_meta(), await open_meta()
    city, jean = await account(m1, "city"), await account(m1, "jean")

    def batch() -> list[Deposit]:
        return [Deposit(hex_id(), jean, city, "city", b"e", T0) for _ in range(3)]

    got = await asyncio.gather(*(m.add_deposits(batch(), 5) for m in [m1, m2] * 2))
    flat = [o for answer in got for o in answer]
    assert flat.count("created") == 5 and flat.count("inbox_full") == 7
    assert len(await m2.list_deposits(jean)) == 5


async def test_requests_and_answers(meta: MetadataStore) -> None:
    city, jean = await account(meta, "city"), await account(meta, "jean")
    q = DocRequest(hex_id(), jean, "jean", city, "city", b"please", T0 + 1000, T0)
    await meta.add_request(q)
    with pytest.raises(AlreadyExists):
        await meta.add_request(q)
    assert await meta.list_requests(jean, sent=False) == [q]
    assert await meta.list_requests(city, sent=True) == [q]
    assert await meta.list_requests(city, sent=False) == []
    g = new_grant(jean)
    await meta.create_grant(g, [])
    with pytest.raises(BadRequest):
        await meta.answer_request(jean, q.id, hex_id(), None, T0)
    city_grant = new_grant(city)
    await meta.create_grant(city_grant, [])
    assert await meta.answer_request(city, q.id, city_grant.id, None, T0) is None  # not theirs
    answered = await meta.answer_request(jean, q.id, g.id, b"answer", T0 + 5)
    assert answered is not None
    assert (answered.answer_grant_id, answered.answer_envelope, answered.answered_at) == (
        g.id,
        b"answer",
        T0 + 5,
    )
    again = await meta.answer_request(jean, q.id, g.id, None, T0 + 6)
    assert again is not None and again.answer_envelope is None and again.answered_at == T0 + 6
    assert await meta.answer_request(jean, hex_id(), g.id, None, T0) is None


async def test_purge_expired(meta: MetadataStore) -> None:
    aid = await account(meta)
    s = Session(os.urandom(32), aid, None, T0 + 10)
    await meta.create_session(s)
    ch = os.urandom(32)
    await meta.put_challenge(ch, "alice", "passphrase", T0 + 10)
    g = new_grant(aid)
    await meta.create_grant(g, [])
    gs = dataclasses.replace(grant_session(g.id), expires_at=T0 + 10)
    await meta.grant_open(g.id, T0, 10, gs)
    await meta.purge_expired(T0 + 10, 60)
    assert await meta.get_session(s.token_hash, 0) is None
    assert await meta.get_grant_session(gs.token_hash, 0) is None
    assert not await meta.take_challenge(ch, "alice", "passphrase", 0)


async def test_revoked_and_expired_grants_stop_holding_blobs(meta: MetadataStore) -> None:
    aid = await account(meta)
    held = {name: await present_blob(meta, aid) for name in ("revoked", "expired", "live")}
    revoked = new_grant(aid)
    expired = new_grant(aid, expires_at=T0 + 20)
    live = new_grant(aid, expires_at=T0 + 10_000)
    await meta.create_grant(revoked, [held["revoked"]])
    await meta.create_grant(expired, [held["expired"]])
    await meta.create_grant(live, [held["live"]])
    assert await meta.mark_unreferenced(T0 + 50, 100) == []  # all three held
    assert await meta.revoke_grant(aid, revoked.id, T0 + 5)
    assert not await meta.grant_has_blob(revoked.id, held["revoked"])
    await meta.purge_expired(T0 + 30, 60)
    assert not await meta.grant_has_blob(expired.id, held["expired"])
    assert await meta.grant_has_blob(live.id, held["live"])
    doomed = await meta.mark_unreferenced(T0 + 50, 100)
    assert {r.blob_id for r in doomed} == {held["revoked"], held["expired"]}
