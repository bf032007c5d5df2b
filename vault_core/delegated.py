"""What a helper reads and answers under a mandate (SPEC §Mandates, forwards and answers).

Theory of operation: requests and deposits are envelopes sealed to the owner alone
(:mod:`vault_core.deposits`). A device of the owner *forwards* one to a helper by opening the
envelope's key ``K`` and sealing it again to her box key under the envelope's own key AD, in a
statement it signs with the identity key (which mandate, which item, the SHA-256 of the
envelope, and whether the owner's client found the issuer certified). The helper splices her
sealed key into the envelope the server serves and opens it with the ordinary code: the issuer's
signature and the recipient (the owner) are checked as for the owner himself.

A helper answers a request with the owner's answer statement (:mod:`vault_core.checklists`)
signed by her key, the mandate and its owner signature beside it; a reader (the requester, the
owner) believes it only when the mandate verifies under the owner's key it holds, has the
``requests`` scope, and was live when she answered. Pure: keys and random bytes are arguments.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from . import _crypto
from .checklists import KIND as ANSWER_KIND
from .checklists import AnswerStatement
from .deposits import ENVELOPE_MAGIC, _envelope_key_ad, seal_envelope, signed_message
from .deposits import open_envelope as _open_envelope
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u
from .errors import FormatError, IntegrityError
from .mandates import Mandate, open_mandate

FORWARD_KINDS = ("request", "deposit")
_FORWARD = b"vault.v1/mandate-forward\x00"
_FORWARD_FIELDS = {
    "certified",
    "envelope",
    "id",
    "kind",
    "mandate",
    "sealed_key",
    "type",
    "v",
}


def _split(envelope: bytes) -> tuple[bytes, bytes]:
    """(sealed key, the rest: nonce and body) of a ``VD1`` envelope; IntegrityError."""
    if len(envelope) < 5 or envelope[:3] != ENVELOPE_MAGIC:
        raise IntegrityError()
    (n,) = struct.unpack(">H", envelope[3:5])
    sealed, rest = envelope[5 : 5 + n], envelope[5 + n :]
    if len(sealed) != n or len(rest) < 24 + 16:
        raise IntegrityError()
    return sealed, rest


def splice(envelope: bytes, sealed_key: bytes) -> bytes:
    """The envelope with another sealed key in front of the same encrypted body."""
    _, rest = _split(envelope)
    if len(sealed_key) > 0xFFFF:
        raise IntegrityError()
    return ENVELOPE_MAGIC + struct.pack(">H", len(sealed_key)) + sealed_key + rest


@dataclass(frozen=True)
class Forward:
    mandate_id: str
    kind: str  # request | deposit
    item_id: str
    envelope_hash: bytes  # SHA-256 of the envelope as the issuer sent it
    sealed_key: bytes  # K sealed to the helper under the envelope's key AD
    certified: str | None  # the issuer's name, when the owner's client verified it

    def body(self) -> dict[str, Any]:
        return {
            "certified": self.certified,
            "envelope": b64u(self.envelope_hash),
            "id": self.item_id,
            "kind": self.kind,
            "mandate": self.mandate_id,
            "sealed_key": b64u(self.sealed_key),
            "type": "mandate-forward",
            "v": 1,
        }


def forward(
    *,
    mandate: Mandate,
    kind: str,
    item_id: str,
    envelope: bytes,
    owner_box_sk: bytes,
    owner_sign_sk: bytes,
    certified: str | None,
    ephemeral: bytes,
) -> bytes:
    """The owner's side: ``canonical({"sig", "statement"})`` forwarding one request or
    deposit to the mandate's helper (IntegrityError when the envelope does not open)."""
    if kind not in FORWARD_KINDS:
        raise FormatError("forward: a request or a deposit")
    sealed, _ = _split(envelope)
    ad = _envelope_key_ad(kind, item_id)
    key = _crypto.seal_open(owner_box_sk, sealed, ad)
    if len(key) != 32:
        raise IntegrityError()
    fw = Forward(
        mandate_id=mandate.mandate_id,
        kind=kind,
        item_id=item_id,
        envelope_hash=_crypto.sha256(envelope),
        sealed_key=_crypto.seal(mandate.helper_box_pk, ephemeral, key, ad),
        certified=certified,
    )
    body = fw.body()
    sig = _crypto.sign(owner_sign_sk, _FORWARD + canonical_json(body))
    return canonical_json({"sig": b64u(sig), "statement": body})


