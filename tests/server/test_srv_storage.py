from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vault_server.storage.migrations import SCHEMA_VERSION, current_version, migrate
from vault_server.storage.sqlite_meta import SqliteMetadataStore


async def test_schema_is_versioned_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    store = SqliteMetadataStore(path)
    await store.close()
    store = SqliteMetadataStore(path)  # reopening applies nothing twice
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert current_version(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        migrate(conn)
    conn.close()


async def test_reprs_hold_no_secrets(tmp_path: Path) -> None:
    from vault_server.storage.base import Session

    s = Session(b"\x01" * 32, 1, "ab" * 16, 5)
    assert "\\x01" not in repr(s) and "token_hash" not in repr(s)
