"""Checking the certificate block a certified document carries (deposit proofs).

A certified document's record holds the issuer's signed statement, the issuer certificate and
the time the owner received it. :func:`verify_certificate` checks the whole chain against the
authorities pinned in this profile and, when given, the document's own SHA-256; it never
returns an issuer's claimed name unless everything verifies.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from vault_core.deposits import DepositProof
from vault_core.errors import IntegrityError


def certification(
    cert_json: dict[str, Any] | None,
    trusted: dict[bytes, str],
    owner: str,
    owner_sign_pk: bytes,
    document_sha256: bytes | None,
    now: int | None = None,
) -> str | None:
    """The certified issuer name, or None when the document is not (validly) certified.

    Never returns an issuer's claimed name unless the whole chain verifies under an authority
    pinned in this profile. ``document_sha256`` None skips the document hash (listing only).
    """
    if not cert_json:
        return None
    try:
        return verify_certificate(cert_json, trusted, owner, owner_sign_pk, document_sha256, now)
    except IntegrityError:
        return None


def verify_certificate(
    cert_json: dict[str, Any],
    trusted: dict[bytes, str],
    owner: str,
    owner_sign_pk: bytes,
    document_sha256: bytes | None,
    now: int | None = None,
) -> str:
    """Full check of a stored certificate block; IntegrityError (with a reason) on failure."""
    proof_json = cert_json.get("proof")
    received = cert_json.get("received")
    if proof_json is None or not isinstance(received, int):
        raise IntegrityError("the certificate block is malformed")
    proof = DepositProof.from_json(proof_json)
    doc_hash = document_sha256 if document_sha256 is not None else proof.statement.doc_sha256
    return proof.verify(
        trusted=trusted,
        now=int(now if now is not None else time.time()),
        owner=owner,
        owner_sign_pk=owner_sign_pk,
        document_sha256=doc_hash,
        received=received,
    )


def certified_by(
    proof: DepositProof,
    document: bytes,
    trusted: dict[bytes, str],
    now: int,
    handle: str,
    sign_pk: bytes,
) -> tuple[str | None, str | None]:
    """(issuer name, None) when the proof certifies the document received now, else
    (None, why not)."""
    try:
        issuer = proof.verify(
            trusted=trusted,
            now=now,
            owner=handle,
            owner_sign_pk=sign_pk,
            document_sha256=hashlib.sha256(document).digest(),
            received=now,
        )
    except IntegrityError as exc:
        return None, exc.message
    return issuer, None
