"""vault_core.trust.TrustRoots (SPEC §Trust roots): a list round-trips and verifies; a changed
name, key, order, signer or signature, a repeated root, an invitation whose own signature fails,
extra fields or a non-canonical file are refused with the opaque IntegrityError; the digest
changes with every part of the list."""

from __future__ import annotations

import json

import pytest

from vault_core import deposits
from vault_core.encoding import b64u, canonical_json
from vault_core.errors import FormatError, IntegrityError
from vault_core.trust import TrustInvitation, TrustRoots, operator_keypair

OP_PK, OP_SK = operator_keypair(b"\x31" * 32)
OTHER_PK, OTHER_SK = operator_keypair(b"\x32" * 32)


def _inv(seed: int, name: str) -> TrustInvitation:
    pk, sk = deposits.authority_keypair(bytes([seed]) * 32)
    return TrustInvitation.issue(sk, pk, name, 1_767_225_600)


INVS = [_inv(1, "Préfecture du Rhône"), _inv(2, "CAF du Rhône")]
ROOTS = TrustRoots.issue(OP_SK, OP_PK, "Coffre de la Métropole", 1_767_225_601, INVS)


def _resigned(body: dict, sk: bytes = OP_SK, pk: bytes = OP_PK) -> bytes:
    from vault_core import _crypto

    sig = _crypto.sign(sk, b"vault.v1/trust-roots\x00" + canonical_json(body))
    return canonical_json({"roots": body, "sig": b64u(sig), "signer": b64u(pk)})


def test_round_trip_and_digest() -> None:
    back = TrustRoots.decode(ROOTS.encode() + b"\n")
    assert back == ROOTS and back.digest() == ROOTS.digest()
    assert [r.authority_pk for r in back.roots] == sorted(r.authority_pk for r in INVS)
    other = TrustRoots.issue(OP_SK, OP_PK, "Coffre de la Métropole", 1_767_225_601, INVS[:1])
    later = TrustRoots.issue(OP_SK, OP_PK, "Coffre de la Métropole", 1_767_225_602, INVS)
    by_other = TrustRoots.issue(OTHER_SK, OTHER_PK, "Coffre de la Métropole", 1_767_225_601, INVS)
    assert len({ROOTS.digest(), other.digest(), later.digest(), by_other.digest()}) == 4


def _refused(data: bytes) -> None:
    with pytest.raises(IntegrityError) as info:
        TrustRoots.decode(data)
    assert type(info.value) is IntegrityError


def test_forgeries_are_refused() -> None:
    good = json.loads(ROOTS.encode())
    body = good["roots"]
    renamed = json.loads(json.dumps(body))
    renamed["roots"][0]["invitation"]["name"] = "Autre"  # the invitation's signature breaks
    _refused(_resigned(renamed))
    _refused(ROOTS.encode().replace(b"Coffre", b"Koffre"))  # the operator's signature breaks
    _refused(_resigned(body, OTHER_SK, OP_PK))  # signed by another key
    swapped = {**body, "roots": list(reversed(body["roots"]))}
    _refused(_resigned(swapped))  # out of order
    _refused(_resigned({**body, "roots": body["roots"] + body["roots"][:1]}))  # twice
    _refused(_resigned({**body, "roots": []}))
    _refused(_resigned({**body, "extra": 1}))
    _refused(canonical_json({**good, "extra": 1}))
    _refused(json.dumps(good, indent=1).encode())  # not canonical
    _refused(b"{}")
    _refused(b"x" * 70_000)


def test_issue_refuses_bad_lists() -> None:
    with pytest.raises(FormatError):
        TrustRoots.issue(OP_SK, OP_PK, "Coffre", 1, [])
    with pytest.raises(FormatError):
        TrustRoots.issue(OP_SK, OP_PK, "Coffre", 1, [INVS[0], INVS[0]])
    with pytest.raises(FormatError):
        TrustRoots.issue(OP_SK, OP_PK, " Coffre", 1, INVS)
