"""Blob rows (quota, states for recovery and GC) and the change log."""

from __future__ import annotations

from collections.abc import Sequence

from vault_core.errors import NotFound, QuotaExceeded

from ...errors import HeadConflict
from ..base import (
    BatchReserveResult,
    BlobRow,
    LogEntry,
    NewLogEntry,
    ReserveResult,
)
from .core import (
    Conn,
    SqliteCore,
    _check_present,
)


class BlobsLogPart(SqliteCore):
    # -- blobs ------------------------------------------------------------------------
    async def blobs_missing(self, account_id: int, blob_ids: Sequence[str]) -> list[str]:
        def run(c: Conn) -> list[str]:
            missing = []
            for blob_id in blob_ids:
                r = c.execute(
                    "SELECT 1 FROM blobs WHERE account_id=? AND blob_id=? AND state='present'",
                    (account_id, blob_id),
                ).fetchone()
                if r is None:
                    missing.append(blob_id)
            return missing

        return await self._read(run)

    async def blob_size(self, account_id: int, blob_id: str) -> int | None:
        def run(c: Conn) -> int | None:
            r = c.execute(
                "SELECT size FROM blobs WHERE account_id=? AND blob_id=? AND state='present'",
                (account_id, blob_id),
            ).fetchone()
            return int(r[0]) if r else None

        return await self._read(run)

    async def reserve_blob(
        self, account_id: int, blob_id: str, size: int, now: int
    ) -> ReserveResult:
        def run(c: Conn) -> ReserveResult:
            result = _reserve(c, account_id, [(blob_id, size)], now)[0]
            if result == "quota":
                raise QuotaExceeded()
            return result

        return await self._write(run)

    async def reserve_blobs(
        self, account_id: int, items: Sequence[tuple[str, int]], now: int
    ) -> list[BatchReserveResult]:
        if not items:
            return []
        return await self._write(lambda c: _reserve(c, account_id, items, now))

    async def publish_blob(self, account_id: int, blob_id: str) -> None:
        await self.publish_blobs(account_id, [blob_id])

    async def publish_blobs(self, account_id: int, blob_ids: Sequence[str]) -> None:
        if not blob_ids:
            return

        def run(c: Conn) -> None:
            c.executemany(
                "UPDATE blobs SET state='present' WHERE account_id=? AND blob_id=?"
                " AND state='pending'",
                [(account_id, b) for b in blob_ids],
            )

        await self._write(run)

    async def release_blob(self, account_id: int, blob_id: str) -> None:
        def run(c: Conn) -> None:
            r = c.execute(
                "SELECT size FROM blobs WHERE account_id=? AND blob_id=? AND state!='present'",
                (account_id, blob_id),
            ).fetchone()
            if r is None:
                return
            c.execute("DELETE FROM blobs WHERE account_id=? AND blob_id=?", (account_id, blob_id))
            c.execute("UPDATE accounts SET used=used-? WHERE id=?", (r["size"], account_id))

        await self._write(run)

    async def unsettled_blobs(self, older_than: int) -> list[BlobRow]:
        def run(c: Conn) -> list[BlobRow]:
            rows = c.execute(
                "SELECT * FROM blobs WHERE state!='present' AND created_at<=?", (older_than,)
            ).fetchall()
            return [
                BlobRow(r["account_id"], r["blob_id"], r["size"], r["state"], r["created_at"])
                for r in rows
            ]

        return await self._read(run)

    async def mark_unreferenced(self, older_than: int, limit: int) -> list[BlobRow]:
        def run(c: Conn) -> list[BlobRow]:
            rows = c.execute(
                "SELECT * FROM blobs b WHERE b.state='present' AND b.created_at<?"
                " AND NOT EXISTS (SELECT 1 FROM log_refs r"
                "   WHERE r.account_id=b.account_id AND r.blob_id=b.blob_id)"
                " AND NOT EXISTS (SELECT 1 FROM grant_blobs g"
                "   WHERE g.account_id=b.account_id AND g.blob_id=b.blob_id)"
                " LIMIT ?",
                (older_than, limit),
            ).fetchall()
            out = []
            for r in rows:
                c.execute(
                    "UPDATE blobs SET state='deleting' WHERE account_id=? AND blob_id=?",
                    (r["account_id"], r["blob_id"]),
                )
                out.append(
                    BlobRow(r["account_id"], r["blob_id"], r["size"], "deleting", r["created_at"])
                )
            return out

        return await self._write(run)

    # -- change log -------------------------------------------------------------------
    async def log_head(self, account_id: int) -> int:
        def run(c: Conn) -> int:
            r = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            return int(r[0]) if r else 0

        return await self._read(run)

    async def log_list(self, account_id: int, after: int, limit: int) -> tuple[list[LogEntry], int]:
        def run(c: Conn) -> tuple[list[LogEntry], int]:
            rows = c.execute(
                "SELECT seq, entry FROM log_entries WHERE account_id=? AND seq>?"
                " ORDER BY seq LIMIT ?",
                (account_id, after, limit),
            ).fetchall()
            head = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            return [LogEntry(r["seq"], r["entry"]) for r in rows], int(head[0]) if head else 0

        # One read transaction so the page and the head are consistent.
        def consistent(c: Conn) -> tuple[list[LogEntry], int]:
            c.execute("BEGIN")
            try:
                return run(c)
            finally:
                c.execute("COMMIT")

        return await self._read(consistent)

    async def log_append(
        self,
        account_id: int,
        expected_head: int,
        entries: Sequence[NewLogEntry],
        device_id: str | None,
        now: int,
    ) -> int:
        def run(c: Conn) -> int:
            r = c.execute("SELECT log_head FROM accounts WHERE id=?", (account_id,)).fetchone()
            head = int(r[0])
            if head != expected_head:
                raise HeadConflict(head)
            _check_present(c, account_id, [ref for e in entries for ref in e.refs])
            seq = head
            for e in entries:
                seq += 1
                c.execute(
                    "INSERT INTO log_entries (account_id, seq, entry, device_id, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (account_id, seq, e.entry, device_id, now),
                )
                c.executemany(
                    "INSERT INTO log_refs (account_id, blob_id, seq) VALUES (?,?,?)",
                    [(account_id, ref, seq) for ref in sorted(set(e.refs))],
                )
            c.execute("UPDATE accounts SET log_head=? WHERE id=?", (seq, account_id))
            return seq

        return await self._write(run)


def _reserve(
    c: Conn, account_id: int, items: Sequence[tuple[str, int]], now: int
) -> list[BatchReserveResult]:
    """Reserve in record order inside the caller's transaction; stop at "busy" or "quota"."""
    a = c.execute("SELECT quota, used FROM accounts WHERE id=?", (account_id,)).fetchone()
    if a is None:
        raise NotFound()
    quota, used = int(a["quota"]), int(a["used"])
    out: list[BatchReserveResult] = []
    charged = 0
    for blob_id, size in items:
        r = c.execute(
            "SELECT state FROM blobs WHERE account_id=? AND blob_id=?", (account_id, blob_id)
        ).fetchone()
        if r is not None:
            if r["state"] == "present":
                out.append("present")
                continue
            out.append("busy")
            break
        if used + charged + size > quota:
            out.append("quota")
            break
        charged += size
        c.execute(
            "INSERT INTO blobs (account_id, blob_id, size, state, created_at)"
            " VALUES (?,?,?,'pending',?)",
            (account_id, blob_id, size, now),
        )
        out.append("reserved")
    if charged:
        c.execute("UPDATE accounts SET used=used+? WHERE id=?", (charged, account_id))
    return out
