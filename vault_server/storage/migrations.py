"""Versioned schema of the SQLite metadata store.

``MIGRATIONS[i]`` brings the schema from version ``i`` to ``i + 1``; the current version is the
single row of ``schema_version``. Migrations run in one ``BEGIN IMMEDIATE`` transaction at open,
so two processes starting together cannot both apply one. Never edit a released migration:
append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MIGRATIONS: list[list[str]] = [
    # 1: initial schema
    [
        """CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            kdf TEXT NOT NULL,
            login_pk BLOB NOT NULL,
            recovery_login_pk BLOB NOT NULL,
            bundle_pass BLOB NOT NULL,
            bundle_recovery BLOB NOT NULL,
            sign_pk BLOB NOT NULL,
            box_pk BLOB NOT NULL,
            identity_sig BLOB NOT NULL,
            is_issuer INTEGER NOT NULL DEFAULT 0,
            quota INTEGER NOT NULL,
            used INTEGER NOT NULL DEFAULT 0,
            log_head INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL)""",
        """CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            sign_pk BLOB NOT NULL,
            cert BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER)""",
        "CREATE INDEX devices_account ON devices(account_id)",
        """CREATE TABLE sessions (
            token_hash BLOB PRIMARY KEY,
            account_id INTEGER NOT NULL,
            device_id TEXT,
            expires_at INTEGER NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX sessions_account ON sessions(account_id)",
        "CREATE INDEX sessions_device ON sessions(device_id)",
        """CREATE TABLE challenges (
            challenge BLOB PRIMARY KEY,
            handle TEXT NOT NULL,
            purpose TEXT NOT NULL,
            expires_at INTEGER NOT NULL) WITHOUT ROWID""",
        "CREATE TABLE rate_events (key TEXT NOT NULL, at INTEGER NOT NULL)",
        "CREATE INDEX rate_events_key ON rate_events(key, at)",
        """CREATE TABLE blobs (
            account_id INTEGER NOT NULL,
            blob_id TEXT NOT NULL,
            size INTEGER NOT NULL,
            state TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, blob_id)) WITHOUT ROWID""",
        "CREATE INDEX blobs_state ON blobs(state, created_at)",
        """CREATE TABLE log_entries (
            account_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            entry BLOB NOT NULL,
            device_id TEXT,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (account_id, seq))""",
        """CREATE TABLE log_refs (
            account_id INTEGER NOT NULL,
            blob_id TEXT NOT NULL,
            seq INTEGER NOT NULL)""",
        "CREATE INDEX log_refs_blob ON log_refs(account_id, blob_id)",
        """CREATE TABLE grants (
            id TEXT PRIMARY KEY,
            owner_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            to_account_id INTEGER,
            access_hash BLOB,
            expires_at INTEGER NOT NULL,
            max_uses INTEGER,
            uses INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            password INTEGER NOT NULL,
            header BLOB NOT NULL,
            payload BLOB NOT NULL,
            sealed_key BLOB,
            revoked_at INTEGER,
            created_at INTEGER NOT NULL)""",
        "CREATE INDEX grants_owner ON grants(owner_id)",
        "CREATE INDEX grants_to ON grants(to_account_id)",
        """CREATE TABLE grant_blobs (
            grant_id TEXT NOT NULL,
            account_id INTEGER NOT NULL,
            blob_id TEXT NOT NULL,
            PRIMARY KEY (grant_id, blob_id)) WITHOUT ROWID""",
        "CREATE INDEX grant_blobs_blob ON grant_blobs(account_id, blob_id)",
        """CREATE TABLE grant_sessions (
            token_hash BLOB PRIMARY KEY,
            grant_id TEXT NOT NULL,
            account_id INTEGER,
            expires_at INTEGER NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE grant_access (
            grant_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            what TEXT NOT NULL,
            account_id INTEGER)""",
        "CREATE INDEX grant_access_grant ON grant_access(grant_id)",
        """CREATE TABLE deposits (
            id TEXT PRIMARY KEY,
            recipient_id INTEGER NOT NULL,
            sender_id INTEGER NOT NULL,
            envelope BLOB NOT NULL,
            received_at INTEGER NOT NULL)""",
        "CREATE INDEX deposits_recipient ON deposits(recipient_id)",
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            recipient_id INTEGER NOT NULL,
            sender_id INTEGER NOT NULL,
            envelope BLOB NOT NULL,
            due_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            answer_grant_id TEXT,
            answer_envelope BLOB,
            answered_at INTEGER)""",
        "CREATE INDEX requests_recipient ON requests(recipient_id)",
        "CREATE INDEX requests_sender ON requests(sender_id)",
    ],
    # 2: trusted-contact recovery (issue 21)
    [
        """CREATE TABLE recovery_sets (
            account_id INTEGER PRIMARY KEY,
            set_id TEXT NOT NULL UNIQUE,
            statement BLOB NOT NULL,
            sig BLOB NOT NULL,
            bundle BLOB NOT NULL,
            login_pk BLOB NOT NULL,
            threshold INTEGER NOT NULL,
            delay INTEGER NOT NULL,
            created_at INTEGER NOT NULL)""",
        """CREATE TABLE recovery_shares (
            set_id TEXT NOT NULL,
            contact_id INTEGER NOT NULL,
            x INTEGER NOT NULL,
            sealed BLOB NOT NULL,
            PRIMARY KEY (set_id, contact_id)) WITHOUT ROWID""",
        "CREATE INDEX recovery_shares_contact ON recovery_shares(contact_id)",
        """CREATE TABLE recoveries (
            id TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL,
            set_id TEXT NOT NULL,
            request BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            veto BLOB,
            veto_sig BLOB,
            closed_at INTEGER)""",
        "CREATE INDEX recoveries_account ON recoveries(account_id)",
        "CREATE INDEX recoveries_set ON recoveries(set_id)",
        """CREATE TABLE recovery_approvals (
            recovery_id TEXT NOT NULL,
            contact_id INTEGER NOT NULL,
            statement BLOB NOT NULL,
            sig BLOB NOT NULL,
            resealed BLOB NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (recovery_id, contact_id)) WITHOUT ROWID""",
    ],
    # 3: citizens' asks (issue 20)
    [
        """CREATE TABLE asks (
            id TEXT PRIMARY KEY,
            sender_id INTEGER NOT NULL,
            recipient_id INTEGER NOT NULL,
            envelope BLOB NOT NULL,
            own_copy BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            deposit_id TEXT,
            reply BLOB,
            fulfilled_at INTEGER)""",
        "CREATE INDEX asks_sender ON asks(sender_id)",
        "CREATE INDEX asks_recipient ON asks(recipient_id)",
    ],
    # 4: helper mandates (issue 21)
    [
        """CREATE TABLE mandates (
            id TEXT PRIMARY KEY,
            owner_id INTEGER NOT NULL,
            helper_id INTEGER NOT NULL,
            kinds TEXT NOT NULL,
            grant_id TEXT,
            copy BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER)""",
        "CREATE INDEX mandates_owner ON mandates(owner_id)",
        "CREATE INDEX mandates_helper ON mandates(helper_id)",
        """CREATE TABLE mandate_forwards (
            mandate_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            item_id TEXT NOT NULL,
            forward BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (mandate_id, kind, item_id)) WITHOUT ROWID""",
    ],
    # 5: ephemeral devices of web access (issue 19): idle seconds, NULL for ordinary devices
    ["ALTER TABLE devices ADD COLUMN idle_timeout INTEGER"],
]

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations; returns the resulting version.

    The connection must be in autocommit mode (``isolation_level=None``).
    """

    def steps(conn: sqlite3.Connection) -> int:
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema {version} is newer than this server ({SCHEMA_VERSION})"
            )
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        if version == 0:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        else:
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        return SCHEMA_VERSION

    return immediate(conn, steps)


def immediate(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn(conn)`` in one BEGIN IMMEDIATE transaction: committed, or rolled back on any
    exception (which propagates). After some errors (a full disk: SQLITE_FULL) SQLite has
    rolled back by itself; a ROLLBACK then would fail and hide the error. A COMMIT that fails
    is rolled back too: the connection must never stay inside a transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
