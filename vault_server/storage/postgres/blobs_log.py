"""Blob rows (quota, states for recovery and GC) and the change log."""

from __future__ import annotations

from collections.abc import Sequence

from vault_core.errors import NotFound, QuotaExceeded

from ...errors import HeadConflict
from ..base import BlobRow, LogEntry, NewLogEntry, ReserveResult
from .core import PgCore, _check_present, _lock_account


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
        async with self._tx() as c:
            a = await _lock_account(c, account_id)
            if a is None:
                raise NotFound()
            state = await c.fetchval(
                "SELECT state FROM blobs WHERE account_id=$1 AND blob_id=$2", account_id, blob_id
            )
            if state is not None:
                return "present" if state == "present" else "busy"
            if a["used"] + size > a["quota"]:
                raise QuotaExceeded()
            await c.execute("UPDATE accounts SET used=used+$1 WHERE id=$2", size, account_id)
            await c.execute(
                "INSERT INTO blobs (account_id, blob_id, size, state, created_at)"
                " VALUES ($1,$2,$3,'pending',$4)",
                account_id,
                blob_id,
                size,
                now,
            )
            return "reserved"

    async def publish_blob(self, account_id: int, blob_id: str) -> None:
        await self.pool.execute(
            "UPDATE blobs SET state='present' WHERE account_id=$1 AND blob_id=$2"
            " AND state='pending'",
            account_id,
            blob_id,
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
        unreferenced = (
            " AND NOT EXISTS (SELECT 1 FROM log_refs r"
            "   WHERE r.account_id=b.account_id AND r.blob_id=b.blob_id)"
            " AND NOT EXISTS (SELECT 1 FROM grant_blobs g"
            "   WHERE g.account_id=b.account_id AND g.blob_id=b.blob_id)"
        )
        candidates = await self.pool.fetch(
            "SELECT account_id, blob_id FROM blobs b WHERE b.state='present' AND b.created_at<$1"
            + unreferenced
            + " LIMIT $2",
            older_than,
            limit,
        )
        by_account: dict[int, list[str]] = {}
        for r in candidates:
            by_account.setdefault(r["account_id"], []).append(r["blob_id"])
        out: list[BlobRow] = []
        for account_id, blob_ids in sorted(by_account.items()):
            # Under the account lock, re-check with a fresh snapshot: a log append or grant
            # that committed since the candidate query now shows its reference.
            async with self._tx() as c:
                await _lock_account(c, account_id)
                rows = await c.fetch(
                    "UPDATE blobs b SET state='deleting' WHERE b.account_id=$1"
                    " AND b.blob_id = ANY($2::text[]) AND b.state='present' AND b.created_at<$3"
                    + unreferenced
                    + " RETURNING b.*",
                    account_id,
                    blob_ids,
                    older_than,
                )
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
        async with self._tx() as c:
            # The row lock makes this a compare-and-swap across every process: a concurrent
            # append waits here, then reads the head the winner committed.
            a = await _lock_account(c, account_id)
            if a is None:
                raise NotFound()
            head = int(a["log_head"])
            if head != expected_head:
                raise HeadConflict(head)
            await _check_present(c, account_id, [ref for e in entries for ref in e.refs])
            seq = head
            rows = []
            refs = []
            for e in entries:
                seq += 1
                rows.append((account_id, seq, e.entry, device_id, now))
                refs.extend((account_id, ref, seq) for ref in sorted(set(e.refs)))
            await c.copy_records_to_table(
                "log_entries",
                records=rows,
                columns=["account_id", "seq", "entry", "device_id", "created_at"],
                schema_name=self.target.schema,
            )
            if refs:
                await c.copy_records_to_table(
                    "log_refs",
                    records=refs,
                    columns=["account_id", "blob_id", "seq"],
                    schema_name=self.target.schema,
                )
            await c.execute("UPDATE accounts SET log_head=$1 WHERE id=$2", seq, account_id)
            return seq