def open_forward(
    data: bytes, owner_sign_pk: bytes, mandate_id: str, kind: str, item_id: str, envelope: bytes
) -> tuple[bytes, str | None]:
    """The helper's side: the forward checked (the owner's signature under his pinned key,
    this mandate, kind and item, the envelope served); (the envelope with her sealed key, to
    open with her box key as the owner would, and the owner's ``certified``). IntegrityError."""
    try:
        pair = parse_canonical_json(data)
        if not isinstance(pair, dict) or set(pair) != {"sig", "statement"}:
            raise FormatError("fields")
        o = pair["statement"]
        if not isinstance(o, dict) or set(o) != _FORWARD_FIELDS:
            raise FormatError("fields")
        if o["type"] != "mandate-forward" or type(o["v"]) is not int or o["v"] != 1:
            raise FormatError("type")
        certified = o["certified"]
        if certified is not None and (type(certified) is not str or not 0 < len(certified) <= 200):
            raise FormatError("certified")
        sig = unb64u(pair["sig"], 64)
        fw = Forward(
            mandate_id=o["mandate"],
            kind=o["kind"],
            item_id=o["id"],
            envelope_hash=unb64u(o["envelope"], 32),
            sealed_key=unb64u(o["sealed_key"]),
            certified=certified,
        )
    except (FormatError, KeyError, TypeError, ValueError):
        raise IntegrityError() from None
    _crypto.verify(owner_sign_pk, _FORWARD + canonical_json(o), sig)
    if (fw.mandate_id, fw.kind, fw.item_id) != (mandate_id, kind, item_id):
        raise IntegrityError()
    if not _crypto.equal(fw.envelope_hash, _crypto.sha256(envelope)):
        raise IntegrityError()
    return splice(envelope, fw.sealed_key), fw.certified


# -- answers by a helper ----------------------------------------------------------------------


def build_helper_answer(
    *,
    statement: AnswerStatement,
    mandate: bytes,
    mandate_sig: bytes,
    helper_sign_sk: bytes,
    requester_box_pk: bytes,
    owner_box_pk: bytes,
    keys: tuple[bytes, bytes],
    ephemerals: tuple[bytes, bytes],
    nonces: tuple[bytes, bytes],
) -> bytes:
    """The answer's envelope (``{"owner", "requester"}`` as the owner's): the owner's answer
    statement signed by the helper, with the mandate (FormatError when malformed)."""
    statement.check()
    body = statement.body()
    meta: dict[str, Any] = {
        "mandate": b64u(mandate),
        "mandate_sig": b64u(mandate_sig),
        "sig": b64u(_crypto.sign(helper_sign_sk, signed_message(ANSWER_KIND, body))),
        "statement": body,
    }
    sealed = {}
    for i, (who, pk) in enumerate((("requester", requester_box_pk), ("owner", owner_box_pk))):
        sealed[who] = b64u(
            seal_envelope(ANSWER_KIND, statement.request_id, pk, meta, b"", keys[i],
                          ephemerals[i], nonces[i])
        )  # fmt: skip
    return canonical_json(sealed)


def open_helper_answer(
    request_id: str,
    reader: str,
    box_sk: bytes,
    envelope: bytes,
    owner: str,
    owner_sign_pk: bytes,
) -> tuple[AnswerStatement, Mandate]:
    """A helper's answer opened by ``reader`` (``"owner"`` or ``"requester"``) and checked
    against the owner's key it holds: (statement, mandate). IntegrityError."""
    try:
        pair = parse_canonical_json(envelope)
        if not isinstance(pair, dict) or set(pair) != {"owner", "requester"}:
            raise FormatError("answer: fields")
        sealed = unb64u(pair[reader])
    except (FormatError, KeyError, TypeError, ValueError):
        raise IntegrityError() from None
    meta, body = _open_envelope(ANSWER_KIND, request_id, box_sk, sealed)
    if body or set(meta) != {"mandate", "mandate_sig", "sig", "statement"}:
        raise IntegrityError()
    try:
        raw = unb64u(meta["mandate"])
        mandate_sig = unb64u(meta["mandate_sig"], 64)
        sig = unb64u(meta["sig"], 64)
    except (FormatError, TypeError):
        raise IntegrityError() from None
    m = open_mandate(raw, mandate_sig, owner_sign_pk)
    st = AnswerStatement.from_json(meta["statement"])
    if (
        m.owner != owner
        or "requests" not in m.scopes
        or st.request_id != request_id
        or st.owner != owner
        or not _crypto.equal(st.owner_sign_pk, owner_sign_pk)
        or not m.created <= st.answered < m.expires
    ):
        raise IntegrityError()
    _crypto.verify(m.helper_sign_pk, signed_message(ANSWER_KIND, st.body()), sig)
    return st, m
