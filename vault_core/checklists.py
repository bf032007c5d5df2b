"""Request checklists answered item by item (SPEC §Requests, answers): pure, no clock, no RNG.

A request names the document types it needs. The owner answers over days: each answer is an
account grant to the requester covering every document provided so far, and a signed answer
statement saying which documents answer which item. The statement is signed by the owner's
identity key and sealed twice (envelopes of kind ``request-answer`` under the request's id):
once to the requester's account (the issuer's desk reads the progress) and once to the owner
(the owner's other devices read it too). The server stores the pair as the answer's opaque
envelope; it cannot forge, move or alter one, and a request counts as answered only when every
item it needs is provided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _crypto
from .deposits import check_doc_type, open_signed, seal_signed, signed_message
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError

KIND = "request-answer"
MAX_NAMES = 256  # documents named per item
PROVIDED = "provided"
MISSING = "missing"


@dataclass(frozen=True)
class AnswerStatement:
    request_id: str
    owner: str
    owner_sign_pk: bytes
    requester: str
    grant_id: str
    items: dict[str, tuple[str, ...]]  # needed type -> the names of the documents given for it
    answered: int  # unix seconds

    def body(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "grant": self.grant_id,
            "items": {t: sorted(n) for t, n in sorted(self.items.items())},
            "owner": self.owner,
            "owner_sign_pk": b64u(self.owner_sign_pk),
            "request": self.request_id,
            "requester": self.requester,
            "type": KIND,
            "v": 1,
        }

    def check(self) -> None:
        """FormatError unless well formed: item types are document types, each with 1 to 256
        non-empty names."""
        if not self.items:
            raise FormatError("answer: no item")
        for t, names in self.items.items():
            if not check_doc_type(t) or not 1 <= len(names) <= MAX_NAMES:
                raise FormatError("answer: an item is not a document type with documents")
            if not all(isinstance(n, str) and 0 < len(n) <= 1024 for n in names):
                raise FormatError("answer: a document name")

    @classmethod
    def from_json(cls, b: Any) -> AnswerStatement:
        try:
            if b["type"] != KIND or want(b["v"], int) != 1:
                raise IntegrityError()
            items = b["items"]
            if not isinstance(items, dict):
                raise IntegrityError()
            st = cls(
                request_id=want(b["request"], str),
                owner=want(b["owner"], str),
                owner_sign_pk=unb64u(b["owner_sign_pk"], 32),
                requester=want(b["requester"], str),
                grant_id=want(b["grant"], str),
                items={str(t): tuple(want(n, str) for n in v) for t, v in items.items()},
                answered=want(b["answered"], int),
            )
            st.check()
        except (KeyError, TypeError, ValueError, AttributeError, FormatError):
            raise IntegrityError() from None
        return st


def item_states(needs: list[str], answer: AnswerStatement | None) -> list[dict[str, str]]:
    """Each needed type with ``provided`` or ``missing``, in the request's order."""
    given = answer.items if answer is not None else {}
    return [{"type": t, "state": PROVIDED if given.get(t) else MISSING} for t in needs]


def build_answer(
    *,
    statement: AnswerStatement,
    owner_sign_sk: bytes,
    requester_box_pk: bytes,
    owner_box_pk: bytes,
    keys: tuple[bytes, bytes],
    ephemerals: tuple[bytes, bytes],
    nonces: tuple[bytes, bytes],
) -> bytes:
    """The answer's envelope: canonical ``{"owner": b64u, "requester": b64u}``, the same
    signed statement sealed to each (FormatError when the statement is malformed)."""
    statement.check()
    sealed = {}
    for i, (who, pk) in enumerate((("requester", requester_box_pk), ("owner", owner_box_pk))):
        sealed[who] = b64u(
            seal_signed(KIND, statement.request_id, statement.body(), owner_sign_sk, pk,
                        keys[i], ephemerals[i], nonces[i])
        )  # fmt: skip
    return canonical_json(sealed)


def open_answer(
    request_id: str, reader: str, box_sk: bytes, envelope: bytes, owner_sign_pk: bytes
) -> AnswerStatement:
    """Open the ``reader`` copy (``"owner"`` or ``"requester"``) and check the owner's
    signature under ``owner_sign_pk`` (pinned by the reader) and the binding to the request
    (IntegrityError for any failure)."""
    try:
        pair = parse_canonical_json(envelope)
        if not isinstance(pair, dict) or set(pair) != {"owner", "requester"}:
            raise FormatError("answer: fields")
        sealed = unb64u(want(pair[reader], str))
    except (FormatError, KeyError, TypeError, ValueError):
        raise IntegrityError() from None
    meta, body, sig = open_signed(KIND, request_id, box_sk, sealed)
    st = AnswerStatement.from_json(meta.get("statement"))
    if body or st.request_id != request_id or not _crypto.equal(st.owner_sign_pk, owner_sign_pk):
        raise IntegrityError()
    _crypto.verify(owner_sign_pk, signed_message(KIND, st.body()), sig)
    return st
