"""Appointments an issuer books with an owner (SPEC §Appointments): pure, no clock, no RNG.

An appointment travels exactly as a document request does (``/v1/requests``: the server stores
an opaque envelope and a due time, which is the appointment's start): a statement signed by
the issuer key, with the issuer's certificate, sealed to the owner's box key as an envelope of
kind ``appointment`` (its own associated data, so it never opens as a request nor a request as
it). The server cannot tell one from a request; it never sees the place, what to bring or the
message. The owner's client checks it as a request (the certificate's usage ``request``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _crypto
from .deposits import IssuerCert, check_doc_type, open_issued, seal_signed
from .encoding import b64u, unb64u, want
from .errors import FormatError, IntegrityError

KIND = "appointment"
MAX_PLACE = 500
MAX_MESSAGE = 4000
MAX_BRING = 32
MAX_DURATION = 24 * 3600
DEFAULT_DURATION = 30 * 60


@dataclass(frozen=True)
class AppointmentStatement:
    appointment_id: str
    to: str
    to_sign_pk: bytes
    at: int  # unix seconds, the start
    duration: int  # seconds
    place: str
    bring: tuple[str, ...]  # document types to bring
    message: str
    created: int
    issuer_pk: bytes
    requester: str  # the issuer's account handle

    def body(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "bring": list(self.bring),
            "created": self.created,
            "duration": self.duration,
            "id": self.appointment_id,
            "issuer_pk": b64u(self.issuer_pk),
            "message": self.message,
            "place": self.place,
            "requester": self.requester,
            "to": self.to,
            "to_sign_pk": b64u(self.to_sign_pk),
            "type": KIND,
            "v": 1,
        }

    def problem(self) -> str | None:
        """What makes this statement malformed (None: well formed)."""
        if not 0 < len(self.place) <= MAX_PLACE:
            return f"the place must be 1 to {MAX_PLACE} characters"
        if len(self.message) > MAX_MESSAGE:
            return f"the message must be at most {MAX_MESSAGE} characters"
        if len(self.bring) > MAX_BRING or not all(check_doc_type(t) for t in self.bring):
            return f"at most {MAX_BRING} document types to bring (a-z, 0-9, -)"
        if not 0 < self.duration <= MAX_DURATION:
            return "the duration must be between 1 second and 24 hours"
        if self.at <= 0:
            return "the time of the appointment is missing"
        return None

    @classmethod
    def from_json(cls, b: Any) -> AppointmentStatement:
        try:
            if b["type"] != KIND or want(b["v"], int) != 1:
                raise IntegrityError()
            bring = b["bring"]
            if not isinstance(bring, list) or not all(isinstance(t, str) for t in bring):
                raise IntegrityError()
            return cls(
                appointment_id=want(b["id"], str),
                to=want(b["to"], str),
                to_sign_pk=unb64u(b["to_sign_pk"], 32),
                at=want(b["at"], int),
                duration=want(b["duration"], int),
                place=want(b["place"], str),
                bring=tuple(bring),
                message=want(b["message"], str),
                created=want(b["created"], int),
                issuer_pk=unb64u(b["issuer_pk"], 32),
                requester=want(b["requester"], str),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None


def build_appointment(
    *,
    statement: AppointmentStatement,
    issuer_sk: bytes,
    cert: IssuerCert,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    """The envelope of one appointment (FormatError when the statement is malformed)."""
    bad = statement.problem()
    if bad is not None:
        raise FormatError(f"appointment: {bad}")
    return seal_signed(
        KIND, statement.appointment_id, statement.body(), issuer_sk, recipient_box_pk, key,
        ephemeral, nonce, cert,
    )  # fmt: skip


def open_appointment(
    appointment_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[AppointmentStatement, IssuerCert]:
    """Decrypt and check the issuer's signature, the id and the fields (not the trust chain)."""
    st, cert, _, body = open_issued(
        KIND, appointment_id, recipient_box_sk, envelope, AppointmentStatement.from_json
    )
    if body or st.appointment_id != appointment_id:
        raise IntegrityError()
    if st.problem() is not None:
        raise IntegrityError("appointment: malformed statement")
    return st, cert


def verify_appointment(
    st: AppointmentStatement,
    cert: IssuerCert,
    *,
    trusted: dict[bytes, str],
    now: int,
    owner: str,
    owner_sign_pk: bytes,
) -> str:
    """Recipient binding and trust chain; returns the certified issuer name."""
    if st.to != owner or not _crypto.equal(st.to_sign_pk, owner_sign_pk):
        raise IntegrityError("appointment addressed to another person")
    cert.verify(trusted, now, "request")
    return cert.name
