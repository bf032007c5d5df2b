"""The two storage interfaces every backend implements, and the records they exchange.

* :class:`MetadataStore` holds everything but blob bytes: accounts, devices, sessions,
  challenges, rate-limit counters, blob rows (size and state, for quota and GC), the change
  log, grants, inbox deposits and requests. Every method is one atomic operation; methods that
  must check-then-write (log compare-and-swap, quota reservation, grant use counting) do both in
  one transaction, so several server processes may share one store.
* :class:`BlobStore` holds blob bytes only, addressed by (account, blob id). Uploads are staged
  (``begin`` → ``write``… → ``finish`` → ``publish``): nothing is visible under the final name
  before ``publish``, which is atomic.

A blob row moves through states: ``pending`` (quota reserved, bytes being published),
``present`` (visible), ``deleting`` (GC decided to remove it). Only ``present`` blobs are visible
through the API. Recovery after a crash settles ``pending`` and ``deleting`` rows (see gc.py).

Handlers depend only on these Protocols; the embedded implementation is SQLite + files
(sqlite_meta.py, file_blobs.py); PostgreSQL / S3 can be added beside them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

BlobState = Literal["pending", "present", "deleting"]
ReserveResult = Literal["reserved", "present", "busy"]
# One record's answer in :meth:`MetadataStore.reserve_blobs`: "quota" (the record would exceed
# the quota) and "busy" end the answer, nothing after them is looked at.
BatchReserveResult = Literal["reserved", "present", "busy", "quota"]
# An upload (a pending blob, a staging file, a young pack) younger than this may still be in
# progress in another process sharing the store: recovery and sweeps leave it alone.
STALE_UPLOAD = 3600
GrantState = Literal["active", "expired", "revoked", "used_up", "locked"]
# One deposit's answer in :meth:`MetadataStore.add_deposits`.
DepositOutcome = Literal["created", "exists", "inbox_full"]


@dataclass(frozen=True)
class Account:
    id: int
    handle: str
    kdf: dict[str, Any]
    login_pk: bytes = field(repr=False)
    recovery_login_pk: bytes = field(repr=False)
    bundle_pass: bytes = field(repr=False)
    bundle_recovery: bytes = field(repr=False)
    sign_pk: bytes = field(repr=False)
    box_pk: bytes = field(repr=False)
    identity_sig: bytes = field(repr=False)
    is_issuer: bool
    quota: int
    used: int
    log_head: int
    created_at: int


@dataclass(frozen=True)
class NewAccount:
    handle: str
    kdf: dict[str, Any]
    login_pk: bytes = field(repr=False)
    recovery_login_pk: bytes = field(repr=False)
    bundle_pass: bytes = field(repr=False)
    bundle_recovery: bytes = field(repr=False)
    sign_pk: bytes = field(repr=False)
    box_pk: bytes = field(repr=False)
    identity_sig: bytes = field(repr=False)
    quota: int
    created_at: int


@dataclass(frozen=True)
class Device:
    id: str
    account_id: int
    name: str
    sign_pk: bytes = field(repr=False)
    cert: bytes = field(repr=False)
    created_at: int
    revoked_at: int | None = None
    # an ephemeral device (a browser's web access): seconds without a request after which its
    # session ends and the device is revoked; None for an ordinary device
    idle_timeout: int | None = None


@dataclass(frozen=True)
class Session:
    """A device session. Only the SHA-256 of the token is ever stored."""

    token_hash: bytes = field(repr=False)
    account_id: int
    device_id: str | None
    expires_at: int
    idle_timeout: int | None = None  # the device's, for an ephemeral device (read, not stored)


@dataclass(frozen=True)
class LogEntry:
    seq: int
    entry: bytes = field(repr=False)


@dataclass(frozen=True)
class NewLogEntry:
    entry: bytes = field(repr=False)
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    id: str
    owner_id: int
    kind: Literal["link", "account"]
    to_account_id: int | None
    access_hash: bytes | None = field(repr=False)
    expires_at: int
    max_uses: int | None
    uses: int
    failed: int
    password: bool
    header: bytes = field(repr=False)
    payload: bytes = field(repr=False)
    sealed_key: bytes | None = field(repr=False)
    revoked_at: int | None
    created_at: int

    def state(self, now: int, max_failed: int) -> GrantState:
        if self.revoked_at is not None:
            return "revoked"
        if self.failed >= max_failed:
            return "locked"
        if now >= self.expires_at:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used_up"
        return "active"


@dataclass(frozen=True)
class GrantSession:
    token_hash: bytes = field(repr=False)
    grant_id: str
    account_id: int | None
    expires_at: int


@dataclass(frozen=True)
class GrantAccess:
    at: int
    what: str
    account_handle: str | None


@dataclass(frozen=True)
class GrantListItem:
    grant: Grant
    to_handle: str | None
    owner_handle: str


@dataclass(frozen=True)
class Deposit:
    id: str
    recipient_id: int
    sender_id: int
    sender_handle: str
    envelope: bytes = field(repr=False)
    received_at: int


@dataclass(frozen=True)
class DepositInfo:
    id: str
    sender_handle: str
    received_at: int
    size: int


@dataclass(frozen=True)
class DocRequest:
    id: str
    recipient_id: int
    recipient_handle: str
    sender_id: int
    sender_handle: str
    envelope: bytes = field(repr=False)
    due_at: int
    created_at: int
    answer_grant_id: str | None = None
    answer_envelope: bytes | None = field(default=None, repr=False)
    answered_at: int | None = None


@dataclass(frozen=True)
class AskRow:
    """A citizen's ask (SPEC §Asks): ``sender`` the owner who asks, ``recipient`` the issuer
    account asked. The server holds two opaque envelopes (to the issuer, and the owner's own
    copy) and, once fulfilled, the deposit id and the issuer's sealed reply."""

    id: str
    sender_id: int
    sender_handle: str
    recipient_id: int
    recipient_handle: str
    envelope: bytes = field(repr=False)
    own_copy: bytes = field(repr=False)
    created_at: int
    deposit_id: str | None = None
    reply: bytes | None = field(default=None, repr=False)
    fulfilled_at: int | None = None


