"""This device's side of the signed log: pull and verify, sign and append.

Theory of operation
-------------------
:meth:`LogMixin.pull` asks the server for its head (``GET /v1/log/head``); a head below the
device's checkpoint is a rollback (IntegrityError, exit 4). Every new entry is fetched and
verified with LogVerifier (hash chain, signatures, device certificates), and the verified
records and the new checkpoint are committed in one transaction per page; a log that stops
before its announced head is truncated (IntegrityError).

:class:`EntryChain` signs entries chained from a head (a sync signs each record as soon as
it exists, while its blobs are on the wire), and :meth:`LogMixin.append` sends them by
compare-and-swap on the head (``expected_head``), ``APPEND_BATCH`` entries and about
``APPEND_BYTES`` per request. A 409 (Conflict) means another device moved the head: the
caller pulls again and re-plans (entries appended before are in the log, and uploaded blobs
are known, so nothing is lost or sent twice). Entries this device made and the server took at
the expected head need no re-verification of their own signatures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from vault_core.encoding import b64u
from vault_core.errors import Conflict, IntegrityError
from vault_core.keys import AccountBundle, VaultKeys
from vault_core.log import (
    FileRecord,
    HelperRecord,
    LogVerifier,
    check_head,
    entry_hash,
    make_entry,
)

from ..api import Api, dec
from ..state import State
from .common import MAX_ROUNDS, now_ms

APPEND_BATCH = 1000  # log entries per compare-and-swap (server limit: 1000)
APPEND_BYTES = 4 * 1024 * 1024  # body of one append (server limit: 8 MiB)


def _append_batches(refs: list[list[str]]) -> Iterator[tuple[int, int]]:
    """[start, stop) slices of at most APPEND_BATCH entries and about APPEND_BYTES of body."""
    start, size = 0, 0
    for i, r in enumerate(refs):
        cost = 2048 + 67 * len(r)  # an entry is ~1-2 KB of JSON; each ref 64 hex + quotes
        if i > start and (i - start >= APPEND_BATCH or size + cost > APPEND_BYTES):
            yield start, i
            start, size = i, 0
        size += cost
    if start < len(refs):
        yield start, len(refs)


class EntryChain:
    """Signed log entries for records, chained from a given head (seq, hash)."""

    def __init__(self, engine: LogMixin, seq: int, head: bytes) -> None:
        self.engine = engine
        self.start = (seq, head)
        self.seq, self.prev = seq, head
        self.records: list[Any] = []
        self.encoded: list[bytes] = []
        self.hashes: list[bytes] = []

    def follows(self, v: LogVerifier) -> bool:
        return self.start == (v.seq, v.head)

    def after(self, n: int) -> EntryChain:
        """The entries after the first ``n`` (once those are appended), as a chain."""
        head = self.hashes[n - 1] if n else self.start[1]
        rest = EntryChain(self.engine, self.start[0] + n, head)
        rest.records = self.records[n:]
        rest.encoded = self.encoded[n:]
        rest.hashes = self.hashes[n:]
        return rest

    def add(self, rec: Any) -> None:
        e = self.engine
        self.seq += 1
        entry = make_entry(
            handle=e.handle,
            record_key=e.vk.record_key,
            device_id=e.device_id,
            device_sk=e.device_sk,
            seq=self.seq,
            prev=self.prev,
            time=now_ms(),
            record=rec,
            nonce=os.urandom(24),
        )
        encoded = entry.encode()
        self.prev = entry_hash(encoded)
        self.records.append(rec)
        self.encoded.append(encoded)
        self.hashes.append(self.prev)


class LogMixin:
    """The log part of :class:`~.engine.SyncEngine` (which sets these attributes)."""

    api: Api
    state: State
    bundle: AccountBundle
    handle: str
    vk: VaultKeys
    device_id: str
    device_sk: bytes

    def verifier(self) -> LogVerifier:
        cp = self.state.get_meta("checkpoint")
        sign_pk = self.bundle.identity_sign[0]
        box_sk = self.bundle.identity_box[1]  # opens helper entries (SPEC §Mandates)
        if cp is None:
            return LogVerifier(self.handle, sign_pk, self.vk.record_key, box_sk=box_sk)
        return LogVerifier.from_state(self.handle, sign_pk, self.vk.record_key, cp, box_sk)

    async def remote_head(self) -> int:
        res = await self.api.get("/v1/log/head")
        head = res.get("seq") if isinstance(res, dict) else None
        if not isinstance(head, int) or isinstance(head, bool) or head < 0:
            raise IntegrityError("the server sent a malformed log head")
        return head

    async def pull(self) -> LogVerifier:
        v = self.verifier()
        head = await self.remote_head()
        check_head(head, v.seq)
        while v.seq < head:
            res = await self.api.get("/v1/log", params={"after": str(v.seq), "limit": "1000"})
            entries = res.get("entries") if isinstance(res, dict) else None
            if not isinstance(entries, list) or not entries:
                raise IntegrityError(
                    f"the server's log stops at entry {v.seq} although it announced {head} "
                    "(truncated log)"
                )
            records: list[tuple[int, FileRecord]] = []
            actions: list[tuple[int, HelperRecord, int]] = []
            try:
                for item in entries:
                    if not isinstance(item, dict) or item.get("seq") != v.seq + 1:
                        raise IntegrityError()
                    entry, rec = v.feed(dec(item["entry"]))
                    if isinstance(rec, FileRecord):
                        records.append((v.seq, rec))
                    elif isinstance(rec, HelperRecord):  # a helper adds files, never changes one
                        if rec.file is not None:
                            fid = rec.file.file_id
                            if self.state.has_file(fid) or any(
                                r.file_id == fid for _, r in records
                            ):
                                raise IntegrityError()
                            records.append((v.seq, rec.file))
                        actions.append((v.seq, rec, entry.time))
            except IntegrityError:
                raise IntegrityError(
                    f"log entry {v.seq + 1} from the server failed verification "
                    "(forged, replayed, reordered, dropped or forked history)"
                ) from None
            self.state.commit_verified(v.state(), records, actions)
            new_head = res.get("head")
            if isinstance(new_head, int) and new_head > head:
                head = new_head
        return v

    def chain(self, v: LogVerifier) -> EntryChain:
        return EntryChain(self, v.seq, v.head)

    async def append(
        self,
        v: LogVerifier,
        records: list[Any],
        refs: list[list[str]],
        chain: EntryChain | None = None,
    ) -> None:
        """Sign and append records after the verified head, in one CAS per batch.

        ``chain`` holds the entries of ``records`` already signed (the sync signs each one as
        soon as its record exists, while the uploads are on the wire); it is used only if it
        starts at the verifier's head and begins with exactly these records.

        Entries this device has just made and the server accepted at the expected head need no
        re-verification of their own signatures: the verifier's head simply moves to their
        hash (device records still go through the full check, as they change the key set).
        """
        if chain is None or not chain.follows(v) or chain.records[: len(records)] != records:
            chain = self.chain(v)
            for rec in records:
                chain.add(rec)
        for start, stop in _append_batches(refs):
            part = records[start:stop]
            part_refs = refs[start:stop]
            encoded = chain.encoded[start:stop]
            hashes = chain.hashes[start:stop]
            await self.api.post(
                "/v1/log",
                {
                    "expected_head": v.seq,
                    "entries": [
                        {"entry": b64u(e), "refs": r}
                        for e, r in zip(encoded, part_refs, strict=True)
                    ],
                },
            )
            verified: list[tuple[int, FileRecord]] = []
            for rec, e, h in zip(part, encoded, hashes, strict=True):
                if isinstance(rec, FileRecord):
                    v.seq += 1
                    v.head = h
                    verified.append((v.seq, rec))
                else:
                    v.feed(e)
            self.state.commit_verified(v.state(), verified)

    async def append_device_record(self, kind: str, device_id: str, cert: bytes) -> None:
        from vault_core.log import DeviceRecord

        for _ in range(MAX_ROUNDS):
            v = await self.pull()
            try:
                await self.append(v, [DeviceRecord(kind, device_id, cert)], [[]])
                return
            except Conflict:
                continue
        raise Conflict("the log kept moving; try again")
