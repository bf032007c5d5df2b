"""Batch deposit ids (SPEC §Deposits, batches): the same row gives the same id, anything else
(another issuer, another recipient, another document, the next occurrence) another id."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_core import _crypto
from vault_core.deposits import batch_deposit_id
from vault_core.encoding import b64u, canonical_json
from vault_core.errors import FormatError

SEED = bytes(range(32))
DOC = hashlib.sha256(b"avis").digest()


def test_the_formula_of_the_spec() -> None:
    key = hashlib.blake2b(b"vault.v1/deposit-batch-id", key=SEED, digest_size=32).digest()
    row = canonical_json(["jean", "tax-notice", "Avis", b64u(DOC), 0])
    assert batch_deposit_id(SEED, "jean", "tax-notice", "Avis", DOC, 0) == (
        _crypto.mac(key, row)[:16].hex()
    )


@given(
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.integers(min_value=0, max_value=1000),
)
def test_same_row_same_id_and_every_field_counts(to: str, title: str, k: int) -> None:
    a = batch_deposit_id(SEED, to, "tax-notice", title, DOC, k)
    assert len(a) == 32 and int(a, 16) >= 0
    assert a == batch_deposit_id(SEED, to, "tax-notice", title, DOC, k)
    others = {
        batch_deposit_id(bytes(32), to, "tax-notice", title, DOC, k),
        batch_deposit_id(SEED, to + "x", "tax-notice", title, DOC, k),
        batch_deposit_id(SEED, to, "payslip", title, DOC, k),
        batch_deposit_id(SEED, to, "tax-notice", title + "x", DOC, k),
        batch_deposit_id(SEED, to, "tax-notice", title, hashlib.sha256(DOC).digest(), k),
        batch_deposit_id(SEED, to, "tax-notice", title, DOC, k + 1),
    }
    assert a not in others and len(others) == 6


def test_malformed_inputs() -> None:
    with pytest.raises(FormatError):
        batch_deposit_id(SEED, "jean", "tax-notice", "Avis", DOC[:31], 0)
    with pytest.raises(FormatError):
        batch_deposit_id(SEED, "jean", "tax-notice", "Avis", DOC, -1)
