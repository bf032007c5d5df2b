"""Certified deposits on the owner's side: inbox, accept, verify, requests (issue 6)."""

from __future__ import annotations

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
        proof = DepositProof.from_json(cert_json)
        doc_hash = document_sha256 if document_sha256 is not None else (proof.statement.doc_sha256)
        return proof.verify(
            trusted=trusted,
            now=int(now if now is not None else time.time()),
            owner=owner,
            owner_sign_pk=owner_sign_pk,
            document_sha256=doc_hash,
        )
    except IntegrityError:
        return None
