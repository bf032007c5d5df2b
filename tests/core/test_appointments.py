"""vault_core.appointments (SPEC §Appointments): the envelope round-trips; any flipped byte,
another id, another recipient, or a request's envelope fails with the opaque IntegrityError;
the trust chain and the recipient binding are checked; malformed statements are refused on
both sides."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_core import appointments as ap
from vault_core import deposits, keys
from vault_core.errors import FormatError, IntegrityError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_integrity(fn: Callable[[], Any]) -> None:
    """fn MUST fail, and only with the opaque IntegrityError."""
    with pytest.raises(IntegrityError):
        fn()


def flip_at(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index % len(out)] ^= mask
    return bytes(out)


BUNDLE = keys.new_bundle("jean", bytes(range(1, 97)), 1_767_225_600)
ID_PK, _ = BUNDLE.identity_sign
BOX_PK, BOX_SK = BUNDLE.identity_box
OTHER_BOX_PK, OTHER_BOX_SK = keys.new_bundle("bouchra", bytes(range(101, 197)), 0).identity_box
AUTH_PK, AUTH_SK = deposits.authority_keypair(b"\x21" * 32)
ISS_PK, ISS_SK = deposits.issuer_keypair(b"\x22" * 32)
CERT = deposits.IssuerCert.issue(AUTH_SK, AUTH_PK, ISS_PK, "Mairie", 0, 2_000_000_000)
APPT_ID = "ab" * 16
STMT = ap.AppointmentStatement(
    appointment_id=APPT_ID,
    to="jean",
    to_sign_pk=ID_PK,
    at=1_800_000_000,
    duration=1800,
    place="Mairie du 3e, guichet 4",
    bring=("proof-of-address", "id-card"),
    message="Rendez-vous RSA",
    created=1_767_225_600,
    issuer_pk=ISS_PK,
    requester="mairie",
)


def _seal(stmt: ap.AppointmentStatement = STMT, to: bytes = BOX_PK) -> bytes:
    return ap.build_appointment(
        statement=stmt, issuer_sk=ISS_SK, cert=CERT, recipient_box_pk=to,
        key=b"\x01" * 32, ephemeral=b"\x02" * 32, nonce=b"\x03" * 24,
    )  # fmt: skip


def test_round_trip_and_trust() -> None:
    got, cert = ap.open_appointment(APPT_ID, BOX_SK, _seal())
    assert got == STMT and cert == CERT
    name = ap.verify_appointment(
        got, cert, trusted={AUTH_PK: "p"}, now=1_767_225_600, owner="jean", owner_sign_pk=ID_PK
    )
    assert name == "Mairie"
    with pytest.raises(IntegrityError):  # an authority this owner does not trust
        ap.verify_appointment(got, cert, trusted={}, now=1_767_225_600, owner="jean",
                              owner_sign_pk=ID_PK)  # fmt: skip
    with pytest.raises(IntegrityError):  # addressed to someone else
        ap.verify_appointment(got, cert, trusted={AUTH_PK: "p"}, now=1_767_225_600,
                              owner="bouchra", owner_sign_pk=ID_PK)  # fmt: skip


@FAST
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_fails(index: int, mask: int) -> None:
    only_integrity(lambda: ap.open_appointment(APPT_ID, BOX_SK, flip_at(_seal(), index, mask)))


def test_bound_to_its_id_its_recipient_and_its_kind() -> None:
    env = _seal()
    only_integrity(lambda: ap.open_appointment("cd" * 16, BOX_SK, env))
    only_integrity(lambda: ap.open_appointment(APPT_ID, OTHER_BOX_SK, env))
    only_integrity(lambda: deposits.open_request(APPT_ID, BOX_SK, env))
    req = deposits.RequestStatement(APPT_ID, "jean", ID_PK, ("id-card",), 1_800_000_000, "m",
                                    1_767_225_600, ISS_PK, "mairie")  # fmt: skip
    req_env = deposits.build_request(
        statement=req, issuer_sk=ISS_SK, cert=CERT, recipient_box_pk=BOX_PK,
        key=b"\x01" * 32, ephemeral=b"\x02" * 32, nonce=b"\x03" * 24,
    )  # fmt: skip
    only_integrity(lambda: ap.open_appointment(APPT_ID, BOX_SK, req_env))


@pytest.mark.parametrize(
    "change",
    [
        {"place": ""},
        {"place": "x" * 501},
        {"message": "m" * 4001},
        {"bring": ("Carte d'identité",)},
        {"bring": tuple(f"t{i}" for i in range(33))},
        {"duration": 0},
        {"duration": 24 * 3600 + 1},
        {"at": 0},
    ],
)
def test_malformed_statements_are_refused(change: dict[str, object]) -> None:
    bad = dataclasses.replace(STMT, **change)  # type: ignore[arg-type]
    with pytest.raises(FormatError):
        _seal(bad)
