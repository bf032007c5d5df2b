"""Local sync state of one device (``state.db`` in the profile, SQLite).

Tables:
    meta(key, value)             verifier checkpoint (seq, head hash, devices) as JSON
    records(seq, path, file_id, version, deleted, rec)
                                 every verified file record of the log (history, restore)
    base(path, content, file_id, version)
                                 what both sides agreed on at the end of the last sync
    scan(path, size, mtime_ns, ino, content)
                                 quick-check cache: a file whose (size, mtime, inode) did not
                                 change is not hashed again
    blobs(id)                    blob ids this device knows the server holds (dedup, resume)
    helper_actions(seq, mandate, action, time, rec)
                                 every verified helper entry of the log (SPEC §Mandates): what
                                 a helper did under a mandate, for 'vault mandate log' and status

The verifier checkpoint and the records it produced are committed in one transaction, so the
mirror never runs ahead of, or behind, what was verified.

``meta.settled`` (the fast no-change path of the sync engine) says "at log position N, base,
folder and remote heads were equal"; every change to the records, the base or the scan cache
removes it, so it can only be trusted while none of them moved.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vault_core.log import FileRecord, HelperRecord, record_from_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY, path TEXT NOT NULL, file_id TEXT NOT NULL,
    version INTEGER NOT NULL, deleted INTEGER NOT NULL, rec TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_path ON records(path);
CREATE INDEX IF NOT EXISTS records_file ON records(file_id, version);
CREATE TABLE IF NOT EXISTS base (
    path TEXT PRIMARY KEY, content TEXT NOT NULL, file_id TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scan (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    content TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS helper_actions (
    seq INTEGER PRIMARY KEY, mandate TEXT NOT NULL, action TEXT NOT NULL, time INTEGER NOT NULL,
    rec TEXT NOT NULL);
"""


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value=excluded.value",
            (key, json.dumps(value)),
        )

    # -- verified log mirror ---------------------------------------------------------------

    def commit_verified(
        self,
        checkpoint: dict[str, Any],
        records: Iterable[tuple[int, FileRecord]],
        actions: Iterable[tuple[int, HelperRecord, int]] = (),
    ) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO helper_actions(seq, mandate, action, time, rec)"
                " VALUES(?,?,?,?,?)",
                (
                    (seq, rec.mandate_id, rec.action, time, json.dumps(rec.to_json()))
                    for seq, rec, time in actions
                ),
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO records(seq, path, file_id, version, deleted, rec) "
                "VALUES(?,?,?,?,?,?)",
                (
                    (
                        seq,
                        rec.path,
                        rec.file_id,
                        rec.version,
                        int(rec.deleted),
                        json.dumps(rec.to_json()),
                    )
                    for seq, rec in records
                ),
            )
            self.set_meta("checkpoint", checkpoint)
            self.unsettle()

    def unsettle(self) -> None:
        self.db.execute("DELETE FROM meta WHERE key='settled'")

    def transaction(self) -> Any:
        return _Tx(self.db)

    def heads(self) -> dict[str, FileRecord]:
        """Latest record per path (tombstones included)."""
        out: dict[str, FileRecord] = {}
        for (rec,) in self.db.execute(
            "SELECT rec FROM records WHERE seq IN (SELECT MAX(seq) FROM records GROUP BY path)"
            " ORDER BY seq"
        ):
            r = record_from_json(json.loads(rec))
            assert isinstance(r, FileRecord)
            out[r.path] = r
        return out

    def head(self, path: str) -> FileRecord | None:
        """Latest record of one path, or None."""
        row = self.db.execute(
            "SELECT rec FROM records WHERE path=? ORDER BY seq DESC LIMIT 1", (path,)
        ).fetchone()
        if row is None:
            return None
        r = record_from_json(json.loads(row[0]))
        assert isinstance(r, FileRecord)
        return r

    def head_summaries(self) -> dict[str, tuple[str, int, bool, str]]:
        """Path → (file id, version, deleted, content hash hex) of the latest record.

        The same heads as :meth:`heads` without parsing every record: what planning needs.
        Records were verified (and validated) before they were stored.
        """
        out: dict[str, tuple[str, int, bool, str]] = {}
        for path, fid, version, deleted, content in self.db.execute(
            "SELECT path, file_id, version, deleted, json_extract(rec, '$.content') FROM records"
            " WHERE seq IN (SELECT MAX(seq) FROM records GROUP BY path)"
        ):
            hexed = ""
            if not deleted:
                hexed = base64.urlsafe_b64decode(content + "=" * (-len(content) % 4)).hex()
            out[path] = (fid, version, bool(deleted), hexed)
        return out

    def live_listing(self) -> list[tuple[str, int, int, str | None, int, str | None]]:
        """(path, size, mtime ms, type, version, certificate JSON or None) of every live file,
        by path: the listing of the app's documents without parsing every record (records
        were verified before they were stored)."""
        rows = self.db.execute(
            "SELECT path, json_extract(rec, '$.size'), json_extract(rec, '$.mtime'),"
            " json_extract(rec, '$.type'), version, json_extract(rec, '$.cert') FROM records"
            " WHERE seq IN (SELECT MAX(seq) FROM records GROUP BY path) AND deleted = 0"
            " ORDER BY path"
        )
        return [(p, int(s or 0), int(m or 0), t, int(v), c) for p, s, m, t, v, c in rows]

    def file_heads(self) -> dict[str, FileRecord]:
        """Latest record per file id."""
        out: dict[str, FileRecord] = {}
        for (rec,) in self.db.execute("SELECT rec FROM records ORDER BY seq"):
            r = record_from_json(json.loads(rec))
            assert isinstance(r, FileRecord)
            out[r.file_id] = r
        return out

    def history(self, path: str) -> list[tuple[int, FileRecord]]:
        out = []
        for seq, rec in self.db.execute(
            "SELECT seq, rec FROM records WHERE path=? ORDER BY seq", (path,)
        ):
            r = record_from_json(json.loads(rec))
            assert isinstance(r, FileRecord)
            out.append((seq, r))
        return out

    def has_file(self, file_id: str) -> bool:
        """Whether any verified record names this file id."""
        q = "SELECT 1 FROM records WHERE file_id=? LIMIT 1"
        return self.db.execute(q, (file_id,)).fetchone() is not None

    def helper_actions(self, mandate_id: str | None = None) -> list[tuple[int, int, HelperRecord]]:
        """(log seq, time in ms, record) of every verified helper entry, of one mandate or of
        all, in log order."""
        q = "SELECT seq, time, rec FROM helper_actions"
        rows = self.db.execute(
            q + (" WHERE mandate=? ORDER BY seq" if mandate_id else " ORDER BY seq"),
            (mandate_id,) if mandate_id else (),
        )
        out = []
        for seq, time, rec in rows:
            r = record_from_json(json.loads(rec))
            assert isinstance(r, HelperRecord)
            out.append((int(seq), int(time), r))
        return out

    def paths_under(self, prefix: str) -> list[str]:
        like = prefix.rstrip("/") + "/%"
        return [
            p
            for (p,) in self.db.execute(
                "SELECT DISTINCT path FROM records WHERE path = ? OR path LIKE ?", (prefix, like)
            )
        ]

    # -- base and scan cache --------------------------------------------------------------

    def base(self) -> dict[str, tuple[str, str, int]]:
        return {
            p: (c, f, v)
            for p, c, f, v in self.db.execute("SELECT path, content, file_id, version FROM base")
        }

    def set_base(self, path: str, content: str | None, file_id: str = "", version: int = 0) -> None:
        if content is None:
            self.update_base([], [path])
        else:
            self.update_base([(path, content, file_id, version)], [])

    def update_base(
        self, rows: Iterable[tuple[str, str, str, int]], removed: Iterable[str]
    ) -> None:
        """Set base rows (path, content, file_id, version) and drop paths, in one transaction."""
        with self.transaction():
            self.unsettle()
            self.db.executemany("DELETE FROM base WHERE path=?", ((p,) for p in removed))
            self.db.executemany(
                "INSERT OR REPLACE INTO base(path, content, file_id, version) VALUES(?,?,?,?)",
                rows,
            )

    def scan_cache(self) -> dict[str, tuple[int, int, int, str]]:
        return {
            p: (s, m, i, c)
            for p, s, m, i, c in self.db.execute(
                "SELECT path, size, mtime_ns, ino, content FROM scan"
            )
        }

    def scan_stats(self) -> dict[str, tuple[int, int, int]]:
        return _scan_stats(self.db)

    @staticmethod
    def scan_stats_at(path: Path) -> dict[str, tuple[int, int, int]] | None:
        """:meth:`scan_stats` of the database at ``path`` opened read-only, from any thread
        (None when it cannot be read: no database yet, or not one of ours)."""
        try:
            db = sqlite3.connect(read_only_uri(path), uri=True)
            try:
                return _scan_stats(db)
            finally:
                db.close()
        except sqlite3.Error:
            return None

    def scan_contents(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, content FROM scan"))

    def set_scan(self, path: str, size: int, mtime_ns: int, ino: int, content: str) -> None:
        self.set_scans([(path, size, mtime_ns, ino, content)])

    def set_scans(self, rows: Iterable[tuple[str, int, int, int, str]]) -> None:
        """Several scan-cache rows (path, size, mtime_ns, ino, content) in one transaction."""
        with self.transaction():
            self.unsettle()
            self.db.executemany(
                "INSERT OR REPLACE INTO scan(path, size, mtime_ns, ino, content) VALUES(?,?,?,?,?)",
                rows,
            )

    def drop_scan(self, path: str) -> None:
        self.unsettle()
        self.db.execute("DELETE FROM scan WHERE path=?", (path,))

    # -- known blobs ----------------------------------------------------------------------

    def has_blobs(self) -> bool:
        """True once the server may hold a blob of this account: one was recorded as known,
        the log names a file (another device uploaded it: this one may hold equal chunks), or
        an upload was begun (a sync killed before its first answer leaves blobs it never
        recorded, and the next sync must ask the server about them rather than resend)."""
        for table in ("blobs", "records"):
            if self.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:  # noqa: S608 (fixed names)
                return True
        return self.get_meta("uploads_begun") is not None

    def begin_uploads(self) -> None:
        """Recorded (committed) before the first blob of the account is sent."""
        if self.get_meta("uploads_begun") is None:
            self.set_meta("uploads_begun", True)

    def known_blobs(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = ",".join("?" * len(part))
            found.update(
                r[0]
                for r in self.db.execute(
                    f"SELECT id FROM blobs WHERE id IN ({q})",  # noqa: S608 — placeholders only
                    part,
                )
            )
        return found

    def add_blobs(self, ids: Iterable[str]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO blobs(id) VALUES(?)", ((i,) for i in ids))


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); inside an open transaction, nothing:
    the outer one commits or rolls back everything."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if not self.outer:
            return
        try:
            if exc_type is None:
                self.db.execute("COMMIT")
        finally:
            # after an error, or a COMMIT that failed; not after one SQLite made itself (a
            # full disk rolls back by itself: a ROLLBACK then would fail and hide the error)
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")


def _scan_stats(db: sqlite3.Connection) -> dict[str, tuple[int, int, int]]:
    return {p: (s, m, i) for p, s, m, i in db.execute("SELECT path, size, mtime_ns, ino FROM scan")}


def same_as_scanned(files: Iterable[Any], stats: dict[str, tuple[int, int, int]]) -> bool:
    """True when the walked ``files`` are exactly the scan cache's (same paths, each with the
    size, mtime and inode recorded). Consumes ``stats``."""
    for lf in files:
        if stats.pop(lf.path, None) != (lf.size, lf.mtime_ns, lf.ino):
            return False
    return not stats


def read_only_uri(path: Path) -> str:
    """The SQLite URI opening ``path`` read-only (percent-encoded: a ``?`` or ``#`` in a
    folder name would otherwise end the path and open another file, read-write)."""
    return path.absolute().as_uri() + "?mode=ro"
