"""vault_core.asks (SPEC §Asks): an ask round-trips to the issuer account and its signature is
the asker's pinned key; any flipped byte, another id, another recipient or another kind fails
with the opaque IntegrityError; a reply is bound to its ask, its asker, the deposit it names
and a pinned authority; the fulfilment deposit id is the issuer's keyed hash."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_core import asks, deposits, keys
from vault_core.errors import FormatError, IntegrityError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JEAN = keys.new_bundle("jean", bytes(range(1, 97)), 1_767_225_600)
MAIRIE = keys.new_bundle("mairie", bytes(range(101, 197)), 0)
OTHER = keys.new_bundle("bouchra", bytes(range(51, 147)), 0)
AUTH_PK, AUTH_SK = deposits.authority_keypair(b"\x21" * 32)
ISS_PK, ISS_SK = deposits.issuer_keypair(b"\x22" * 32)
CERT = deposits.IssuerCert.issue(AUTH_SK, AUTH_PK, ISS_PK, "Mairie", 0, 2_000_000_000)
ASK_ID = "ab" * 16
DOC = b"%PDF acte"
SHA = hashlib.sha256(DOC).digest()
ASK = asks.AskStatement(
    ask_id=ASK_ID,
    from_="jean",
    from_sign_pk=JEAN.identity_sign[0],
    to="mairie",
    doc_type="birth-certificate",
    message="Une copie intégrale, s'il vous plaît",
    created=1_767_225_600,
)
DEP_ID = asks.fulfil_deposit_id(b"\x22" * 32, ASK_ID, SHA)
REPLY = asks.AskReply(ASK_ID, DEP_ID, SHA, "birth-certificate", "mairie", "jean",
                      JEAN.identity_sign[0], ISS_PK, 1_767_300_000)  # fmt: skip


def only_integrity(fn: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError):
        fn()


def flip_at(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index % len(out)] ^= mask
    return bytes(out)


def _ask(stmt: asks.AskStatement = ASK, to: bytes = MAIRIE.identity_box[0],
         sk: bytes = JEAN.identity_sign[1]) -> bytes:  # fmt: skip
    return asks.build_ask(statement=stmt, owner_sign_sk=sk, recipient_box_pk=to,
                          key=b"\x01" * 32, ephemeral=b"\x02" * 32, nonce=b"\x03" * 24)  # fmt: skip


def _reply(r: asks.AskReply = REPLY, to: bytes = JEAN.identity_box[0]) -> bytes:
    return asks.build_reply(reply=r, issuer_sk=ISS_SK, cert=CERT, recipient_box_pk=to,
                            key=b"\x04" * 32, ephemeral=b"\x05" * 32,
                            nonce=b"\x06" * 24)  # fmt: skip


def _verify_ask(s: asks.AskStatement, **change: Any) -> None:
    args: dict[str, Any] = {"to": "mairie", "sender": "jean", "sender_listed": "jean",
                            "sender_sign_pk": JEAN.identity_sign[0], **change}  # fmt: skip
    asks.verify_ask(s, **args)


def _verify_reply(r: asks.AskReply, cert: deposits.IssuerCert, **change: Any) -> str:
    args: dict[str, Any] = {"ask": ASK, "deposit_id": DEP_ID, "trusted": {AUTH_PK: "p"},
                            "now": 1_767_300_000, "owner": "jean",
                            "owner_sign_pk": JEAN.identity_sign[0], **change}  # fmt: skip
    return asks.verify_reply(r, cert, **args)


def test_ask_round_trip_and_binding() -> None:
    got = asks.open_ask(ASK_ID, MAIRIE.identity_box[1], _ask())
    assert got == ASK
    _verify_ask(got)
    only_integrity(lambda: _verify_ask(got, to="prefecture"))  # addressed to another account
    only_integrity(lambda: _verify_ask(got, sender_listed="bouchra"))  # the server lies
    # someone else signs in jean's name: the signature holds under the key it names, which
    # is not jean's pinned key
    forged = dataclasses.replace(ASK, from_sign_pk=OTHER.identity_sign[0])
    opened = asks.open_ask(ASK_ID, MAIRIE.identity_box[1], _ask(forged, sk=OTHER.identity_sign[1]))
    only_integrity(lambda: _verify_ask(opened))
    # signed by another key than the one the statement names
    only_integrity(
        lambda: asks.open_ask(ASK_ID, MAIRIE.identity_box[1], _ask(sk=OTHER.identity_sign[1]))
    )


@FAST
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_fails(index: int, mask: int) -> None:
    only_integrity(lambda: asks.open_ask(ASK_ID, MAIRIE.identity_box[1],
                                         flip_at(_ask(), index, mask)))  # fmt: skip
    only_integrity(lambda: asks.open_reply(ASK_ID, JEAN.identity_box[1],
                                           flip_at(_reply(), index, mask)))  # fmt: skip


def test_bound_to_id_recipient_and_kind() -> None:
    env, renv = _ask(), _reply()
    only_integrity(lambda: asks.open_ask("cd" * 16, MAIRIE.identity_box[1], env))
    only_integrity(lambda: asks.open_ask(ASK_ID, OTHER.identity_box[1], env))
    only_integrity(lambda: asks.open_reply(ASK_ID, MAIRIE.identity_box[1], env))
    only_integrity(lambda: deposits.open_request(ASK_ID, MAIRIE.identity_box[1], env))
    only_integrity(lambda: asks.open_reply("cd" * 16, JEAN.identity_box[1], renv))
    only_integrity(lambda: asks.open_ask(ASK_ID, JEAN.identity_box[1], renv))


def test_reply_verifies_and_is_bound() -> None:
    reply, cert = asks.open_reply(ASK_ID, JEAN.identity_box[1], _reply())
    assert reply == REPLY and _verify_reply(reply, cert) == "Mairie"
    only_integrity(lambda: _verify_reply(reply, cert, deposit_id="ef" * 16))  # another deposit
    only_integrity(lambda: _verify_reply(reply, cert, trusted={}))  # authority not pinned
    only_integrity(lambda: _verify_reply(reply, cert, owner="bouchra"))
    only_integrity(lambda: _verify_reply(reply, cert, owner_sign_pk=OTHER.identity_sign[0]))
    passport = dataclasses.replace(ASK, doc_type="passport")
    only_integrity(lambda: _verify_reply(reply, cert, ask=passport))  # not the type asked
    elsewhere = dataclasses.replace(ASK, to="prefecture")
    only_integrity(lambda: _verify_reply(reply, cert, ask=elsewhere))  # not whom jean asked
    asks.check_reply_deposit(reply, ISS_PK, SHA, "birth-certificate", DEP_ID)
    for args in [(OTHER.identity_sign[0], SHA, "birth-certificate", DEP_ID),
                 (ISS_PK, hashlib.sha256(b"x").digest(), "birth-certificate", DEP_ID),
                 (ISS_PK, SHA, "passport", DEP_ID),
                 (ISS_PK, SHA, "birth-certificate", "0" * 32)]:  # fmt: skip
        only_integrity(lambda a=args: asks.check_reply_deposit(reply, *a))  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [{"doc_type": "Acte de naissance"}, {"doc_type": ""}, {"message": "m" * 4001},
     {"ask_id": "AB" * 16}, {"to": "X"}, {"created": -1}],
)  # fmt: skip
def test_malformed_asks_are_refused(change: dict[str, object]) -> None:
    bad = dataclasses.replace(ASK, **change)  # type: ignore[arg-type]
    with pytest.raises(FormatError):
        _ask(bad)


def test_deposit_id_is_keyed_and_depends_on_the_document() -> None:
    assert len(DEP_ID) == 32 and DEP_ID == asks.fulfil_deposit_id(b"\x22" * 32, ASK_ID, SHA)
    assert DEP_ID != asks.fulfil_deposit_id(b"\x23" * 32, ASK_ID, SHA)
    assert DEP_ID != asks.fulfil_deposit_id(b"\x22" * 32, "cd" * 16, SHA)
    assert DEP_ID != asks.fulfil_deposit_id(b"\x22" * 32, ASK_ID, hashlib.sha256(b"y").digest())
    with pytest.raises(FormatError):
        asks.fulfil_deposit_id(b"\x22" * 32, "not an id", SHA)
