"""One exception tree for the whole vault.

Every error the project raises derives from :class:`VaultError`. Each class carries a
stable wire ``code`` (shared with the server's JSON errors, see protocol/SPEC.md §Errors),
the HTTP status the server answers with, and the CLI exit code of the contract.

Any failed cryptographic check (AEAD tag, signature, hash, chain) raises the single opaque
:class:`IntegrityError`; callers never learn *which* check failed (no oracle), although the
client may say *which object* failed when reporting to its user.
"""

from __future__ import annotations

from typing import ClassVar

# CLI exit codes (CONTRACT.md)
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INTEGRITY = 4
EXIT_ACCESS = 5


class VaultError(Exception):
    """Root of every error raised by the vault."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = EXIT_FAILURE

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message())
        self.message = message or self.default_message()

    @classmethod
    def default_message(cls) -> str:
        return cls.__doc__.strip().splitlines()[0] if cls.__doc__ else cls.code

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class IntegrityError(VaultError):
    """Integrity check failed: data was tampered with, forged, swapped or truncated."""

    code = "integrity"
    exit_code = EXIT_INTEGRITY


class RollbackError(IntegrityError):
    """The server's log is older than, or forked from, what this device has seen."""

    code = "integrity"


class FormatError(VaultError):
    """Malformed input: not in the canonical encoding or outside its bounds."""

    code = "bad_request"
    http_status = 400


class BadRequest(FormatError):
    """The request is malformed."""


class AuthError(VaultError):
    """Authentication failed."""

    code = "unauthorized"
    http_status = 401
    exit_code = EXIT_AUTH


class AccessDenied(VaultError):
    """Access refused."""

    code = "forbidden"
    http_status = 403
    exit_code = EXIT_ACCESS


class GrantUnavailable(AccessDenied):
    """The share is expired, revoked, used up or unknown."""

    code = "grant_unavailable"
    http_status = 410


class NotFound(VaultError):
    """Not found."""

    code = "not_found"
    http_status = 404


class Conflict(VaultError):
    """The log head moved: fetch the new entries and retry."""

    code = "conflict"
    http_status = 409


class AlreadyExists(VaultError):
    """Already exists."""

    code = "exists"
    http_status = 409


class TooLarge(VaultError):
    """The request or object is larger than allowed."""

    code = "too_large"
    http_status = 413


class QuotaExceeded(VaultError):
    """The account's storage quota is exhausted."""

    code = "quota_exceeded"
    http_status = 507


class RateLimited(VaultError):
    """Too many attempts; try again later."""

    code = "rate_limited"
    http_status = 429


class WeakParameters(IntegrityError):
    """The server offered key-derivation parameters below the client's floor."""


class UsageError(VaultError):
    """Wrong usage."""

    code = "usage"
    exit_code = EXIT_USAGE


class ServerUnavailable(VaultError):
    """The server could not be reached."""

    code = "unavailable"
    http_status = 503


class LocalError(VaultError):
    """A local operation failed."""

    code = "local"


class Locked(AuthError):
    """The profile is locked: unlock it with its passphrase first."""

    code = "locked"


class Cancelled(VaultError):
    """The operation was cancelled."""

    code = "cancelled"


WIRE_CODES: dict[str, type[VaultError]] = {
    cls.code: cls
    for cls in (
        VaultError,
        IntegrityError,
        BadRequest,
        AuthError,
        AccessDenied,
        GrantUnavailable,
        NotFound,
        Conflict,
        AlreadyExists,
        TooLarge,
        QuotaExceeded,
        RateLimited,
        ServerUnavailable,
    )
}


def from_wire(code: str, message: str) -> VaultError:
    """Rebuild an error received from the server (unknown codes become VaultError)."""
    cls = WIRE_CODES.get(code, VaultError)
    return cls(message)
