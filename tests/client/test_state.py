"""The device's local state database (state.db) when its disk is full."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from vault_client.state import State


def test_full_disk_error_surfaces_and_the_state_goes_on(tmp_path) -> None:
    """SQLite rolls back by itself on a full disk (SQLITE_FULL): the transaction helper lets
    that error through (a ROLLBACK would fail and hide it), leaves no transaction open, and
    the state works again once there is room."""
    st = State(tmp_path / "state.db")
    try:
        pages = st.db.execute("PRAGMA page_count").fetchone()[0]
        st.db.execute(f"PRAGMA max_page_count = {pages}")
        ids = [os.urandom(32).hex() for _ in range(5000)]
        try:
            st.add_blobs(ids)
        except sqlite3.OperationalError as exc:
            assert exc.sqlite_errorcode == sqlite3.SQLITE_FULL, exc
        else:
            raise AssertionError("5,000 rows fitted in a database that may not grow")
        assert not st.db.in_transaction
        assert st.known_blobs(ids) == set()  # nothing half-written
        st.db.execute("PRAGMA max_page_count = 1073741823")
        st.add_blobs(ids)
        assert st.known_blobs(ids) == set(ids)
    finally:
        st.close()


def test_scan_stats_read_only_from_a_path_with_uri_characters(tmp_path: Path) -> None:
    home = tmp_path / "a?b#c %41 d"
    home.mkdir()
    st = State(home / "state.db")
    st.set_scan("x.txt", 3, 7, 9, "content")
    assert State.scan_stats_at(home / "state.db") == {"x.txt": (3, 7, 9)}
    assert sorted(p.name for p in tmp_path.iterdir()) == [home.name]  # no stray "a" file
    assert State.scan_stats_at(home / "missing.db") is None
    assert not (home / "missing.db").exists()  # read-only: nothing created