@dataclass(frozen=True)
class RecoverySetRow:
    """An owner's trusted-contact set: the signed statement (parsed by the server), the bundle
    wrapped under the contacts KEK, and the threshold, delay and login key it names."""

    account_id: int
    set_id: str
    statement: bytes = field(repr=False)
    sig: bytes = field(repr=False)
    bundle: bytes = field(repr=False)
    login_pk: bytes = field(repr=False)
    threshold: int
    delay: int
    created_at: int


@dataclass(frozen=True)
class RecoveryShareRow:
    set_id: str
    contact_id: int
    contact_handle: str
    x: int
    sealed: bytes = field(repr=False)


@dataclass(frozen=True)
class RecoveryRow:
    id: str
    account_id: int
    account_handle: str
    set_id: str
    request: bytes = field(repr=False)
    created_at: int
    state: str  # pending | vetoed | finished | cancelled
    veto: bytes | None = field(default=None, repr=False)
    veto_sig: bytes | None = field(default=None, repr=False)
    closed_at: int | None = None


@dataclass(frozen=True)
class ApprovalRow:
    recovery_id: str
    contact_id: int
    contact_handle: str
    statement: bytes = field(repr=False)
    sig: bytes = field(repr=False)
    resealed: bytes = field(repr=False)
    received_at: int


@dataclass(frozen=True)
class MandateRow:
    """A helper mandate (SPEC §Mandates): who lets whom act for him, the scope kinds (never a
    path), until when, the account grant serving its ``read`` scopes, and the statement sealed
    to the helper (``copy``)."""

    id: str
    owner_id: int
    owner_handle: str
    helper_id: int
    helper_handle: str
    kinds: tuple[str, ...]
    grant_id: str | None
    copy: bytes = field(repr=False)
    created_at: int
    expires_at: int
    revoked_at: int | None = None

    def state(self, now: int) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if now < self.expires_at else "expired"


@dataclass(frozen=True)
class BlobRow:
    account_id: int
    blob_id: str
    size: int
    state: BlobState
    created_at: int


