"""The storage editor: a hostile operator's hands on the server's data directory.

It edits rows of ``DATA/vault.sqlite3``, blob files ``DATA/blobs/<account>/<ab>/<blob id>``,
small blobs (rows of ``DATA/blobs/small.db``) and packed blobs (slices of pack files named by
the ``packed`` table of small.db) of a live server (SQLite takes the locks; blob files are
re-opened on every read), keeps the ``blobs.size`` column consistent with edited
blobs (a *consistent* hostile server, not a broken one), snapshots and restores the whole
state, and clones it for a second server process (to show two devices two different
histories).

Live restore copies the snapshot databases into the live ones with SQLite's backup API (the
server's connections see the new pages at their next statement) and makes the blob tree equal
to the snapshot's: no restart needed between tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vault_core.encoding import b64u

SMALL_DB = "small.db"  # the server's small-blob table (vault_server.storage.file_blobs)
_SMALL_TABLE = (
    "CREATE TABLE IF NOT EXISTS small (account_id INTEGER NOT NULL, blob_id TEXT NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY (account_id, blob_id))"
)


_PACKED_TABLE = (
    "CREATE TABLE IF NOT EXISTS packed (account_id INTEGER NOT NULL, blob_id TEXT NOT NULL,"
    " pack TEXT NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, blob_id))"
)


def _is_small_db(name: str) -> bool:
    return name.startswith(SMALL_DB)


class Storage:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.snapshots: dict[str, Path] = {}

    # -- database ---------------------------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data / "vault.sqlite3", isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        conn = self.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = self.db()
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def execute(self, sql: str, *args: Any) -> None:
        with self.tx() as conn:
            conn.execute(sql, args)

    def account_id(self, handle: str) -> int:
        rows = self.query("SELECT id FROM accounts WHERE handle=?", handle)
        assert rows, f"no account {handle}"
        return int(rows[0][0])

    # -- accounts and keys ------------------------------------------------------------------

    def identity(self, handle: str) -> dict[str, str]:
        (row,) = self.query(
            "SELECT sign_pk, box_pk, identity_sig FROM accounts WHERE handle=?", handle
        )
        return {
            "handle": handle,
            "sign_pk": b64u(row[0]),
            "box_pk": b64u(row[1]),
            "sig": b64u(row[2]),
        }

    def set_identity(self, handle: str, sign_pk: bytes, box_pk: bytes, sig: bytes) -> None:
        self.execute(
            "UPDATE accounts SET sign_pk=?, box_pk=?, identity_sig=? WHERE handle=?",
            sign_pk,
            box_pk,
            sig,
            handle,
        )

    def bundle(self, handle: str, slot: str = "passphrase") -> bytes:
        col = "bundle_pass" if slot == "passphrase" else "bundle_recovery"
        return bytes(self.query(f"SELECT {col} FROM accounts WHERE handle=?", handle)[0][0])

    # -- the log ----------------------------------------------------------------------------

    def log(self, handle: str) -> list[tuple[int, bytes]]:
        rows = self.query(
            "SELECT seq, entry FROM log_entries WHERE account_id=? ORDER BY seq",
            self.account_id(handle),
        )
        return [(int(s), bytes(e)) for s, e in rows]

    def set_entry(self, handle: str, seq: int, entry: bytes) -> None:
        self.execute(
            "UPDATE log_entries SET entry=? WHERE account_id=? AND seq=?",
            entry,
            self.account_id(handle),
            seq,
        )

    def replace_log(self, handle: str, entries: list[bytes]) -> None:
        """The account's log becomes exactly ``entries`` (seq 1..n), head included."""
        acc = self.account_id(handle)
        with self.tx() as conn:
            conn.execute("DELETE FROM log_entries WHERE account_id=?", (acc,))
            for n, e in enumerate(entries, start=1):
                conn.execute(
                    "INSERT INTO log_entries(account_id, seq, entry, device_id, created_at)"
                    " VALUES(?,?,?,NULL,0)",
                    (acc, n, e),
                )
            conn.execute("UPDATE accounts SET log_head=? WHERE id=?", (len(entries), acc))

    # -- blobs ------------------------------------------------------------------------------

    def blob_path(self, handle: str, blob_id: str) -> Path:
        return self.data / "blobs" / str(self.account_id(handle)) / blob_id[:2] / blob_id

    def small_db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data / "blobs" / SMALL_DB, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(_SMALL_TABLE)
        conn.execute(_PACKED_TABLE)
        return conn

    def _blob_row(self, table: str, cols: str, handle: str, blob_id: str) -> Any:
        conn = self.small_db()
        try:
            return conn.execute(
                f"SELECT {cols} FROM {table} WHERE account_id=? AND blob_id=?",
                (self.account_id(handle), blob_id),
            ).fetchone()
        finally:
            conn.close()

    def _small_row(self, handle: str, blob_id: str) -> bytes | None:
        r = self._blob_row("small", "data", handle, blob_id)
        return None if r is None else bytes(r[0])

    def _packed_bytes(self, handle: str, blob_id: str) -> bytes | None:
        r = self._blob_row("packed", "pack, off, len", handle, blob_id)
        if r is None:
            return None
        pack, off, n = r
        with open(self.data / "blobs" / "packs" / pack[:2] / pack, "rb") as f:
            f.seek(off)
            return f.read(n)

    def _unpack(self, handle: str, blob_id: str) -> bool:
        """A packed blob becomes a row of the small table (which the server reads first), so
        that it can be edited alone; False if the blob is not packed."""
        data = self._packed_bytes(handle, blob_id)
        if data is None:
            return False
        conn = self.small_db()
        try:
            key = (self.account_id(handle), blob_id)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM packed WHERE account_id=? AND blob_id=?", key)
            conn.execute(
                "INSERT INTO small (account_id, blob_id, data) VALUES (?,?,?)", (*key, data)
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return True

    def blob_ids(self, handle: str) -> list[str]:
        rows = self.query(
            "SELECT blob_id FROM blobs WHERE account_id=? AND state='present' ORDER BY blob_id",
            self.account_id(handle),
        )
        return [r[0] for r in rows]

    def read_blob(self, handle: str, blob_id: str) -> bytes:
        row = self._small_row(handle, blob_id)
        if row is None:
            row = self._packed_bytes(handle, blob_id)
        return row if row is not None else self.blob_path(handle, blob_id).read_bytes()

    def write_blob(self, handle: str, blob_id: str, data: bytes) -> None:
        """Replace a blob's bytes (where the server keeps them), keeping the metadata
        consistent with them; a packed blob becomes a row, a new blob a file."""
        acc = self.account_id(handle)
        if self._unpack(handle, blob_id) or self._small_row(handle, blob_id) is not None:
            conn = self.small_db()
            try:
                conn.execute(
                    "UPDATE small SET data=? WHERE account_id=? AND blob_id=?", (data, acc, blob_id)
                )
            finally:
                conn.close()
        else:
            path = self.blob_path(handle, blob_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        with self.tx() as conn:
            n = conn.execute(
                "UPDATE blobs SET size=? WHERE account_id=? AND blob_id=?",
                (len(data), acc, blob_id),
            ).rowcount
            if n == 0:
                conn.execute(
                    "INSERT INTO blobs(account_id, blob_id, size, state, created_at)"
                    " VALUES(?,?,?,'present',0)",
                    (acc, blob_id, len(data)),
                )

    def delete_blob(self, handle: str, blob_id: str) -> None:
        if self._unpack(handle, blob_id) or self._small_row(handle, blob_id) is not None:
            conn = self.small_db()
            try:
                conn.execute(
                    "DELETE FROM small WHERE account_id=? AND blob_id=?",
                    (self.account_id(handle), blob_id),
                )
            finally:
                conn.close()
        else:
            self.blob_path(handle, blob_id).unlink()
        self.execute(
            "DELETE FROM blobs WHERE account_id=? AND blob_id=?", self.account_id(handle), blob_id
        )

    # -- grants, inbox, requests ------------------------------------------------------------

    def set_grant(self, grant_id: str, **cols: Any) -> None:
        sets = ", ".join(f"{k}=?" for k in cols)
        self.execute(f"UPDATE grants SET {sets} WHERE id=?", *cols.values(), grant_id)

    def grant_ids(self, owner: str) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT id FROM grants WHERE owner_id=? ORDER BY created_at, id",
                self.account_id(owner),
            )
        ]

    def deposits(self, handle: str) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT id FROM deposits WHERE recipient_id=? ORDER BY id", self.account_id(handle)
            )
        ]

    # -- whole state ------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """A digest of every row and every blob: equal digests, equal server state."""
        h = hashlib.sha256()
        conn = self.db()
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                )
            ]
            for t in tables:
                if t in ("rate_events", "challenges", "sessions", "grant_sessions"):
                    continue
                rows = sorted(repr(r) for r in conn.execute(f"SELECT * FROM {t}"))
                h.update(f"{t}:{len(rows)}".encode())
                for row in rows:
                    h.update(row.encode())
        finally:
            conn.close()
        conn = self.small_db()
        try:
            for a, b, d in conn.execute("SELECT * FROM small ORDER BY account_id, blob_id"):
                h.update(f"small:{a}/{b}".encode())
                h.update(bytes(d))
            for row in conn.execute("SELECT * FROM packed ORDER BY account_id, blob_id"):
                h.update(f"packed:{row}".encode())
        finally:
            conn.close()
        for p in sorted((self.data / "blobs").rglob("*")):
            if p.is_file() and ".staging" not in p.parts and not p.name.startswith(SMALL_DB):
                h.update(p.relative_to(self.data).as_posix().encode())
                h.update(p.read_bytes())
        return h.hexdigest()

    def snapshot(self, name: str, into: Path) -> None:
        """Copy the live state (database through the backup API, blob files) into ``into``."""
        if into.exists():
            shutil.rmtree(into)
        into.mkdir(parents=True)
        src = self.db()
        dst = sqlite3.connect(into / "vault.sqlite3")
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        shutil.copytree(self.data / "blobs", into / "blobs", ignore=_ignore_staging)
        _backup(self.small_db(), sqlite3.connect(into / "blobs" / SMALL_DB))
        shutil.copy2(self.data / "server.secret", into / "server.secret")
        self.snapshots[name] = into

    def restore(self, name: str) -> None:
        """Make the live state equal to snapshot ``name`` (server may keep running)."""
        snap = self.snapshots[name]
        src = sqlite3.connect(snap / "vault.sqlite3")
        dst = self.db()
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        _mirror(snap / "blobs", self.data / "blobs")
        _backup(sqlite3.connect(snap / "blobs" / SMALL_DB), self.small_db())

    def clone_to(self, target: Path) -> None:
        """A full copy of the live state into a new data directory (for a second server)."""
        self.snapshot(f"clone:{target}", target)


def _ignore_staging(directory: str, names: list[str]) -> list[str]:
    # small.db is copied with the backup API (a live database is more than its main file)
    return [n for n in names if n == ".staging" or n.startswith(SMALL_DB)]


def _backup(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _mirror(src: Path, dst: Path) -> None:
    """Make the tree ``dst`` hold exactly the blob files of ``src`` (staging area and small.db
    excepted)."""
    wanted = {
        p.relative_to(src) for p in src.rglob("*") if p.is_file() and not _is_small_db(p.name)
    }
    for p in sorted(dst.rglob("*"), reverse=True):
        rel = p.relative_to(dst)
        if (rel.parts and rel.parts[0] == ".staging") or _is_small_db(p.name):
            continue
        if p.is_file() and rel not in wanted:
            p.unlink()
    for rel in wanted:
        s, d = src / rel, dst / rel
        if (
            d.is_file()
            and d.stat().st_size == s.stat().st_size
            and d.read_bytes() == s.read_bytes()
        ):
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s, d)
