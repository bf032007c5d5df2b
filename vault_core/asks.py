"""Citizens' asks (SPEC §Asks): an owner asks an administration for a document; pure, no
clock, no RNG.

An ask is a statement signed by the owner's account identity key and sealed, as an envelope of
kind ``ask``, to the box key of the issuer's ACCOUNT (its public identity, pinned on first use
like a grantee's): the server stores who asked whom and when, never the document type nor the
message. The issuer answers with a certified deposit (§Deposits, unchanged) and an **ask
reply**: a statement signed by the issuer key its certificate names, binding the ask id, the
deposit id, the document's hash and type and the asker, sealed to the asker as an envelope of
kind ``ask-reply`` under the ask's id. The server records the deposit id on the ask; the
owner's client believes that link only when the reply verifies and names that deposit, and the
deposit itself carries the same issuer key, hash and type. A server can therefore neither read
an ask nor claim that some other deposit fulfils it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _crypto
from .deposits import (
    IssuerCert,
    check_doc_type,
    open_issued,
    open_signed,
    seal_signed,
    signed_message,
)
from .encoding import b64u, canonical_json, unb64u, want
from .errors import FormatError, IntegrityError

KIND = "ask"
REPLY_KIND = "ask-reply"
MAX_MESSAGE = 4000
_HEX = frozenset("0123456789abcdef")


def _is_id(value: str) -> bool:
    return len(value) == 32 and all(c in _HEX for c in value)


def _is_handle(value: str) -> bool:
    ok = "abcdefghijklmnopqrstuvwxyz0123456789._-"
    return (
        2 <= len(value) <= 32
        and value[0] in "abcdefghijklmnopqrstuvwxyz0123456789"
        and all(c in ok for c in value)
    )


@dataclass(frozen=True)
class AskStatement:
    ask_id: str
    from_: str  # the asker's handle
    from_sign_pk: bytes  # the asker's account identity signing key
    to: str  # the issuer ACCOUNT's handle
    doc_type: str
    message: str
    created: int  # unix seconds

    def body(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "doc_type": self.doc_type,
            "from": self.from_,
            "from_sign_pk": b64u(self.from_sign_pk),
            "id": self.ask_id,
            "message": self.message,
            "to": self.to,
            "type": KIND,
            "v": 1,
        }

    def problem(self) -> str | None:
        """What makes this statement malformed (None: well formed)."""
        if not check_doc_type(self.doc_type):
            return "the document type must be a short name like birth-certificate (a-z, 0-9, -)"
        if len(self.message) > MAX_MESSAGE:
            return f"the message must be at most {MAX_MESSAGE} characters"
        if not _is_id(self.ask_id) or not _is_handle(self.from_) or not _is_handle(self.to):
            return "malformed ask id or handle"
        if self.created < 0:
            return "malformed creation time"
        return None

    @classmethod
    def from_json(cls, b: Any) -> AskStatement:
        try:
            if b["type"] != KIND or want(b["v"], int) != 1 or len(b) != 9:
                raise IntegrityError()
            return cls(
                ask_id=want(b["id"], str),
                from_=want(b["from"], str),
                from_sign_pk=unb64u(b["from_sign_pk"], 32),
                to=want(b["to"], str),
                doc_type=want(b["doc_type"], str),
                message=want(b["message"], str),
                created=want(b["created"], int),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None


def build_ask(
    *,
    statement: AskStatement,
    owner_sign_sk: bytes,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    """The envelope of one ask, sealed to ``recipient_box_pk`` (the issuer account's box key,
    or the asker's own for the copy its other devices read). FormatError when malformed."""
    bad = statement.problem()
    if bad is not None:
        raise FormatError(f"ask: {bad}")
    return seal_signed(
        KIND, statement.ask_id, statement.body(), owner_sign_sk, recipient_box_pk, key,
        ephemeral, nonce,
    )  # fmt: skip


def open_ask(ask_id: str, recipient_box_sk: bytes, envelope: bytes) -> AskStatement:
    """Decrypt; checks the id, the fields and the signature under ``from_sign_pk`` (not that
    this key is the asker's: :func:`verify_ask`). IntegrityError on any failure."""
    meta, body, sig = open_signed(KIND, ask_id, recipient_box_sk, envelope)
    if body or set(meta) != {"sig", "statement"}:
        raise IntegrityError()
    st = AskStatement.from_json(meta.get("statement"))
    if st.ask_id != ask_id or st.problem() is not None:
        raise IntegrityError("ask: malformed statement")
    _crypto.verify(st.from_sign_pk, signed_message(KIND, st.body()), sig)
    return st


def verify_ask(
    st: AskStatement, *, to: str, sender: str, sender_sign_pk: bytes, sender_listed: str
) -> None:
    """The ask is addressed to the account ``to``, comes from ``sender`` (the handle whose
    pinned identity key is ``sender_sign_pk``) and the server listed it as from that account."""
    if st.to != to:
        raise IntegrityError("ask addressed to another account")
    if st.from_ != sender or st.from_ != sender_listed:
        raise IntegrityError("ask signed by another account than the one the server names")
    if not _crypto.equal(st.from_sign_pk, sender_sign_pk):
        raise IntegrityError("ask not signed by the asker's identity key")


@dataclass(frozen=True)
class AskReply:
    ask_id: str
    deposit_id: str
    doc_sha256: bytes
    doc_type: str
    from_: str  # the issuer account's handle (the ask's ``to``)
    to: str  # the asker
    to_sign_pk: bytes
    issuer_pk: bytes
    created: int

    def body(self) -> dict[str, Any]:
        return {
            "ask": self.ask_id,
            "created": self.created,
            "deposit": self.deposit_id,
            "doc_sha256": b64u(self.doc_sha256),
            "doc_type": self.doc_type,
            "from": self.from_,
            "issuer_pk": b64u(self.issuer_pk),
            "to": self.to,
            "to_sign_pk": b64u(self.to_sign_pk),
            "type": REPLY_KIND,
            "v": 1,
        }

    @classmethod
    def from_json(cls, b: Any) -> AskReply:
        try:
            if b["type"] != REPLY_KIND or want(b["v"], int) != 1 or len(b) != 11:
                raise IntegrityError()
            return cls(
                ask_id=want(b["ask"], str),
                deposit_id=want(b["deposit"], str),
                doc_sha256=unb64u(b["doc_sha256"], 32),
                doc_type=want(b["doc_type"], str),
                from_=want(b["from"], str),
                to=want(b["to"], str),
                to_sign_pk=unb64u(b["to_sign_pk"], 32),
                issuer_pk=unb64u(b["issuer_pk"], 32),
                created=want(b["created"], int),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None


def build_reply(
    *,
    reply: AskReply,
    issuer_sk: bytes,
    cert: IssuerCert,
    recipient_box_pk: bytes,
    key: bytes,
    ephemeral: bytes,
    nonce: bytes,
) -> bytes:
    """The reply envelope (kind ``ask-reply``, under the ask's id), sealed to the asker."""
    if not _is_id(reply.deposit_id) or not check_doc_type(reply.doc_type):
        raise FormatError("ask reply: malformed deposit id or document type")
    if not _crypto.equal(reply.issuer_pk, cert.issuer_pk):
        raise ValueError("the reply names another issuer key than the certificate's")
    return seal_signed(
        REPLY_KIND, reply.ask_id, reply.body(), issuer_sk, recipient_box_pk, key, ephemeral,
        nonce, cert,
    )  # fmt: skip


def open_reply(
    ask_id: str, recipient_box_sk: bytes, envelope: bytes
) -> tuple[AskReply, IssuerCert]:
    """Decrypt; checks the ask id, the issuer signature under the certificate's key (not the
    trust chain nor the link: :func:`verify_reply`)."""
    reply, cert, meta, body = open_issued(
        REPLY_KIND, ask_id, recipient_box_sk, envelope, AskReply.from_json
    )
    if body or set(meta) != {"cert", "sig", "statement"} or reply.ask_id != ask_id:
        raise IntegrityError()
    if not _is_id(reply.deposit_id) or not check_doc_type(reply.doc_type):
        raise IntegrityError("ask reply: malformed statement")
    return reply, cert


def verify_reply(
    reply: AskReply,
    cert: IssuerCert,
    *,
    ask: AskStatement,
    deposit_id: str,
    trusted: dict[bytes, str],
    now: int,
    owner: str,
    owner_sign_pk: bytes,
) -> str:
    """The reply fulfils ``ask`` (already verified as this owner's) with deposit
    ``deposit_id`` (the one the server links); returns the certified issuer name."""
    if reply.to != owner or not _crypto.equal(reply.to_sign_pk, owner_sign_pk):
        raise IntegrityError("ask reply addressed to another person")
    if reply.ask_id != ask.ask_id or reply.from_ != ask.to or reply.doc_type != ask.doc_type:
        raise IntegrityError("ask reply for another ask")
    if reply.deposit_id != deposit_id:
        raise IntegrityError("the server links another deposit than the one the issuer signed")
    cert.verify(trusted, now, "deposit")
    return cert.name


def check_reply_deposit(
    reply: AskReply, issuer_pk: bytes, doc_sha256: bytes, doc_type: str, deposit_id: str
) -> None:
    """The deposit (opened, its signature checked) is the one the reply names."""
    if (
        deposit_id != reply.deposit_id
        or not _crypto.equal(issuer_pk, reply.issuer_pk)
        or not _crypto.equal(doc_sha256, reply.doc_sha256)
        or doc_type != reply.doc_type
    ):
        raise IntegrityError("the deposit is not the one the ask reply names")


def fulfil_deposit_id(issuer_seed: bytes, ask_id: str, doc_sha256: bytes) -> str:
    """The deposit id that fulfils ``ask_id`` with a document: a keyed hash (label
    ``vault.v1/ask-deposit-id``), so that running ``fulfil`` again after a failure posts the
    same deposit (the server refuses a taken id) and then links it. Only the issuer can
    compute it."""
    if len(doc_sha256) != 32 or not _is_id(ask_id):
        raise FormatError("ask deposit id: an ask id and a SHA-256")
    key = _crypto.kdf(issuer_seed, "vault.v1/ask-deposit-id")
    return _crypto.mac(key, canonical_json([ask_id, b64u(doc_sha256)]))[:16].hex()