class MetadataStore(Protocol):
    """Everything but blob bytes. Every method is atomic."""

    async def close(self) -> None: ...

    # -- accounts ---------------------------------------------------------------------
    async def create_account(self, account: NewAccount, device: Device, session: Session) -> int:
        """Create account, first device and first session at once; AlreadyExists if taken."""
        ...

    async def get_account(self, account_id: int) -> Account | None: ...
    async def get_account_by_handle(self, handle: str) -> Account | None: ...
    async def set_issuer(self, handle: str, is_issuer: bool) -> bool: ...

    async def change_passphrase(
        self,
        account_id: int,
        kdf: dict[str, Any],
        login_pk: bytes,
        bundle_pass: bytes,
        recovery_login_pk: bytes | None,
        bundle_recovery: bytes | None,
        keep_token_hash: bytes | None,
    ) -> None:
        """Replace the login material and end every session but ``keep_token_hash``."""
        ...

    # -- devices and sessions ---------------------------------------------------------
    async def get_device(self, account_id: int, device_id: str) -> Device | None: ...
    async def list_devices(self, account_id: int) -> list[Device]: ...
    async def set_device_cert(self, account_id: int, device_id: str, cert: bytes) -> bool: ...
    async def revoke_device(self, account_id: int, device_id: str, now: int) -> bool:
        """Mark revoked and delete the device's sessions at once."""
        ...

    async def create_session(self, session: Session, new_device: Device | None = None) -> None:
        """Store a session (and register ``new_device`` first); AlreadyExists on a device id."""
        ...

    async def get_session(self, token_hash: bytes, now: int) -> Session | None:
        """The live session with this token hash (not expired, device not revoked)."""
        ...

    async def delete_session(self, token_hash: bytes) -> None: ...
    async def extend_session(self, token_hash: bytes, expires_at: int) -> None:
        """Move a live session's expiry later (an ephemeral device's sliding idle time)."""
        ...

    # -- login challenges and rate limits ---------------------------------------------
    async def put_challenge(
        self, challenge: bytes, handle: str, purpose: str, expires_at: int
    ) -> None: ...

    async def take_challenge(self, challenge: bytes, handle: str, purpose: str, now: int) -> bool:
        """Consume a challenge (single use); True when it existed, matched and was live."""
        ...

    async def rate_count(self, key: str, since: int) -> int: ...
    async def rate_hit(self, keys: Sequence[str], at: int) -> None: ...
    async def rate_take(self, key: str, now: int, window: int, limit: int, n: int = 1) -> bool:
        """Atomically count ``n`` events unless that would make more than ``limit`` in the
        window (then none). The key's events older than the window are dropped: a key taken
        this way is only ever counted over its window."""
        ...

    # -- blobs ------------------------------------------------------------------------
    async def blobs_missing(self, account_id: int, blob_ids: Sequence[str]) -> list[str]: ...
    async def blob_size(self, account_id: int, blob_id: str) -> int | None:
        """Size of a present blob, None when absent (or not yet / no longer present)."""
        ...

    async def reserve_blob(
        self, account_id: int, blob_id: str, size: int, now: int
    ) -> ReserveResult:
        """Insert a pending row and charge the quota atomically; QuotaExceeded when full."""
        ...

    async def reserve_blobs(
        self, account_id: int, items: Sequence[tuple[str, int]], now: int
    ) -> list[BatchReserveResult]:
        """:meth:`reserve_blob` for ``(blob_id, size)`` records in one transaction, strictly in
        record order. The answer has one result per record up to and including the first
        "busy" or "quota" one (nothing after it is reserved or charged); the records before it
        are "reserved" or "present". NotFound (nothing reserved) when the account is gone."""
        ...

    async def publish_blob(self, account_id: int, blob_id: str) -> None: ...
    async def publish_blobs(self, account_id: int, blob_ids: Sequence[str]) -> None:
        """:meth:`publish_blob` for several blobs of one account in one transaction."""
        ...

    async def release_blob(self, account_id: int, blob_id: str) -> None:
        """Drop a pending or deleting row and give its size back to the quota."""
        ...

    async def unsettled_blobs(self, older_than: int) -> list[BlobRow]: ...
    async def mark_unreferenced(self, older_than: int, limit: int) -> list[BlobRow]:
        """Move present blobs created before ``older_than`` that nothing references
        (no log entry, grant or inbox item) to ``deleting`` and return them."""
        ...

    # -- change log -------------------------------------------------------------------
    async def log_head(self, account_id: int) -> int: ...
    async def log_list(
        self, account_id: int, after: int, limit: int
    ) -> tuple[list[LogEntry], int]: ...

    async def log_append(
        self,
        account_id: int,
        expected_head: int,
        entries: Sequence[NewLogEntry],
        device_id: str | None,
        now: int,
    ) -> int:
        """Compare-and-swap append: HeadConflict when the head moved, BadRequest when a ref
        names no present blob of the account; otherwise the new head."""
        ...

    # -- grants -----------------------------------------------------------------------
    async def create_grant(self, grant: Grant, blobs: Sequence[str]) -> None: ...
    async def get_grant(self, grant_id: str) -> Grant | None: ...
    async def update_grant_payload(
        self,
        owner_id: int,
        grant_id: str,
        payload: bytes,
        blobs: Sequence[str],
        now: int,
        max_failed: int,
    ) -> None: ...

    async def revoke_grant(self, owner_id: int, grant_id: str, now: int) -> bool: ...
    async def list_grants(self, owner_id: int) -> list[GrantListItem]: ...
    async def list_shared(self, to_account_id: int) -> list[GrantListItem]: ...
    async def grant_failed_attempt(self, grant_id: str) -> int: ...
    async def grant_open(
        self, grant_id: str, now: int, max_failed: int, session: GrantSession
    ) -> Grant | None:
        """Atomically: check the grant is active, count one use, store the grant session and
        log the access. None when the grant is not active (nothing counted)."""
        ...

    async def get_grant_session(self, token_hash: bytes, now: int) -> GrantSession | None: ...
    async def grant_has_blob(self, grant_id: str, blob_id: str) -> bool: ...
    async def grant_log_access(
        self, grant_id: str, at: int, what: str, account_id: int | None
    ) -> None: ...
    async def grant_access_log(self, owner_id: int, grant_id: str) -> list[GrantAccess] | None: ...

    # -- inbox and requests -----------------------------------------------------------
    async def add_deposit(self, deposit: Deposit, max_items: int) -> None: ...
    async def add_deposits(
        self, deposits: Sequence[Deposit], max_items: int
    ) -> list[DepositOutcome]:
        """Store several deposits in one transaction; per deposit, in order: ``created``,
        ``exists`` (the id is taken, also by an earlier deposit of the same call) or
        ``inbox_full`` (its recipient holds ``max_items``, counting those created before it)."""
        ...

    async def list_deposits(self, recipient_id: int) -> list[DepositInfo]: ...
    async def get_deposit(self, recipient_id: int, deposit_id: str) -> Deposit | None: ...
    async def delete_deposit(self, recipient_id: int, deposit_id: str) -> bool: ...
    async def add_request(self, request: DocRequest) -> None: ...
    async def list_requests(self, account_id: int, sent: bool) -> list[DocRequest]: ...
    async def answer_request(
        self, recipient_id: int, request_id: str, grant_id: str, envelope: bytes | None, now: int
    ) -> DocRequest | None: ...

    # -- citizens' asks ---------------------------------------------------------------
    async def add_ask(self, ask: AskRow, max_open: int) -> None:
        """Store an ask; AlreadyExists on a taken id; QuotaExceeded when its sender already
        has ``max_open`` asks not fulfilled."""
        ...

    async def list_asks(self, account_id: int, sent: bool) -> list[AskRow]:
        """The asks ``account_id`` sent (``sent``) or received, oldest first."""
        ...

    async def fulfil_ask(
        self, recipient_id: int, ask_id: str, deposit_id: str, reply: bytes, now: int
    ) -> AskRow | None:
        """Atomically link deposit ``deposit_id`` (and the sealed reply) to an open ask of
        ``recipient_id``. None when no such ask; Conflict when already fulfilled; BadRequest
        ("unknown deposit") unless that deposit, from ``recipient_id`` to the asker, waits in
        the asker's inbox. Nothing is written on any failure."""
        ...

    # -- trusted-contact recovery -----------------------------------------------------
    async def put_recovery_set(
        self, row: RecoverySetRow, shares: Sequence[RecoveryShareRow], now: int
    ) -> None:
        """Replace the account's set and its shares; pending recoveries of the old set are
        cancelled (their shares are gone)."""
        ...

    async def get_recovery_set(self, account_id: int) -> RecoverySetRow | None: ...
    async def get_recovery_share(self, set_id: str, contact_id: int) -> RecoveryShareRow | None: ...

    async def create_recovery(self, row: RecoveryRow, max_pending: int) -> None:
        """AlreadyExists on a taken id; RateLimited with ``max_pending`` pending already."""
        ...

    async def get_recovery(self, recovery_id: str) -> RecoveryRow | None: ...
    async def list_recoveries(self, account_id: int) -> list[RecoveryRow]:
        """The account's recoveries (every state), oldest first."""
        ...

    async def list_contact_recoveries(self, contact_id: int) -> list[RecoveryRow]:
        """Pending recoveries of sets in which ``contact_id`` holds a share."""
        ...

    async def add_recovery_approval(self, row: ApprovalRow) -> bool:
        """Store an approval of a pending recovery; AlreadyExists for a second one by the same
        contact; False when the recovery is not pending."""
        ...

    async def list_recovery_approvals(self, recovery_id: str) -> list[ApprovalRow]: ...
    async def close_recovery(
        self,
        recovery_id: str,
        state: str,
        now: int,
        veto: bytes | None = None,
        veto_sig: bytes | None = None,
    ) -> bool:
        """pending -> ``state`` (vetoed, finished) atomically; False when it was not pending."""
        ...

    # -- helper mandates --------------------------------------------------------------
    async def add_mandate(self, row: MandateRow, max_active: int) -> None:
        """Store a mandate; AlreadyExists on a taken id; QuotaExceeded when its owner already
        has ``max_active`` mandates neither revoked nor expired (at ``row.created_at``)."""
        ...

    async def get_mandate(self, mandate_id: str) -> MandateRow | None: ...
    async def list_mandates(self, account_id: int, given: bool) -> list[MandateRow]:
        """The mandates ``account_id`` gave (``given``) or received, oldest first."""
        ...

    async def revoke_mandate(self, owner_id: int, mandate_id: str, now: int) -> MandateRow | None:
        """Revoke a mandate of ``owner_id`` (once: a second call keeps the first time) and drop
        its forwards; None when the owner has no such mandate."""
        ...

    async def put_forwards(
        self, mandate_id: str, items: Sequence[tuple[str, str, bytes]], now: int
    ) -> int:
        """Store forwards ``(kind, item id, forward)`` of an unrevoked mandate (a forward
        already there is kept); the number stored now."""
        ...

    async def list_forwards(self, mandate_id: str, kind: str) -> dict[str, bytes]:
        """Item id -> forward, of one kind (``request`` or ``deposit``)."""
        ...

    # -- housekeeping -----------------------------------------------------------------
    async def purge_expired(self, now: int, rate_window: int) -> None:
        """Drop expired challenges, sessions, grant sessions and rate events, and the blob
        sets of expired grants (revoked ones lose theirs at revocation)."""
        ...


