"""SQLite implementation of :class:`~vault_server.storage.base.MetadataStore`.

Theory of operation
-------------------
One connection in autocommit mode, opened through sqlite-utils with WAL journaling and
``synchronous=FULL`` (a COMMIT is on disk before the handler answers, so an acknowledged write
survives kill -9 and power loss). Every call runs on one dedicated worker thread, which both
keeps the event loop free and serialises access to the connection. Writes that must
check-then-act run inside ``BEGIN IMMEDIATE``: the write lock is taken before the first read, so
the check and the write see the same state even when several processes share the file
(``busy_timeout`` makes the others wait). Blob rows carry the quota: ``accounts.used`` changes in
the same transaction as the row it accounts for.
"""

from __future__ import annotations

from .accounts import AccountsPart
from .asks import AsksPart
from .blobs_log import BlobsLogPart
from .grants import GrantsPart
from .inbox import InboxPart
from .mandates import MandatesPart
from .recovery import RecoveryPart


class SqliteMetadataStore(
    AccountsPart, AsksPart, BlobsLogPart, GrantsPart, InboxPart, MandatesPart, RecoveryPart
):
    """Embedded metadata store: one SQLite file (``DIR/vault.sqlite3``) in WAL mode."""


__all__ = ["SqliteMetadataStore"]
