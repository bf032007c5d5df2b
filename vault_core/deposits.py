"""Authorities, issuer certificates, certified deposits and document requests (SPEC §Deposits).

Theory of operation: trust never comes from the server. An authority key (pinned in the
owner's profile with ``vault trust add``) signs issuer certificates (name, issuer key,
validity, usage). An issuer signs a deposit statement binding recipient handle, recipient
identity key, document SHA-256, type, title, issue date and deposit id; the statement, the
certificate and the document are encrypted under a fresh key sealed to the recipient's
X25519 key. Verification checks, in order: authority pinned, certificate signature, validity
at the given time and usage, statement signature by the certified key, recipient binding and
document hash. A deposit whose chain does not verify is "not certified", never shown under
the issuer's claimed name.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError

ENVELOPE_MAGIC = b"VD1"
MAX_DEPOSIT_SIZE = 64 * 1024 * 1024
DOCUMENT_TYPES = (
    "birth-certificate",
    "id-card",
    "passport",
    "residence-permit",
    "proof-of-address",
    "tax-notice",
    "benefit-certificate",
    "payslip",
    "bank-details",
    "health-insurance",
    "family-record",
    "other",
)


def authority_keypair(seed: bytes) -> tuple[bytes, bytes]:
    return _crypto.sign_keypair(seed)


def issuer_keypair(seed: bytes) -> tuple[bytes, bytes]:
    return _crypto.sign_keypair(seed)


def _signed(label: str, obj: dict[str, Any]) -> bytes:
    return b"vault.v1/" + label.encode() + b"\x00" + canonical_json(obj)


@dataclass(frozen=True)
class IssuerCert:
    name: str
    issuer_pk: bytes
    authority_pk: bytes
    not_before: int
    not_after: int
    usage: tuple[str, ...]
    sig: bytes

    def body(self) -> dict[str, Any]:
        return {
            "authority_pk": b64u(self.authority_pk),
            "issuer_pk": b64u(self.issuer_pk),
            "name": self.name,
            "not_after": self.not_after,
            "not_before": self.not_before,
            "type": "issuer-cert",
            "usage": list(self.usage),
            "v": 1,
        }

    @classmethod
    def issue(
        cls,
        authority_sk: bytes,
        authority_pk: bytes,
        issuer_pk: bytes,
        name: str,
        not_before: int,
        not_after: int,
        usage: tuple[str, ...] = ("deposit", "request"),
    ) -> IssuerCert:
        _crypto.check_sign_pk(issuer_pk)
        if not name or not_after <= not_before:
            raise FormatError("certificate: empty name or empty validity")
        unsigned = cls(name, issuer_pk, authority_pk, not_before, not_after, usage, b"")
        sig = _crypto.sign(authority_sk, _signed("issuer-cert", unsigned.body()))
        return cls(name, issuer_pk, authority_pk, not_before, not_after, usage, sig)

    def to_json(self) -> dict[str, Any]:
        return {"cert": self.body(), "sig": b64u(self.sig)}

    def encode(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, o: Any) -> IssuerCert:
        try:
            b = o["cert"]
            if b["type"] != "issuer-cert" or want(b["v"], int) != 1:
                raise IntegrityError()
            return cls(
                name=want(b["name"], str),
                issuer_pk=unb64u(b["issuer_pk"], 32),
                authority_pk=unb64u(b["authority_pk"], 32),
                not_before=want(b["not_before"], int),
                not_after=want(b["not_after"], int),
                usage=tuple(str(u) for u in b["usage"]),
                sig=unb64u(o["sig"], 64),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None

    def verify(self, trusted: dict[bytes, str], now: int, usage: str) -> None:
        """Raises IntegrityError unless signed by a pinned authority, valid now, for usage."""
        if self.authority_pk not in trusted:
            raise IntegrityError("certificate from an authority this profile does not trust")
        _crypto.verify(self.authority_pk, _signed("issuer-cert", self.body()), self.sig)
        if not self.not_before <= now <= self.not_after:
            raise IntegrityError("issuer certificate expired or not yet valid")
        if usage not in self.usage:
            raise IntegrityError("issuer certificate not valid for this use")


@dataclass(frozen=True)
class DepositStatement:
    deposit_id: str
    to: str
    to_sign_pk: bytes
    doc_sha256: bytes
    doc_type: str
    title: str
    filename: str
    issued: int  # unix seconds
    size: int
    issuer_pk: bytes

    def body(self) -> dict[str, Any]:
        return {
            "doc_sha256": b64u(self.doc_sha256),
            "doc_type": self.doc_type,
            "filename": self.filename,
            "id": self.deposit_id,
            "issued": self.issued,
            "issuer_pk": b64u(self.issuer_pk),
            "size": self.size,
            "title": self.title,
            "to": self.to,
            "to_sign_pk": b64u(self.to_sign_pk),
            "type": "deposit",
            "v": 1,
        }

    @classmethod
    def from_json(cls, b: Any) -> DepositStatement:
        try:
            if b["type"] != "deposit" or want(b["v"], int) != 1:
                raise IntegrityError()
            st = cls(
                deposit_id=want(b["id"], str),
                to=want(b["to"], str),
                to_sign_pk=unb64u(b["to_sign_pk"], 32),
                doc_sha256=unb64u(b["doc_sha256"], 32),
                doc_type=want(b["doc_type"], str),
                title=want(b["title"], str),
                filename=want(b["filename"], str),
                issued=want(b["issued"], int),
                size=want(b["size"], int),
                issuer_pk=unb64u(b["issuer_pk"], 32),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None
        st.check_fields()
        return st

    def check_fields(self) -> None:
        """Bounded, safe fields: a file name is one component a file system can hold."""
        from .log import check_path

        try:
            check_path(self.filename)
        except FormatError:
            raise IntegrityError("deposit: unsafe file name") from None
        if "/" in self.filename or not check_doc_type(self.doc_type) or len(self.title) > 200:
            raise IntegrityError("deposit: malformed statement")
        if self.size < 0 or self.size > MAX_DEPOSIT_SIZE or self.issued < 0:
            raise IntegrityError("deposit: malformed statement")


def check_doc_type(doc_type: str) -> bool:
    """Document types are short lowercase names: [a-z0-9-], 1 to 64 characters."""
    return 0 < len(doc_type) <= 64 and all(
        c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in doc_type
    )


@dataclass(frozen=True)
class DepositProof:
    """What travels with an accepted document: statement, issuer signature, certificate."""

    statement: DepositStatement
    sig: bytes
    cert: IssuerCert

    def to_json(self) -> dict[str, Any]:
        return {
            "cert": self.cert.to_json(),
            "sig": b64u(self.sig),
            "statement": self.statement.body(),
        }

    @classmethod
    def from_json(cls, o: Any) -> DepositProof:
        try:
            return cls(
                DepositStatement.from_json(o["statement"]),
                unb64u(o["sig"], 64),
                IssuerCert.from_json(o["cert"]),
            )
        except (KeyError, TypeError, FormatError):
            raise IntegrityError() from None

    @classmethod
    def sign(cls, statement: DepositStatement, issuer_sk: bytes, cert: IssuerCert) -> DepositProof:
        return cls(statement, _crypto.sign(issuer_sk, _signed("deposit", statement.body())), cert)

    def check_signature(self) -> None:
        """The statement is signed by the key the certificate names (authority not checked)."""
        if not _crypto.equal(self.statement.issuer_pk, self.cert.issuer_pk):
            raise IntegrityError("deposit signed by another key than the certificate's")
        _crypto.verify(
            self.statement.issuer_pk, _signed("deposit", self.statement.body()), self.sig
        )

    def verify(
        self,
        *,
        trusted: dict[bytes, str],
        now: int,
        owner: str,
        owner_sign_pk: bytes,
        document_sha256: bytes,
        received: int | None = None,
    ) -> str:
        """Full check; returns the certified issuer name. IntegrityError on any failure.

        ``received`` is when the owner's client took the deposit from its inbox (recorded in
        the owner-signed file record); without it, ``now``. The certificate must be valid at
        that moment and at the issue date, and the issue date cannot follow the reception:
        an issuer whose certificate expired cannot back-date new deposits.
        """
        self.check_signature()
        self.statement.check_fields()
        st = self.statement
        if st.to != owner or not _crypto.equal(st.to_sign_pk, owner_sign_pk):
            raise IntegrityError("deposit addressed to another person")
        if not _crypto.equal(st.doc_sha256, document_sha256):
            raise IntegrityError("document does not match its signature")
        at = received if received is not None else now
        self.cert.verify(trusted, at, "deposit")
        self.cert.verify(trusted, st.issued, "deposit")
        if st.issued > at + 86400:
            raise IntegrityError("deposit dated after its reception")
        return self.cert.name


def _envelope_key_ad(kind: str, item_id: str) -> bytes:
    return b"vault.v1/" + kind.encode() + b"-key\x00" + item_id.encode("ascii")


def _envelope_ad(kind: str, item_id: str) -> bytes:
    return b"vault.v1/" + kind.encode() + b"\x00" + item_id.encode("ascii")


def seal_envelope(
    kind: str,
    item_id: str,
    recipient_box_pk: bytes,
    meta: dict[str, Any],
    body: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    """``"VD1" | u16 len | sealed key | nonce | AEAD(key, nonce, u32 len | meta | body, AD)``."""
    if kind not in ("deposit", "request", "appointment", "ask", "ask-reply", "request-answer"):
        raise ValueError("unknown envelope kind")
    sealed = _crypto.seal(recipient_box_pk, ephemeral, key, _envelope_key_ad(kind, item_id))
    mj = canonical_json(meta)
    ct = _crypto.aead_encrypt(
        key, nonce, struct.pack(">I", len(mj)) + mj + body, _envelope_ad(kind, item_id)
    )
    return ENVELOPE_MAGIC + struct.pack(">H", len(sealed)) + sealed + nonce + ct


def open_envelope(
    kind: str, item_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[dict[str, Any], bytes]:
    if len(envelope) < 5 or envelope[:3] != ENVELOPE_MAGIC:
        raise IntegrityError()
    (n,) = struct.unpack(">H", envelope[3:5])
    sealed, rest = envelope[5 : 5 + n], envelope[5 + n :]
    if len(sealed) != n or len(rest) < 24 + 16:
        raise IntegrityError()
    key = _crypto.seal_open(recipient_box_sk, sealed, _envelope_key_ad(kind, item_id))
    if len(key) != 32:
        raise IntegrityError()
    plain = _crypto.aead_decrypt(key, rest[:24], rest[24:], _envelope_ad(kind, item_id))
    if len(plain) < 4:
        raise IntegrityError()
    (m,) = struct.unpack(">I", plain[:4])
    if 4 + m > len(plain):
        raise IntegrityError()
    try:
        meta = parse_canonical_json(plain[4 : 4 + m])
    except FormatError:
        raise IntegrityError() from None
    if not isinstance(meta, dict):
        raise IntegrityError()
    return meta, plain[4 + m :]


def signed_message(label: str, obj: dict[str, Any]) -> bytes:
    """What a statement's signature covers: ``"vault.v1/" label 0x00 canonical(obj)``."""
    return _signed(label, obj)


