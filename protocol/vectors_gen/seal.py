"""Vectors for SPEC.md "Primitives": the sealing construction (anonymous X25519 +
BLAKE2b + XChaCha20-Poly1305, zero nonce).

Writes ``seal.json``.
"""

from __future__ import annotations

from .common import (
    JSON,
    X25519_LOW_ORDER,
    World,
    det,
    flip,
    hx,
    neg,
    seal_case,
    vector_file,
)

# -- sealing -------------------------------------------------------------------------------


def build_seal(w: World) -> JSON:
    ad = b"vault.v1/test-seal\x00ad"
    sealed, case = seal_case(
        w.grantee.identity_box_secret, det("seal/ephemeral"), b"a sealed message", ad
    )
    base = {"recipient_sk": case["recipient_sk"], "ad": hx(ad)}
    negative = [
        neg(
            "flipped ephemeral key",
            "seal_open",
            "IntegrityError",
            **base,
            sealed=hx(flip(sealed, 0)),
        ),
        neg(
            "flipped ciphertext", "seal_open", "IntegrityError", **base, sealed=hx(flip(sealed, 33))
        ),
        neg("flipped tag", "seal_open", "IntegrityError", **base, sealed=hx(flip(sealed, -1))),
        neg(
            "truncated below 48 bytes",
            "seal_open",
            "IntegrityError",
            **base,
            sealed=hx(sealed[:47]),
        ),
        neg("extended", "seal_open", "IntegrityError", **base, sealed=hx(sealed + b"\x00")),
        neg(
            "other AD",
            "seal_open",
            "IntegrityError",
            **{**base, "ad": hx(ad + b"x")},
            sealed=hx(sealed),
        ),
        neg(
            "other recipient",
            "seal_open",
            "IntegrityError",
            **{**base, "recipient_sk": hx(w.bundle.identity_box_secret)},
            sealed=hx(sealed),
        ),
    ]
    for h in X25519_LOW_ORDER:
        negative.append(
            neg(
                "low-order ephemeral key",
                "seal_open",
                "IntegrityError",
                **base,
                sealed=h + hx(sealed[32:]),
            )
        )
    negative.append(
        neg(
            "sealing to a low-order recipient key",
            "seal",
            "IntegrityError",
            recipient_pk=X25519_LOW_ORDER[2],
            ephemeral_sk=hx(det("seal/ephemeral")),
            message=hx(b"x"),
            ad=hx(ad),
        )
    )
    return vector_file(
        "seal",
        "Primitives",
        "the sealing construction (anonymous X25519 + BLAKE2b + XChaCha20-Poly1305, zero nonce)",
        positive=[{"op": "seal", **case}],
        negative=negative,
    )
