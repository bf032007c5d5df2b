"""Blob rows (quota, states for recovery and GC) and the change log."""

from __future__ import annotations

from collections.abc import Sequence

from vault_core.errors import BadRequest, NotFound, QuotaExceeded

from ...errors import HeadConflict
from ..base import BatchReserveResult, BlobRow, LogEntry, NewLogEntry, ReserveResult
from .core import PgCore, _lock_account

# "Unreferenced": no log entry and no grant names the blob (both queries carry the test).
_CANDIDATES = (
    "SELECT account_id, blob_id FROM blobs b WHERE b.state='present' AND b.created_at<$1"
    " AND NOT EXISTS (SELECT 1 FROM log_refs r"
    "   WHERE r.account_id=b.account_id AND r.blob_id=b.blob_id)"
    " AND NOT EXISTS (SELECT 1 FROM grant_blobs g"
    "   WHERE g.account_id=b.account_id AND g.blob_id=b.blob_id)"
    " LIMIT $2"
)
_MARK = (
    "UPDATE blobs b SET state='deleting' WHERE b.account_id=$1"
    " AND b.blob_id = ANY($2::text[]) AND b.state='present' AND b.created_at<$3"
    " AND NOT EXISTS (SELECT 1 FROM log_refs r"
    "   WHERE r.account_id=b.account_id AND r.blob_id=b.blob_id)"
    " AND NOT EXISTS (SELECT 1 FROM grant_blobs g"
    "   WHERE g.account_id=b.account_id AND g.blob_id=b.blob_id)"
    " RETURNING b.*"
)


