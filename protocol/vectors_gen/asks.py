"""Vectors for SPEC.md "Asks": a citizen's ask sealed to an issuer account, the issuer's
reply sealed to the citizen, and what each side refuses.

Writes ``ask.json``.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from vault_core import _crypto, asks, deposits, keys
from vault_core.encoding import b64u, canonical_json

from .common import (
    DAY,
    GRANTEE,
    HANDLE,
    JSON,
    T0,
    World,
    det,
    flip,
    hx,
    neg,
    seal_case,
    vector_file,
)

ISSUER_HANDLE = "mairie-villeurbanne"
DOCUMENT = b"%PDF-1.7 copie integrale d'acte de naissance (vecteur de test)"


def _envelope(
    kind: str, item_id: str, recipient: keys.AccountBundle, meta: JSON, body: bytes, label: str
) -> tuple[bytes, JSON]:
    key = det(f"{label}/key")
    eph = det(f"{label}/ephemeral")
    nonce = det(f"{label}/nonce", 24)
    rpk = recipient.identity_box[0]
    env = deposits.seal_envelope(kind, item_id, rpk, meta, body, key, eph, nonce)
    key_ad = b"vault.v1/" + kind.encode() + b"-key\x00" + item_id.encode()
    ad = b"vault.v1/" + kind.encode() + b"\x00" + item_id.encode()
    sealed_key, seal_detail = seal_case(recipient.identity_box_secret, eph, key, key_ad)
    mj = canonical_json(meta)
    plain = struct.pack(">I", len(mj)) + mj + body
    assert env == b"VD1" + struct.pack(">H", len(sealed_key)) + sealed_key + nonce + (
        _crypto.aead_encrypt(key, nonce, plain, ad)
    )
    return env, {
        "kind": kind,
        "id": item_id,
        "recipient_box_sk": hx(recipient.identity_box_secret),
        "recipient_box_pk": hx(rpk),
        "key": hx(key),
        "sealed_key_ad": hx(key_ad),
        "sealed_key": hx(sealed_key),
        "seal": seal_detail,
        "meta_text": mj.decode(),
        "body": hx(body),
        "plaintext": hx(plain),
        "nonce": hx(nonce),
        "ad": hx(ad),
        "envelope": hx(env),
    }


def build_ask(w: World) -> JSON:
    """SPEC §Asks: the ask the issuer account opens, the reply the asker opens."""
    mairie = keys.new_bundle(ISSUER_HANDLE, det("mairie/bundle", 96), T0)
    ask_id = det("ask/id", 16).hex()
    st = asks.AskStatement(
        ask_id=ask_id,
        from_=HANDLE,
        from_sign_pk=w.id_sign_pk,
        to=ISSUER_HANDLE,
        doc_type="birth-certificate",
        message="Bonjour, une copie intégrale de mon acte de naissance, s'il vous plaît.",
        created=T0 + 3600,
    )
    ask_label = b"vault.v1/ask\x00"
    ask_sig = _crypto.sign(w.id_sign_sk, ask_label + canonical_json(st.body()))
    ask_meta = {"sig": b64u(ask_sig), "statement": st.body()}
    env, case = _envelope("ask", ask_id, mairie, ask_meta, b"", "ask")
    assert env == asks.build_ask(
        statement=st,
        owner_sign_sk=w.id_sign_sk,
        recipient_box_pk=mairie.identity_box[0],
        key=det("ask/key"),
        ephemeral=det("ask/ephemeral"),
        nonce=det("ask/nonce", 24),
    )
    ask_verify = {"to": ISSUER_HANDLE, "sender": HANDLE, "sender_listed": HANDLE,
                  "sender_sign_pk": hx(w.id_sign_pk)}  # fmt: skip

    deposit_id = asks.fulfil_deposit_id(
        det("issuer/seed"), ask_id, hashlib.sha256(DOCUMENT).digest()
    )
    reply = asks.AskReply(
        ask_id=ask_id,
        deposit_id=deposit_id,
        doc_sha256=hashlib.sha256(DOCUMENT).digest(),
        doc_type="birth-certificate",
        from_=ISSUER_HANDLE,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        issuer_pk=w.iss_pk,
        created=T0 + 2 * DAY,
    )
    reply_label = b"vault.v1/ask-reply\x00"
    reply_sig = _crypto.sign(w.iss_sk, reply_label + canonical_json(reply.body()))
    reply_meta = {"cert": w.cert.to_json(), "sig": b64u(reply_sig), "statement": reply.body()}
    renv, rcase = _envelope("ask-reply", ask_id, w.bundle, reply_meta, b"", "ask-reply")
    assert renv == asks.build_reply(
        reply=reply,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        recipient_box_pk=w.id_box_pk,
        key=det("ask-reply/key"),
        ephemeral=det("ask-reply/ephemeral"),
        nonce=det("ask-reply/nonce", 24),
    )
    reply_verify = {
        "ask_text": canonical_json(st.body()).decode(),
        "deposit_id": deposit_id,
        "trusted": [hx(w.auth_pk)],
        "now": T0 + 2 * DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "ask",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(ask_label + canonical_json(st.body())),
            "statement_sig": hx(ask_sig),
            **case,
            "verify": ask_verify,
        },
        {
            "op": "ask_reply",
            "statement_text": canonical_json(reply.body()).decode(),
            "statement_message": hx(reply_label + canonical_json(reply.body())),
            "statement_sig": hx(reply_sig),
            **rcase,
            "verify": reply_verify,
        },
        {
            "op": "ask_deposit_id",
            "issuer_seed": hx(det("issuer/seed")),
            "ask": ask_id,
            "doc_sha256": hx(hashlib.sha256(DOCUMENT).digest()),
            "deposit_id": deposit_id,
        },
    ]

    def ask_env(meta: JSON, tag: str, body: bytes = b"", kind: str = "ask") -> str:
        return hx(_envelope(kind, ask_id, mairie, meta, body, tag)[0])

    def ask_signed(body: JSON, sk: bytes = w.id_sign_sk) -> JSON:
        return {"statement": body, "sig": b64u(_crypto.sign(sk, ask_label + canonical_json(body)))}

    def reply_env(meta: JSON, tag: str, body: bytes = b"", kind: str = "ask-reply") -> str:
        return hx(_envelope(kind, ask_id, w.bundle, meta, body, tag)[0])

    def reply_signed(body: JSON) -> JSON:
        sig = _crypto.sign(w.iss_sk, reply_label + canonical_json(body))
        return {**reply_meta, "statement": body, "sig": b64u(sig)}

    other_id = det("ask/other", 16).hex()
    abase: dict[str, Any] = {"id": ask_id, "recipient_box_sk": hx(mairie.identity_box_secret),
                             "verify": ask_verify}  # fmt: skip
    rbase: dict[str, Any] = {"id": ask_id, "recipient_box_sk": hx(w.bundle.identity_box_secret),
                             "verify": reply_verify}  # fmt: skip
    mallory = keys.new_bundle(GRANTEE, det("bouchra/bundle", 96), T0)
    negative = [
        neg("opened under another id (AD)", "ask", "IntegrityError",
            **{**abase, "id": other_id}, envelope=hx(env)),
        neg("flipped ciphertext", "ask", "IntegrityError", **abase, envelope=hx(flip(env, 140))),
        neg("truncated", "ask", "IntegrityError", **abase, envelope=hx(env[:-1])),
        neg("sealed as a request (kind in the AD)", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_meta, "ask/asrequest", kind="request")),
        neg("type changed after signing", "ask", "IntegrityError", **abase,
            envelope=ask_env({**ask_meta, "statement": {**st.body(), "doc_type": "passport"}},
                             "ask/type")),
        neg("message changed after signing", "ask", "IntegrityError", **abase,
            envelope=ask_env({**ask_meta, "statement": {**st.body(), "message": "autre"}},
                             "ask/message")),
        neg("a body after the meta", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_meta, "ask/body", body=b"x")),
        neg("signed, but a message of 4001 characters", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_signed({**st.body(), "message": "m" * 4001}), "ask/long")),
        neg("signed, but a bad document type", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_signed({**st.body(), "doc_type": "Acte"}), "ask/badtype")),
        neg("signed, but an extra field", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_signed({**st.body(), "extra": 1}), "ask/extra")),
        neg("signed by someone else in the asker's name", "ask", "IntegrityError", **abase,
            envelope=ask_env(ask_signed({**st.body(), "from_sign_pk":
                                         b64u(mallory.identity_sign[0])},
                                        mallory.identity_sign[1]), "ask/mallory")),
        neg("addressed to another account", "ask", "IntegrityError",
            **{**abase, "verify": {**ask_verify, "to": "prefecture"}}, envelope=hx(env)),
        neg("the server lists another sender", "ask", "IntegrityError",
            **{**abase, "verify": {**ask_verify, "sender_listed": GRANTEE}}, envelope=hx(env)),
        neg("reply: the server links another deposit", "ask_reply", "IntegrityError",
            **{**rbase, "verify": {**reply_verify, "deposit_id": det("ask/dep", 16).hex()}},
            envelope=hx(renv)),
        neg("reply: opened under another ask id (AD)", "ask_reply", "IntegrityError",
            **{**rbase, "id": other_id}, envelope=hx(renv)),
        neg("reply: flipped ciphertext", "ask_reply", "IntegrityError", **rbase,
            envelope=hx(flip(renv, 150))),
        neg("reply: sealed as an ask (kind in the AD)", "ask_reply", "IntegrityError", **rbase,
            envelope=reply_env(reply_meta, "ask-reply/asask", kind="ask")),
        neg("reply: deposit changed after signing", "ask_reply", "IntegrityError",
            **{**rbase, "verify": {**reply_verify, "deposit_id": det("ask/dep", 16).hex()}},
            envelope=reply_env({**reply_meta, "statement": {**reply.body(),
                                "deposit": det("ask/dep", 16).hex()}}, "ask-reply/dep")),
        neg("reply: signed for another type than asked", "ask_reply", "IntegrityError", **rbase,
            envelope=reply_env(reply_signed({**reply.body(), "doc_type": "passport"}),
                               "ask-reply/type")),
        neg("reply: signed for another ask", "ask_reply", "IntegrityError", **rbase,
            envelope=reply_env(reply_signed({**reply.body(), "ask": other_id}),
                               "ask-reply/other")),
        neg("reply: certificate from an authority not pinned", "ask_reply", "IntegrityError",
            **{**rbase, "verify": {**reply_verify, "trusted": [hx(w.foreign_pk)]}},
            envelope=hx(renv)),
        neg("reply: addressed to another person", "ask_reply", "IntegrityError",
            **{**rbase, "verify": {**reply_verify, "owner": GRANTEE}}, envelope=hx(renv)),
    ]  # fmt: skip
    return vector_file(
        "ask",
        "Asks",
        "citizens' asks sealed to an issuer account, the issuer's signed replies, and checks",
        positive=positive,
        negative=negative,
    )