class BlobUpload(Protocol):
    """One staged upload; invisible until :meth:`publish`."""

    size: int
    published: bool  # True once visible and durable under the final name

    async def write(self, data: bytes | memoryview) -> None: ...
    async def finish(self) -> None:
        """Make the staged bytes durable (fsync)."""
        ...

    async def publish(self) -> None:
        """Atomically make the bytes visible under the final name (rename + directory fsync)."""
        ...

    async def discard(self) -> None: ...


class BlobStore(Protocol):
    """Blob bytes only, per account; no cross-account sharing of any kind."""

    async def begin(self, account_id: int, blob_id: str) -> BlobUpload: ...
    async def finish_many(self, uploads: Sequence[BlobUpload]) -> None:
        """:meth:`BlobUpload.finish` for several uploads of this store (one thread hop)."""
        ...

    async def publish_many(self, uploads: Sequence[BlobUpload]) -> None:
        """:meth:`BlobUpload.publish` for several finished uploads of this store, in order;
        returns once every one is visible and durable (one directory fsync per directory).
        Each one is atomic on its own: on failure the exception propagates, the uploads before
        the failing one are published (``published``) and the others are not visible."""
        ...

    async def exists(self, account_id: int, blob_id: str) -> bool: ...
    async def size(self, account_id: int, blob_id: str) -> int | None: ...
    def read(self, account_id: int, blob_id: str) -> AsyncGenerator[bytes, None]:
        """Stream the bytes in chunks; NotFound when absent."""
        ...

    async def delete(self, account_id: int, blob_id: str) -> None: ...
    async def sweep_staging(self, older_than: int, repack: bool = True) -> int:
        """Remove staged uploads older than ``older_than`` (crashed requests); ``repack``:
        also compact storage that is mostly dead, where the store has such a thing."""
        ...

    async def close(self) -> None: ...
