"""Vectors for SPEC.md "Issuer certificates", "Deposits" and "Requests".

Writes ``issuer_cert.json``, ``deposit.json``, ``request.json``, ``request_answer.json`` and
``appointment.json``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import replace
from typing import Any

from vault_core import _crypto, deposits, keys
from vault_core.encoding import b64u, canonical_json

from .common import (
    DAY,
    GRANTEE,
    HANDLE,
    ISSUER_NAME,
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

# -- issuers, deposits, requests -----------------------------------------------------------


def build_issuer(w: World) -> JSON:
    c = w.cert
    body = canonical_json(c.body())
    msg = b"vault.v1/issuer-cert\x00" + body
    positive = [
        {
            "op": "issuer_cert",
            "authority_seed": hx(det("authority/seed")),
            "authority_pk": hx(w.auth_pk),
            "issuer_seed": hx(det("issuer/seed")),
            "issuer_pk": hx(w.iss_pk),
            "body_text": body.decode(),
            "message": hx(msg),
            "sig": hx(c.sig),
            "cert_text": c.encode().decode(),
            "trusted": [hx(w.auth_pk)],
            "now": T0,
            "usage": "deposit",
            "name": c.name,
        }
    ]
    good = json.loads(c.encode())
    base = {"trusted": [hx(w.auth_pk)], "now": T0, "usage": "deposit"}
    deposit_only = deposits.IssuerCert.issue(
        w.auth_sk, w.auth_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after, ("deposit",)
    )
    self_signed = deposits.IssuerCert.issue(
        w.iss_sk, w.iss_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after
    )
    claims_authority = replace(self_signed, authority_pk=w.auth_pk)
    foreign = deposits.IssuerCert.issue(
        w.foreign_sk, w.foreign_pk, w.iss_pk, ISSUER_NAME, c.not_before, c.not_after
    )
    negative = [
        neg(
            "authority not pinned",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=foreign.encode().decode(),
        ),
        neg(
            "self-signed",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=self_signed.encode().decode(),
        ),
        neg(
            "claims the pinned authority, signed by the issuer",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=claims_authority.encode().decode(),
        ),
        neg(
            "expired",
            "issuer_cert",
            "IntegrityError",
            **{**base, "now": c.not_after + 1},
            cert_text=c.encode().decode(),
        ),
        neg(
            "not yet valid",
            "issuer_cert",
            "IntegrityError",
            **{**base, "now": c.not_before - 1},
            cert_text=c.encode().decode(),
        ),
        neg(
            "usage not granted",
            "issuer_cert",
            "IntegrityError",
            **{**base, "usage": "request"},
            cert_text=deposit_only.encode().decode(),
        ),
        neg(
            "renamed",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "name": "Préfecture"}}
            ).decode(),
        ),
        neg(
            "validity extended",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "not_after": c.not_after + DAY}}
            ).decode(),
        ),
        neg(
            "flipped signature",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json({**good, "sig": b64u(flip(c.sig, 1))}).decode(),
        ),
        neg(
            "version true",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json({**good, "cert": {**good["cert"], "v": True}}).decode(),
        ),
        neg(
            "validity bound as a string",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "not_before": str(c.not_before)}}
            ).decode(),
        ),
        neg(
            "other type",
            "issuer_cert",
            "IntegrityError",
            **base,
            cert_text=canonical_json(
                {**good, "cert": {**good["cert"], "type": "device-cert"}}
            ).decode(),
        ),
    ]
    return vector_file(
        "issuer_cert",
        "Issuer certificates",
        "issuer certificates signed by a pinned authority",
        positive=positive,
        negative=negative,
    )


DOCUMENT = (
    b"%PDF-1.7\n% vault test vector document\n" + det("deposit/document-body", 300) + b"\n%%EOF\n"
)


def envelope_case(
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
    ct = _crypto.aead_encrypt(key, nonce, plain, ad)
    assert env == b"VD1" + struct.pack(">H", len(sealed_key)) + sealed_key + nonce + ct
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


def statement(w: World, dep_id: str, **changes: Any) -> deposits.DepositStatement:
    st = deposits.DepositStatement(
        deposit_id=dep_id,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        doc_sha256=hashlib.sha256(DOCUMENT).digest(),
        doc_type="birth-certificate",
        title="Acte de naissance (copie intégrale)",
        filename="acte-de-naissance.pdf",
        issued=T0 + 3600,
        size=len(DOCUMENT),
        issuer_pk=w.iss_pk,
    )
    return replace(st, **changes)


def build_deposit(w: World) -> JSON:
    dep_id = det("deposit/id", 16).hex()
    st = statement(w, dep_id)
    proof = deposits.DepositProof.sign(st, w.iss_sk, w.cert)
    st_msg = b"vault.v1/deposit\x00" + canonical_json(st.body())
    env, case = envelope_case(
        "deposit", dep_id, w.bundle, {"proof": proof.to_json()}, DOCUMENT, "deposit"
    )
    rebuilt = deposits.build_deposit(
        statement=st,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        document=DOCUMENT,
        recipient_box_pk=w.id_box_pk,
        key=det("deposit/key"),
        ephemeral=det("deposit/ephemeral"),
        nonce=det("deposit/nonce", 24),
    )
    assert rebuilt == env
    verify = {
        "trusted": [hx(w.auth_pk)],
        "now": T0 + DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "deposit",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(st_msg),
            "statement_sig": hx(proof.sig),
            "proof_text": canonical_json(proof.to_json()).decode(),
            "document_sha256": hx(hashlib.sha256(DOCUMENT).digest()),
            **case,
            "verify": verify,
            "issuer_name": ISSUER_NAME,
        }
    ]
    rsk = hx(w.bundle.identity_box_secret)

    def dep_env(
        stmt: deposits.DepositStatement,
        doc: bytes = DOCUMENT,
        *,
        signer: bytes | None = None,
        cert: deposits.IssuerCert | None = None,
        to: keys.AccountBundle | None = None,
        label: str,
    ) -> str:
        p = deposits.DepositProof(
            stmt,
            _crypto.sign(signer or w.iss_sk, b"vault.v1/deposit\x00" + canonical_json(stmt.body())),
            cert or w.cert,
        )
        e, _ = envelope_case(
            "deposit", stmt.deposit_id, to or w.bundle, {"proof": p.to_json()}, doc, label
        )
        return hx(e)

    foreign_cert = deposits.IssuerCert.issue(
        w.foreign_sk, w.foreign_pk, w.iss_pk, ISSUER_NAME, T0 - DAY, T0 + DAY
    )
    other_iss_pk, other_iss_sk = deposits.issuer_keypair(det("issuer/other"))
    base = {"id": dep_id, "recipient_box_sk": rsk, "verify": verify}
    negative = [
        neg(
            "retargeted: Jean's deposit re-sealed to Bouchra",
            "deposit",
            "IntegrityError",
            id=dep_id,
            recipient_box_sk=hx(w.grantee.identity_box_secret),
            verify={**verify, "owner": GRANTEE, "owner_sign_pk": hx(w.grantee_identity.sign_pk)},
            envelope=dep_env(st, to=w.grantee, label="deposit/retarget"),
        ),
        neg(
            "addressed to another key of the same handle",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, to_sign_pk=w.grantee_identity.sign_pk), label="deposit/tokey"
            ),
        ),
        neg(
            "opened under another deposit id (AD)",
            "deposit",
            "IntegrityError",
            **{**base, "id": det("deposit/other-id", 16).hex()},
            envelope=hx(env),
        ),
        neg(
            "statement for another deposit id",
            "deposit",
            "IntegrityError",
            **{**base, "id": det("deposit/other-id", 16).hex()},
            envelope=_reid_envelope(w, st, det("deposit/other-id", 16).hex()),
        ),
        neg("flipped sealed key", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 40))),
        neg("flipped ciphertext", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 200))),
        neg("flipped tag", "deposit", "IntegrityError", **base, envelope=hx(flip(env, -1))),
        neg(
            "flipped length prefix", "deposit", "IntegrityError", **base, envelope=hx(flip(env, 4))
        ),
        neg("truncated", "deposit", "IntegrityError", **base, envelope=hx(env[:-1])),
        neg("extended", "deposit", "IntegrityError", **base, envelope=hx(env + b"\x00")),
        neg(
            "document swapped",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, DOCUMENT + b" ", label="deposit/swapdoc"),
        ),
        neg(
            "signed by a key other than the certificate's",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, signer=other_iss_sk, label="deposit/othersigner"),
        ),
        neg(
            "statement names another issuer key",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issuer_pk=other_iss_pk),
                signer=other_iss_sk,
                label="deposit/otherissuer",
            ),
        ),
        neg(
            "certificate from an authority not pinned",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(st, cert=foreign_cert, label="deposit/foreign"),
        ),
        neg(
            "issued after the certificate expired",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issued=w.cert.not_after + 1), label="deposit/expired"
            ),
        ),
        neg(
            "issued before the certificate was valid",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(
                statement(w, dep_id, issued=w.cert.not_before - 1), label="deposit/early"
            ),
        ),
        neg(
            "dated more than a day in the future",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(statement(w, dep_id, issued=T0 + 3 * DAY), label="deposit/future"),
        ),
        neg(
            "size differs from the document",
            "deposit",
            "IntegrityError",
            **base,
            envelope=dep_env(statement(w, dep_id, size=len(DOCUMENT) + 1), label="deposit/size"),
        ),
    ]
    return vector_file(
        "deposit",
        "Deposits",
        "signed deposit statements sealed in an envelope to the recipient, and their verification",
        positive=positive,
        negative=negative,
    )


def _reid_envelope(w: World, st: deposits.DepositStatement, outer_id: str) -> str:
    """A genuine statement for deposit X sealed in an envelope for deposit Y."""
    proof = deposits.DepositProof.sign(st, w.iss_sk, w.cert)
    env, _ = envelope_case(
        "deposit", outer_id, w.bundle, {"proof": proof.to_json()}, DOCUMENT, "deposit/reid"
    )
    return hx(env)


def build_request(w: World) -> JSON:
    req_id = det("request/id", 16).hex()
    st = deposits.RequestStatement(
        request_id=req_id,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        needs=("proof-of-address", "tax-notice"),
        due=T0 + 14 * DAY,
        message="Merci de fournir un justificatif de domicile et votre avis d'imposition.",
        created=T0 + 600,
        issuer_pk=w.iss_pk,
        requester="mairie-villeurbanne",
    )
    sig = _crypto.sign(w.iss_sk, b"vault.v1/request\x00" + canonical_json(st.body()))
    meta = {"cert": w.cert.to_json(), "sig": b64u(sig), "statement": st.body()}
    env, case = envelope_case("request", req_id, w.bundle, meta, b"", "request")
    assert env == deposits.build_request(
        statement=st,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        recipient_box_pk=w.id_box_pk,
        key=det("request/key"),
        ephemeral=det("request/ephemeral"),
        nonce=det("request/nonce", 24),
    )
    verify = {
        "trusted": [hx(w.auth_pk)],
        "now": T0 + DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "request",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(b"vault.v1/request\x00" + canonical_json(st.body())),
            "statement_sig": hx(sig),
            **case,
            "verify": verify,
        }
    ]

    def req_env(
        meta2: JSON, label: str, rid: str = req_id, to: keys.AccountBundle | None = None
    ) -> str:
        return hx(envelope_case("request", rid, to or w.bundle, meta2, b"", label)[0])

    st_bob = replace(st, to=GRANTEE, to_sign_pk=w.grantee_identity.sign_pk)
    sig_bob = _crypto.sign(w.iss_sk, b"vault.v1/request\x00" + canonical_json(st_bob.body()))
    base = {"id": req_id, "recipient_box_sk": hx(w.bundle.identity_box_secret), "verify": verify}
    _, other_sk = deposits.issuer_keypair(det("issuer/other"))
    negative = [
        neg(
            "opened under another request id (AD)",
            "request",
            "IntegrityError",
            **{**base, "id": det("request/other", 16).hex()},
            envelope=hx(env),
        ),
        neg("flipped ciphertext", "request", "IntegrityError", **base, envelope=hx(flip(env, 150))),
        neg("truncated", "request", "IntegrityError", **base, envelope=hx(env[:-1])),
        neg(
            "message changed after signing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {**meta, "statement": {**st.body(), "message": "Payez 100 €"}}, "request/msg"
            ),
        ),
        neg(
            "due date moved after signing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {**meta, "statement": {**st.body(), "due": st.due - 10 * DAY}}, "request/due"
            ),
        ),
        neg(
            "signed by another key",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {
                    **meta,
                    "sig": b64u(
                        _crypto.sign(other_sk, b"vault.v1/request\x00" + canonical_json(st.body()))
                    ),
                },
                "request/othersig",
            ),
        ),
        neg(
            "addressed to another person (re-sealed)",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env(
                {"cert": w.cert.to_json(), "sig": b64u(sig_bob), "statement": st_bob.body()},
                "request/retarget",
            ),
        ),
        neg(
            "certificate not valid now",
            "request",
            "IntegrityError",
            **{**base, "verify": {**verify, "now": w.cert.not_after + 1}},
            envelope=hx(env),
        ),
        neg(
            "certificate from an authority not pinned",
            "request",
            "IntegrityError",
            **{**base, "verify": {**verify, "trusted": [hx(w.foreign_pk)]}},
            envelope=hx(env),
        ),
        neg(
            "statement for another request id",
            "request",
            "IntegrityError",
            **{**base, "id": det("request/other", 16).hex()},
            envelope=req_env(meta, "request/reid", rid=det("request/other", 16).hex()),
        ),
        neg(
            "signature field missing",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env({k: v for k, v in meta.items() if k != "sig"}, "request/nosig"),
        ),
        neg(
            "signature field not base64url",
            "request",
            "IntegrityError",
            **base,
            envelope=req_env({**meta, "sig": "!"}, "request/badsig"),
        ),
    ]
    return vector_file(
        "request",
        "Requests",
        "signed document requests sealed to the recipient, and their verification",
        positive=positive,
        negative=negative,
    )


def build_appointment(w: World) -> JSON:
    """SPEC §Appointments: an appointment sealed to the owner, and what a client refuses."""
    from vault_core import appointments

    appt_id = det("appointment/id", 16).hex()
    st = appointments.AppointmentStatement(
        appointment_id=appt_id,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        at=T0 + 10 * DAY + 9 * 3600,
        duration=45 * 60,
        place="Mairie de Villeurbanne, guichet 4, place Lazare-Goujon",
        bring=("proof-of-address", "id-card"),
        message="Rendez-vous RSA : apportez vos justificatifs.",
        created=T0 + 600,
        issuer_pk=w.iss_pk,
        requester="mairie-villeurbanne",
    )
    label = b"vault.v1/appointment\x00"
    sig = _crypto.sign(w.iss_sk, label + canonical_json(st.body()))
    meta = {"cert": w.cert.to_json(), "sig": b64u(sig), "statement": st.body()}
    env, case = envelope_case("appointment", appt_id, w.bundle, meta, b"", "appointment")
    assert env == appointments.build_appointment(
        statement=st,
        issuer_sk=w.iss_sk,
        cert=w.cert,
        recipient_box_pk=w.id_box_pk,
        key=det("appointment/key"),
        ephemeral=det("appointment/ephemeral"),
        nonce=det("appointment/nonce", 24),
    )
    verify = {
        "trusted": [hx(w.auth_pk)],
        "now": T0 + DAY,
        "owner": HANDLE,
        "owner_sign_pk": hx(w.id_sign_pk),
    }
    positive = [
        {
            "op": "appointment",
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(label + canonical_json(st.body())),
            "statement_sig": hx(sig),
            **case,
            "verify": verify,
        }
    ]

    def appt_env(meta2: JSON, tag: str, body: bytes = b"", kind: str = "appointment") -> str:
        return hx(envelope_case(kind, appt_id, w.bundle, meta2, body, tag)[0])

    def signed(body: JSON) -> JSON:
        return {
            **meta,
            "statement": body,
            "sig": b64u(_crypto.sign(w.iss_sk, label + canonical_json(body))),
        }

    base = {"id": appt_id, "recipient_box_sk": hx(w.bundle.identity_box_secret), "verify": verify}
    negative = [
        neg("opened under another id (AD)", "appointment", "IntegrityError",
            **{**base, "id": det("appointment/other", 16).hex()}, envelope=hx(env)),
        neg("flipped ciphertext", "appointment", "IntegrityError", **base,
            envelope=hx(flip(env, 150))),
        neg("truncated", "appointment", "IntegrityError", **base, envelope=hx(env[:-1])),
        neg("sealed as a request (kind in the AD)", "appointment", "IntegrityError", **base,
            envelope=appt_env(meta, "appointment/asrequest", kind="request")),
        neg("place changed after signing", "appointment", "IntegrityError", **base,
            envelope=appt_env({**meta, "statement": {**st.body(), "place": "Ailleurs"}},
                              "appointment/place")),
        neg("time moved after signing", "appointment", "IntegrityError", **base,
            envelope=appt_env({**meta, "statement": {**st.body(), "at": st.at - DAY}},
                              "appointment/at")),
        neg("a body after the meta", "appointment", "IntegrityError", **base,
            envelope=appt_env(meta, "appointment/body", body=b"x")),
        neg("signed, but a place of 501 characters", "appointment", "IntegrityError", **base,
            envelope=appt_env(signed({**st.body(), "place": "x" * 501}), "appointment/long")),
        neg("signed, but a duration of zero", "appointment", "IntegrityError", **base,
            envelope=appt_env(signed({**st.body(), "duration": 0}), "appointment/zero")),
        neg("certificate from an authority not pinned", "appointment", "IntegrityError",
            **{**base, "verify": {**verify, "trusted": [hx(w.foreign_pk)]}}, envelope=hx(env)),
        neg("addressed to another person", "appointment", "IntegrityError",
            **{**base, "verify": {**verify, "owner": GRANTEE}}, envelope=hx(env)),
    ]  # fmt: skip
    return vector_file(
        "appointment",
        "Appointments",
        "signed appointments sealed to the recipient, and their verification",
        positive=positive,
        negative=negative,
    )


def build_request_answer(w: World) -> JSON:
    """SPEC §Requests, answers: the owner's signed answer sealed to the requester and to the
    owner, and what a reader refuses."""
    from vault_core import checklists

    req_id = det("request/id", 16).hex()
    grant_id = det("request-answer/grant", 16).hex()
    st = checklists.AnswerStatement(
        request_id=req_id,
        owner=HANDLE,
        owner_sign_pk=w.id_sign_pk,
        requester=GRANTEE,
        grant_id=grant_id,
        items={
            "proof-of-address": ("Courrier/Mairie/justificatif.pdf",),
            "tax-notice": ("impots/avis-2026.pdf",),
        },
        answered=T0 + 2 * DAY,
    )
    keys_ = (det("request-answer/key-r"), det("request-answer/key-o"))
    ephs = (det("request-answer/eph-r"), det("request-answer/eph-o"))
    nonces = (det("request-answer/nonce-r", 24), det("request-answer/nonce-o", 24))
    env = checklists.build_answer(
        statement=st,
        owner_sign_sk=w.id_sign_sk,
        requester_box_pk=w.grantee.identity_box[0],
        owner_box_pk=w.id_box_pk,
        keys=keys_,
        ephemerals=ephs,
        nonces=nonces,
    )
    label = b"vault.v1/request-answer\x00"
    sig = _crypto.sign(w.id_sign_sk, label + canonical_json(st.body()))
    common = {"id": req_id, "envelope": hx(env), "owner_sign_pk": hx(w.id_sign_pk)}
    positive = [
        {
            "op": "request_answer",
            "reader": reader,
            "reader_box_sk": hx(sk),
            "statement_text": canonical_json(st.body()).decode(),
            "statement_message": hx(label + canonical_json(st.body())),
            "statement_sig": hx(sig),
            **common,
        }
        for reader, sk in (
            ("requester", w.grantee.identity_box_secret),
            ("owner", w.bundle.identity_box_secret),
        )
    ]
    pair = json.loads(env)

    def repacked(**change: str) -> str:
        return hx(canonical_json({**pair, **change}))

    base = {"id": req_id, "reader": "owner", "reader_box_sk": hx(w.bundle.identity_box_secret),
            "owner_sign_pk": hx(w.id_sign_pk)}  # fmt: skip
    other_pk, _ = deposits.issuer_keypair(det("request-answer/other"))
    negative = [
        neg("opened under another request id (AD)", "request_answer", "IntegrityError",
            **{**base, "id": det("request/other", 16).hex()}, envelope=hx(env)),
        neg("the other reader's copy", "request_answer", "IntegrityError",
            **base, envelope=repacked(owner=pair["requester"])),
        neg("a flipped byte in the owner's copy", "request_answer", "IntegrityError", **base,
            envelope=repacked(owner=b64u(flip(base64_dec(pair["owner"]), 100)))),
        neg("not the owner's key (another key signed it)", "request_answer", "IntegrityError",
            **{**base, "owner_sign_pk": hx(other_pk)}, envelope=hx(env)),
        neg("a copy missing", "request_answer", "IntegrityError", **base,
            envelope=hx(canonical_json({"owner": pair["owner"]}))),
        neg("not canonical", "request_answer", "IntegrityError", **base,
            envelope=hx(json.dumps(pair, indent=1).encode())),
    ]  # fmt: skip
    return vector_file(
        "request_answer",
        "Requests",
        "the owner's signed answer to a request, item by item, and its verification",
        positive=positive,
        negative=negative,
    )


def base64_dec(text: str) -> bytes:
    from vault_core.encoding import unb64u

    return unb64u(text)
