"""Vectors for SPEC.md "Trust invitations": the file and URI forms, their signature, and the
fingerprint words.

Writes ``trust_invitation.json``. The signed message, both encodings and the word indices are
re-derived here from the SPEC's formulas (hashlib, urllib's quoting, plain JSON), and the
words are read from BIP-39's French list as the ``mnemonic`` package ships it, checked against
the SPEC's SHA-256: a drift between this and ``vault_core.trust`` stops the build. Negative
cases are signed validly where the point is the form (a bad name, another type), so that only
the rule under test can refuse them.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from urllib.parse import quote

from vault_core import _crypto, deposits, trust
from vault_core.encoding import b64u, canonical_json

from .common import JSON, T0, det, hx, neg, vector_file

FRENCH_SHA256 = "ebc3959ab7801a1df6bac4fa7d970652f1df76b683cd2f4003c941c63d517e59"
NAMES = ("Mairie de Lyon", "Caisse d'allocations familiales — Rhône (CAF)", "Préfecture")


def _french() -> list[str]:
    data = (resources.files("mnemonic") / "wordlist" / "french.txt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == FRENCH_SHA256
    words = data.decode("utf-8").split()
    assert len(words) == 2048
    return words


def _ref_indices(pk: bytes) -> list[int]:
    n = int.from_bytes(hashlib.sha256(b"vault.v1/authority-words\x00" + pk).digest(), "big")
    bits = format(n, "0256b")[:66]
    return [int(bits[i : i + 11], 2) for i in range(0, 66, 11)]


def _body(pk_text: str, name: str, created: int, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "authority_pk": pk_text,
        "created": created,
        "name": name,
        "type": "trust-invitation",
        "v": 1,
    }
    body.update(extra)
    return body


def _signed_file(sk: bytes, body: dict[str, object], **envelope: object) -> str:
    sig = _crypto.sign(sk, b"vault.v1/trust-invitation\x00" + canonical_json(body))
    return canonical_json({"invitation": body, "sig": b64u(sig), **envelope}).decode()


def build_trust() -> JSON:
    words = _french()
    positive = []
    for i, name in enumerate(NAMES):
        seed = det(f"trust/authority/{i}")
        pk, sk = deposits.authority_keypair(seed)
        created = T0 + 3600 * i
        inv = trust.TrustInvitation.issue(sk, pk, name, created)
        body = canonical_json(inv.body())
        msg = b"vault.v1/trust-invitation\x00" + body
        assert msg == inv.message()
        ref_file = json.dumps(
            {"invitation": json.loads(body), "sig": b64u(inv.sig)},
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        ).encode()
        assert ref_file == inv.encode()
        ref_uri = (
            f"vault-trust:{b64u(pk)}?name={quote(name.encode(), safe='')}"
            f"&created={created}&sig={b64u(inv.sig)}"
        )
        assert ref_uri == inv.to_uri()
        indices = _ref_indices(pk)
        assert tuple(indices) == trust.fingerprint_indices(pk)
        positive.append(
            {
                "op": "trust_invitation",
                "authority_seed": hx(seed),
                "authority_pk": hx(pk),
                "name": name,
                "created": created,
                "body_text": body.decode(),
                "message": hx(msg),
                "sig": hx(inv.sig),
                "file_text": inv.encode().decode(),
                "uri": inv.to_uri(),
                "word_indices": indices,
                "words": " ".join(words[k] for k in indices),
            }
        )
    pk, sk = deposits.authority_keypair(det("trust/authority/0"))
    other_pk, other_sk = deposits.authority_keypair(det("trust/authority/other"))
    good = trust.TrustInvitation.issue(sk, pk, NAMES[0], T0)
    good_file = good.encode().decode()
    good_uri = good.to_uri()
    pk_text = b64u(pk)
    low_order = bytes(31) + b"\x00"  # the identity point's neutral encoding, all zero
    low_order_1 = bytes([1]) + bytes(31)  # the identity point (order 1)
    swapped = trust.TrustInvitation.issue(other_sk, other_pk, NAMES[0], T0)
    negative = [
        neg(
            "name altered after signing",
            "trust_invitation_file",
            "IntegrityError",
            file_text=good_file.replace("Lyon", "Lyom"),
        ),
        neg(
            "signature by another key",
            "trust_invitation_file",
            "IntegrityError",
            file_text=canonical_json(
                {"invitation": good.body(), "sig": b64u(swapped.sig)}
            ).decode(),
        ),
        neg(
            "not canonical (a space)",
            "trust_invitation_file",
            "IntegrityError",
            file_text=good_file.replace(',"sig"', ', "sig"'),
        ),
        neg(
            "an extra envelope field",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, NAMES[0], T0), note="x"),
        ),
        neg(
            "an extra body field",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, NAMES[0], T0, url="https://x")),
        ),
        neg(
            "another type",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, {**_body(pk_text, NAMES[0], T0), "type": "issuer-cert"}),
        ),
        neg(
            "version 2",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, {**_body(pk_text, NAMES[0], T0), "v": 2}),
        ),
        neg(
            "created is a string",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, {**_body(pk_text, NAMES[0], T0), "created": str(T0)}),
        ),
        neg(
            "empty name",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, "", T0)),
        ),
        neg(
            "name with a control character",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, "Mairie\u0007", T0)),
        ),
        neg(
            "name with a bidi override",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, "Mairie \u202enoyL", T0)),
        ),
        neg(
            "name not in NFC",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, "Pre\u0301fecture", T0)),
        ),
        neg(
            "name of 121 characters",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(pk_text, "M" * 121, T0)),
        ),
        neg(
            "all-zero key",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(b64u(low_order), NAMES[0], T0)),
        ),
        neg(
            "small-order key",
            "trust_invitation_file",
            "IntegrityError",
            file_text=_signed_file(sk, _body(b64u(low_order_1), NAMES[0], T0)),
        ),
        neg(
            "too long", "trust_invitation_file", "IntegrityError", file_text=good_file + " " * 2048
        ),
        neg(
            "URI: name altered",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri.replace("Lyon", "Lyom"),
        ),
        neg(
            "URI: key of another authority",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri.replace(pk_text, b64u(other_pk)),
        ),
        neg(
            "URI: parameters reordered",
            "trust_invitation_uri",
            "IntegrityError",
            uri=f"vault-trust:{pk_text}?created={T0}&name={quote(NAMES[0], safe='')}"
            f"&sig={b64u(good.sig)}",
        ),
        neg(
            "URI: a parameter repeated",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri + f"&sig={b64u(good.sig)}",
        ),
        neg(
            "URI: an unknown parameter",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri + "&lang=fr",
        ),
        neg(
            "URI: space as +",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri.replace("%20", "+"),
        ),
        neg(
            "URI: lower-case percent hex",
            "trust_invitation_uri",
            "IntegrityError",
            uri=trust.TrustInvitation.issue(sk, pk, NAMES[2], T0)
            .to_uri()
            .replace("%C3%A9", "%c3%a9"),
        ),
        neg(
            "URI: created with a leading zero",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri.replace(f"created={T0}", f"created=0{T0}"),
        ),
        neg(
            "URI: another scheme",
            "trust_invitation_uri",
            "IntegrityError",
            uri=good_uri.replace("vault-trust:", "vault-trusts:"),
        ),
    ]
    return vector_file(
        "trust_invitation",
        "Trust invitations",
        "Invitations to trust an authority (file and URI forms, self-signed) and the "
        "fingerprint words (BIP-39 French list).",
        french_list_sha256=FRENCH_SHA256,
        positive=positive,
        negative=negative,
    )
