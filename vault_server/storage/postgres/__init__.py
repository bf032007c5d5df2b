"""PostgreSQL implementation of :class:`~vault_server.storage.base.MetadataStore` (asyncpg).

Theory of operation
-------------------
Several server processes share one database, so every invariant the SQLite store gets from its
single writer must hold here under concurrency. Transactions run at READ COMMITTED (each
statement sees what was committed before it started) and serialise on row locks:

* **The account row is the per-account mutex.** ``SELECT ... FROM accounts WHERE id=$1 FOR
  UPDATE`` is taken first by everything that checks and then writes account state: log append
  (compare-and-swap on ``log_head``: a concurrent append waits, then reads the winner's head and
  gets HeadConflict), blob reservation and release (quota in ``accounts.used``), grant creation
  and payload update (they reference the owner's blobs), inbox deposits (the recipient's item
  limit), and GC marking. GC finds candidates without locks, then per account takes the lock and
  re-runs the "unreferenced" test in a fresh statement, so a reference committed meanwhile is
  seen and the blob is kept. One lock order (the account, then rows under it) means no
  deadlocks between these paths.
* **Grants** lock their own row (``FOR UPDATE``) in ``grant_open``, so the use count holds
  across processes: with ``max_uses`` *n* exactly *n* concurrent opens succeed.
* **Rate limits** are rows (``rate_events``); ``rate_take`` holds a transaction-scoped advisory
  lock on the key's hash for its count-then-insert. Challenges are consumed with
  ``DELETE ... RETURNING`` (single use under any concurrency).
* Reads that return two related things (a log page and the head) use one REPEATABLE READ
  read-only snapshot.

Everything lives in one schema (``?schema=`` in the URL, default ``public``), created and
migrated at open (schema.py; versions shared with SQLite). The installation's server secret is
a row, so every process derives the same fake login salts. Change notifications between
processes go through LISTEN/NOTIFY (relay.py). The URL's password is never logged: reprs and
messages use :func:`~.core.redact_url`.
"""

from __future__ import annotations

from ..urls import redact_url
from .accounts import AccountsPart
from .asks import AsksPart
from .blobs_log import BlobsLogPart
from .core import PgTarget, parse_pg_url
from .grants import GrantsPart
from .inbox import InboxPart
from .mandates import MandatesPart
from .recovery import RecoveryPart
from .relay import PgNotifyRelay


class PostgresMetadataStore(
    AccountsPart, AsksPart, BlobsLogPart, GrantsPart, InboxPart, MandatesPart, RecoveryPart
):
    """Shared metadata store: open with ``await PostgresMetadataStore.open(url)``."""

    @classmethod
    async def connect(cls, url: str) -> PostgresMetadataStore:
        store = await cls.open(url)
        assert isinstance(store, PostgresMetadataStore)
        return store

    def relay(self) -> PgNotifyRelay:
        return PgNotifyRelay(self.target, self.pool)


__all__ = ["PgTarget", "PostgresMetadataStore", "parse_pg_url", "redact_url"]