class BlobsLogPart(PgCore):
    # -- blobs ------------------------------------------------------------------------
    async def blobs_missing(self, account_id: int, blob_ids: Sequence[str]) -> list[str]:
        if not blob_ids:
            return []
        rows = await self.pool.fetch(
            "SELECT blob_id FROM blobs WHERE account_id=$1 AND blob_id = ANY($2::text[])"
            " AND state='present'",
            account_id,
            sorted(set(blob_ids)),
        )
        present = {r["blob_id"] for r in rows}
        return [b for b in blob_ids if b not in present]

    async def blob_size(self, account_id: int, blob_id: str) -> int | None:
        size = await self.pool.fetchval(
            "SELECT size FROM blobs WHERE account_id=$1 AND blob_id=$2 AND state='present'",
            account_id,
            blob_id,
        )
        return int(size) if size is not None else None

    async def reserve_blob(
        self, account_id: int, blob_id: str, size: int, now: int
    ) -> ReserveResult:
        # vault_reserve_blob (schema.py): lock the account row, then check and charge.
        result = await self.pool.fetchval(
            "SELECT vault_reserve_blob($1, $2, $3, $4)", account_id, blob_id, size, now
        )
        if result == "no_account":
            raise NotFound()
        if result == "quota":
            raise QuotaExceeded()
        if result in ("reserved", "present", "busy"):
            return result  # type: ignore[no-any-return]
        raise RuntimeError(f"vault_reserve_blob returned {result!r}")

    async def reserve_blobs(
        self, account_id: int, items: Sequence[tuple[str, int]], now: int
    ) -> list[BatchReserveResult]:
        if not items:
            return []
        async with self._tx() as c:
            # The account row lock first (as vault_reserve_blob): every reservation of the
            # account, in any process, waits here, so the states read next are current.
            acc = await _lock_account(c, account_id)
            if acc is None:
                raise NotFound()
            rows = await c.fetch(
                "SELECT blob_id, state FROM blobs WHERE account_id=$1"
                " AND blob_id = ANY($2::text[])",
                account_id,
                sorted({b for b, _ in items}),
            )
            states = {r["blob_id"]: r["state"] for r in rows}
            free = int(acc["quota"]) - int(acc["used"])
            out: list[BatchReserveResult] = []
            new_ids: list[str] = []
            new_sizes: list[int] = []
            for blob_id, size in items:
                st = states.get(blob_id)
                if st is not None:
                    if st == "present":
                        out.append("present")
                        continue
                    out.append("busy")
                    break
                if size > free:
                    out.append("quota")
                    break
                free -= size
                states[blob_id] = "pending"
                new_ids.append(blob_id)
                new_sizes.append(size)
                out.append("reserved")
            if new_ids:
                await c.execute(
                    "INSERT INTO blobs (account_id, blob_id, size, state, created_at)"
                    " SELECT $1, b, s, 'pending', $4"
                    " FROM unnest($2::text[], $3::bigint[]) AS t(b, s)",
                    account_id,
                    new_ids,
                    new_sizes,
                    now,
                )
                await c.execute(
                    "UPDATE accounts SET used=used+$1 WHERE id=$2", sum(new_sizes), account_id
                )
        return out

    async def publish_blob(self, account_id: int, blob_id: str) -> None:
        await self.pool.execute(
            "UPDATE blobs SET state='present' WHERE account_id=$1 AND blob_id=$2"
            " AND state='pending'",
            account_id,
            blob_id,
        )

    async def publish_blobs(self, account_id: int, blob_ids: Sequence[str]) -> None:
        if not blob_ids:
            return
        await self.pool.execute(
            "UPDATE blobs SET state='present' WHERE account_id=$1"
            " AND blob_id = ANY($2::text[]) AND state='pending'",
            account_id,
            sorted(set(blob_ids)),
        )

    async def release_blob(self, account_id: int, blob_id: str) -> None:
        async with self._tx() as c:
            await _lock_account(c, account_id)
            size = await c.fetchval(
                "DELETE FROM blobs WHERE account_id=$1 AND blob_id=$2 AND state<>'present'"
                " RETURNING size",
                account_id,
                blob_id,
            )
            if size is not None:
                await c.execute("UPDATE accounts SET used=used-$1 WHERE id=$2", size, account_id)

    async def unsettled_blobs(self, older_than: int) -> list[BlobRow]:
        rows = await self.pool.fetch(
            "SELECT * FROM blobs WHERE state<>'present' AND created_at<=$1", older_than
        )
        return [
            BlobRow(r["account_id"], r["blob_id"], r["size"], r["state"], r["created_at"])
            for r in rows
        ]

    async def mark_unreferenced(self, older_than: int, limit: int) -> list[BlobRow]:
        candidates = await self.pool.fetch(_CANDIDATES, older_than, limit)
        by_account: dict[int, list[str]] = {}
        for r in candidates:
            by_account.setdefault(r["account_id"], []).append(r["blob_id"])
        out: list[BlobRow] = []
        for account_id, blob_ids in sorted(by_account.items()):
            # Under the account lock, re-check with a fresh snapshot: a log append or grant
            # that committed since the candidate query now shows its reference.
            async with self._tx() as c:
                await _lock_account(c, account_id)
                rows = await c.fetch(_MARK, account_id, blob_ids, older_than)
            out.extend(
                BlobRow(r["account_id"], r["blob_id"], r["size"], "deleting", r["created_at"])
                for r in rows
            )
        return out

    # -- change log -------------------------------------------------------------------
    async def log_head(self, account_id: int) -> int:
        head = await self.pool.fetchval("SELECT log_head FROM accounts WHERE id=$1", account_id)
        return int(head) if head is not None else 0

    async def log_list(self, account_id: int, after: int, limit: int) -> tuple[list[LogEntry], int]:
        async with self._snapshot() as c:  # the page and the head from one snapshot
            rows = await c.fetch(
                "SELECT seq, entry FROM log_entries WHERE account_id=$1 AND seq>$2"
                " ORDER BY seq LIMIT $3",
                account_id,
                after,
                limit,
            )
            head = await c.fetchval("SELECT log_head FROM accounts WHERE id=$1", account_id)
        return [LogEntry(r["seq"], bytes(r["entry"])) for r in rows], int(head or 0)

    async def log_append(
        self,
        account_id: int,
        expected_head: int,
        entries: Sequence[NewLogEntry],
        device_id: str | None,
        now: int,
    ) -> int:
        # vault_log_append (schema.py) takes the account row lock first: a compare-and-swap
        # across every process (a concurrent append waits, then reads the winner's head).
        seqs: list[int] = []
        blobs: list[str] = []
        for i, e in enumerate(entries, start=1):
            for ref in sorted(set(e.refs)):
                seqs.append(i)
                blobs.append(ref)
        r = await self.pool.fetchrow(
            "SELECT status, new_head FROM vault_log_append($1, $2, $3, $4, $5, $6, $7)",
            account_id,
            expected_head,
            [e.entry for e in entries],
            device_id,
            now,
            seqs,
            blobs,
        )
        if r["status"] == "ok":
            return int(r["new_head"])
        if r["status"] == "conflict":
            raise HeadConflict(int(r["new_head"]))
        if r["status"] == "unknown_blob":
            raise BadRequest("unknown blob")
        raise NotFound()