def seal_signed(
    kind: str,
    item_id: str,
    statement: dict[str, Any],
    signer_sk: bytes,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
    cert: IssuerCert | None = None,
) -> bytes:
    """A statement signed under the label ``kind`` (with the issuer's certificate when given),
    sealed to the recipient as an envelope of ``kind`` with an empty body: requests,
    appointments, asks and their replies, answers to requests."""
    meta: dict[str, Any] = {
        "sig": b64u(_crypto.sign(signer_sk, _signed(kind, statement))),
        "statement": statement,
    }
    if cert is not None:
        meta["cert"] = cert.to_json()
    return seal_envelope(kind, item_id, recipient_box_pk, meta, b"", key, ephemeral, nonce)


def open_signed(
    kind: str, item_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[dict[str, Any], bytes, bytes]:
    """An envelope of :func:`seal_signed` opened: (meta, body, signature), the signature
    decoded but not verified (the caller knows whose key it must be). IntegrityError."""
    meta, body = open_envelope(kind, item_id, recipient_box_sk, envelope)
    try:
        sig = unb64u(meta.get("sig"), 64)
    except FormatError:
        raise IntegrityError() from None
    return meta, body, sig


class _Issued(Protocol):
    @property
    def issuer_pk(self) -> bytes: ...

    def body(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=_Issued)


def open_issued(
    kind: str,
    item_id: str,
    recipient_box_sk: bytes,
    envelope: bytes,
    parse: Callable[[Any], S],
) -> tuple[S, IssuerCert, dict[str, Any], bytes]:
    """An issuer's statement opened: parsed by ``parse``, its certificate, the statement's
    issuer key the certificate's, the signature under it (not the trust chain); also the
    meta and body for the caller's own checks. IntegrityError."""
    meta, body, sig = open_signed(kind, item_id, recipient_box_sk, envelope)
    st = parse(meta.get("statement"))
    cert = IssuerCert.from_json(meta.get("cert"))
    if not _crypto.equal(st.issuer_pk, cert.issuer_pk):
        raise IntegrityError()
    _crypto.verify(st.issuer_pk, _signed(kind, st.body()), sig)
    return st, cert, meta, body


def build_deposit(
    *,
    statement: DepositStatement,
    issuer_sk: bytes,
    cert: IssuerCert,
    document: bytes,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    if len(document) > MAX_DEPOSIT_SIZE:
        raise FormatError("document too large for a deposit")
    if _crypto.sha256(document) != statement.doc_sha256:
        raise ValueError("statement hash does not match the document")
    proof = DepositProof.sign(statement, issuer_sk, cert)
    return seal_envelope(
        "deposit",
        statement.deposit_id,
        recipient_box_pk,
        {"proof": proof.to_json()},
        document,
        key,
        ephemeral,
        nonce,
    )


def open_deposit(
    deposit_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[DepositProof, bytes]:
    """Decrypt; checks the issuer signature and document hash (not the trust chain)."""
    meta, document = open_envelope("deposit", deposit_id, recipient_box_sk, envelope)
    proof = DepositProof.from_json(meta.get("proof"))
    if proof.statement.deposit_id != deposit_id:
        raise IntegrityError()
    proof.check_signature()
    if _crypto.sha256(document) != proof.statement.doc_sha256 or len(document) != (
        proof.statement.size
    ):
        raise IntegrityError()
    return proof, document


@dataclass(frozen=True)
class RequestStatement:
    request_id: str
    to: str
    to_sign_pk: bytes
    needs: tuple[str, ...]
    due: int  # unix seconds
    message: str
    created: int
    issuer_pk: bytes
    requester: str  # the issuer's account handle, where the answer grant goes

    def body(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "due": self.due,
            "id": self.request_id,
            "issuer_pk": b64u(self.issuer_pk),
            "message": self.message,
            "needs": list(self.needs),
            "requester": self.requester,
            "to": self.to,
            "to_sign_pk": b64u(self.to_sign_pk),
            "type": "request",
            "v": 1,
        }

    @classmethod
    def from_json(cls, b: Any) -> RequestStatement:
        try:
            if b["type"] != "request" or want(b["v"], int) != 1:
                raise IntegrityError()
            return cls(
                request_id=want(b["id"], str),
                to=want(b["to"], str),
                to_sign_pk=unb64u(b["to_sign_pk"], 32),
                needs=tuple(str(n) for n in b["needs"]),
                due=want(b["due"], int),
                message=want(b["message"], str),
                created=want(b["created"], int),
                issuer_pk=unb64u(b["issuer_pk"], 32),
                requester=want(b["requester"], str),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None


def build_request(
    *,
    statement: RequestStatement,
    issuer_sk: bytes,
    cert: IssuerCert,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    return seal_signed(
        "request", statement.request_id, statement.body(), issuer_sk, recipient_box_pk, key,
        ephemeral, nonce, cert,
    )  # fmt: skip


def open_request(
    request_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[RequestStatement, IssuerCert]:
    st, cert, _, _ = open_issued(
        "request", request_id, recipient_box_sk, envelope, RequestStatement.from_json
    )
    if st.request_id != request_id:
        raise IntegrityError()
    if len(st.message) > 4000 or len(st.needs) > 32 or not all(check_doc_type(n) for n in st.needs):
        raise IntegrityError("request: malformed statement")
    return st, cert


def verify_request(
    st: RequestStatement,
    cert: IssuerCert,
    *,
    trusted: dict[bytes, str],
    now: int,
    owner: str,
    owner_sign_pk: bytes,
) -> str:
    """Recipient binding and trust chain of a request; returns the certified issuer name."""
    if st.to != owner or not _crypto.equal(st.to_sign_pk, owner_sign_pk):
        raise IntegrityError("request addressed to another person")
    cert.verify(trusted, now, "request")
    return cert.name


def batch_deposit_id(
    issuer_seed: bytes, to: str, doc_type: str, title: str, doc_sha256: bytes, occurrence: int
) -> str:
    """The deposit id of one row of a batch (SPEC §Deposits, batches): a keyed hash of what
    the row deposits, so that running the same batch again posts the same ids and the server
    refuses the ones it already holds (409): each row is deposited once, whatever stopped the
    run. ``occurrence`` counts earlier rows of the batch with the same four values (the same
    document twice to the same person is two deposits). Only the issuer can compute it."""
    if len(doc_sha256) != 32 or occurrence < 0:
        raise FormatError("batch deposit id: a SHA-256 and a count")
    key = _crypto.kdf(issuer_seed, "vault.v1/deposit-batch-id")
    row = canonical_json([to, doc_type, title, b64u(doc_sha256), occurrence])
    return _crypto.mac(key, row)[:16].hex()


def batch_request_id(
    issuer_seed: bytes, to: str, needs: list[str], due: int, message: str, occurrence: int
) -> str:
    """The request id of one row of a request batch: as :func:`batch_deposit_id`, over what
    the row asks for (label ``vault.v1/request-batch-id``)."""
    if occurrence < 0:
        raise FormatError("batch request id: a count")
    key = _crypto.kdf(issuer_seed, "vault.v1/request-batch-id")
    return _crypto.mac(key, canonical_json([to, needs, due, message, occurrence]))[:16].hex()


def document_hash(document: bytes | memoryview) -> bytes:
    return _crypto.sha256(document)
