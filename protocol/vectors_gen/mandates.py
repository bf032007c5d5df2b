"""Vectors for SPEC.md "Mandates": the owner's statement and the helper's sealed copy, scope
matching, a helper entry in the owner's log (checked from a checkpoint that holds the
mandate), a forwarded request, and a helper's answer; each negative case is a complete input
the named operation MUST reject, signed with the right keys so that only the rule under test
fails.

Writes ``mandate.json``. Every signed message and associated data is re-derived here from the
SPEC's formulas and compared with what ``vault_core`` makes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vault_core import _crypto, checklists, delegated, deposits, keys, log, mandates
from vault_core.encoding import b64u, canonical_json

from .common import DAY, HANDLE, JSON, T0, World, det, flip, hx, neg, seal_case, vector_file

HELPER = "gaelle"
REQUESTER = "caf"
MANDATE_ID = det("mandate/id", 16).hex()
GRANT_ID = det("mandate/grant", 16).hex()
REQUEST_ID = det("mandate/request", 16).hex()
SCOPES = ("inbox", "read:Papiers", "requests", "upload:Papiers/CAF")


def _statement(w: World, helper: keys.AccountBundle, **over: Any) -> mandates.Mandate:
    base: dict[str, Any] = {
        "mandate_id": MANDATE_ID,
        "owner": HANDLE,
        "owner_sign_pk": w.id_sign_pk,
        "owner_box_pk": w.id_box_pk,
        "helper": HELPER,
        "helper_sign_pk": helper.identity_sign[0],
        "helper_box_pk": helper.identity_box[0],
        "name": "Gaëlle",
        "scopes": SCOPES,
        "created": T0,
        "expires": T0 + 30 * DAY,
        "grant_id": GRANT_ID,
    }
    base.update(over)
    return mandates.Mandate(**base)


def _sign(sk: bytes, label: str, data: bytes) -> tuple[bytes, bytes]:
    msg = f"vault.v1/{label}".encode() + b"\x00" + data
    return msg, _crypto.sign(sk, msg)


def _upload(path: str) -> log.HelperRecord:
    return log.HelperRecord(
        MANDATE_ID,
        "upload",
        {},
        log.FileRecord(
            file_id=det(f"mandate/file/{path}", 16).hex(),
            version=1,
            path=path,
            deleted=False,
            size=11,
            mtime=(T0 + 50) * 1000,
            content=det(f"mandate/content/{path}"),
            manifest=det(f"mandate/manifest/{path}").hex(),
            key=det(f"mandate/key/{path}"),
        ),
    )


def build_mandate(w: World) -> JSON:
    """SPEC §Mandates."""
    helper = keys.new_bundle(HELPER, det("gaelle/bundle", 96), T0)
    other = keys.new_bundle("mallory", det("mallory/bundle", 96), T0)
    m = _statement(w, helper)
    text = m.encode()
    msg, sig = _sign(w.id_sign_sk, "mandate", text)
    assert sig == mandates.sign_mandate(m, w.id_sign_sk)
    assert mandates.open_mandate(text, sig, w.id_sign_pk) == m
    positive: list[JSON] = [
        {
            "op": "mandate_statement",
            "name": "statement",
            "statement_text": text.decode(),
            "owner_sign_pk": hx(w.id_sign_pk),
            "message": hx(msg),
            "sig": hx(sig),
            "kinds": m.kinds(),
        }
    ]
    # the helper's copy
    pair = canonical_json({"sig": b64u(sig), "statement": m.to_json()})
    ad = b"vault.v1/mandate-copy\x00" + MANDATE_ID.encode()
    eph = det("mandate/copy/ephemeral")
    sealed, seal_detail = seal_case(helper.identity_box_secret, eph, pair, ad)
    assert sealed == mandates.seal_copy(m, sig, eph)
    positive.append(
        {
            "op": "mandate_copy",
            "name": "the helper's copy",
            "mandate": MANDATE_ID,
            "helper": HELPER,
            "helper_box_sk": hx(helper.identity_box_secret),
            "helper_sign_pk": hx(helper.identity_sign[0]),
            "owner_sign_pk": hx(w.id_sign_pk),
            "copy_text": pair.decode(),
            "seal": seal_detail,
            "sealed": hx(sealed),
        }
    )
    # scope matching
    for action, path in (
        ("upload", "Papiers/CAF/avis.pdf"),
        ("upload", "Papiers/CAF"),
        ("upload", "Papiers/CAFE/x.pdf"),
        ("upload", "Papiers/impots.pdf"),
        ("read", "Papiers/impots.pdf"),
        ("read", "Santé/x.pdf"),
        ("accept", "Courrier/CAF/attestation.pdf"),
        ("accept", "Papiers/CAF/attestation.pdf"),
        ("accept", "Papiers/attestation.pdf"),
        ("answer", None),
    ):
        positive.append(
            {
                "op": "mandate_allows",
                "name": f"{action} {path}",
                "scopes": list(SCOPES),
                "action": action,
                "path": path,
                "allowed": mandates.allows(SCOPES, action, path),
            }
        )
    # a helper entry, checked from a checkpoint holding the mandate
    prev = det("mandate/log/prev")
    held = {"ended": False, "sig": b64u(sig), "statement": b64u(text)}
    state: JSON = {
        "devices": {w.devices["a"][0]: b64u(w.devices["a"][1])},
        "head": b64u(prev),
        "mandates": {MANDATE_ID: held},
        "revoked": [],
        "seq": 7,
    }

    def helper_entry(
        record: log.HelperRecord, label: str, time: int = (T0 + 60) * 1000, sk: bytes = b""
    ) -> tuple[bytes, JSON]:
        eph = det(f"mandate/entry/{label}/ephemeral")
        rec_text = canonical_json(record.to_json())
        rec_ad = b"vault.v1/helper-record\x00" + canonical_json(
            {"handle": HANDLE, "mandate": MANDATE_ID, "seq": 8}
        )
        sealed_rec, _ = seal_case(w.id_box_sk, eph, rec_text, rec_ad)
        entry = log.make_helper_entry(
            handle=HANDLE,
            owner_box_pk=w.id_box_pk,
            helper_sign_sk=sk or helper.identity_sign[1],
            seq=8,
            prev=prev,
            time=time,
            record=record,
            ephemeral=eph,
        )
        assert entry.rec == b"VH1" + sealed_rec
        unsigned = canonical_json(entry.unsigned())
        assert _crypto.sign(
            sk or helper.identity_sign[1], b"vault.v1/log-entry\x00" + unsigned
        ) == (entry.sig)
        return entry.encode(), {
            "record_text": rec_text.decode(),
            "record_ad": hx(rec_ad),
            "ephemeral_sk": hx(eph),
            "signed_message": hx(b"vault.v1/log-entry\x00" + unsigned),
        }

    def verify(entry: bytes, st: JSON) -> JSON:
        v = log.LogVerifier.from_state(
            HANDLE, w.id_sign_pk, w.vk.record_key, st, box_sk=w.id_box_sk
        )
        v.feed(entry)
        return v.state()

    good, detail = helper_entry(_upload("Papiers/CAF/avis.pdf"), "upload")
    positive.append(
        {
            "op": "helper_entry",
            "name": "an upload inside upload:Papiers/CAF",
            "handle": HANDLE,
            "owner_box_sk": hx(w.id_box_sk),
            "owner_sign_pk": hx(w.id_sign_pk),
            "record_key": hx(w.vk.record_key),
            "state": state,
            "entry_text": good.decode(),
            **detail,
            "final_state": verify(good, state),
        }
    )
    # a forwarded request
    iss = w.cert
    req = deposits.RequestStatement(
        request_id=REQUEST_ID,
        to=HANDLE,
        to_sign_pk=w.id_sign_pk,
        needs=("proof-of-address",),
        due=T0 + 10 * DAY,
        message="Merci de nous envoyer un justificatif de domicile.",
        created=T0 + 3600,
        issuer_pk=w.iss_pk,
        requester=REQUESTER,
    )
    envelope = deposits.build_request(
        statement=req,
        issuer_sk=w.iss_sk,
        cert=iss,
        recipient_box_pk=w.id_box_pk,
        key=det("mandate/request/key"),
        ephemeral=det("mandate/request/ephemeral"),
        nonce=det("mandate/request/nonce", 24),
    )
    fw_eph = det("mandate/forward/ephemeral")
    forward = delegated.forward(
        mandate=m,
        kind="request",
        item_id=REQUEST_ID,
        envelope=envelope,
        owner_box_sk=w.id_box_sk,
        owner_sign_sk=w.id_sign_sk,
        certified=iss.name,
        ephemeral=fw_eph,
    )
    key_ad = b"vault.v1/request-key\x00" + REQUEST_ID.encode()
    resealed, _ = seal_case(helper.identity_box_secret, fw_eph, det("mandate/request/key"), key_ad)
    body = {
        "certified": iss.name,
        "envelope": b64u(_crypto.sha256(envelope)),
        "id": REQUEST_ID,
        "kind": "request",
        "mandate": MANDATE_ID,
        "sealed_key": b64u(resealed),
        "type": "mandate-forward",
        "v": 1,
    }
    fw_msg, fw_sig = _sign(w.id_sign_sk, "mandate-forward", canonical_json(body))
    assert forward == canonical_json({"sig": b64u(fw_sig), "statement": body})
    spliced, _ = delegated.open_forward(
        forward, w.id_sign_pk, MANDATE_ID, "request", REQUEST_ID, envelope
    )
    n = int.from_bytes(envelope[3:5], "big")
    assert spliced == b"VD1" + len(resealed).to_bytes(2, "big") + resealed + envelope[5 + n :]
    assert deposits.open_request(REQUEST_ID, helper.identity_box_secret, spliced)[0] == req
    positive.append(
        {
            "op": "mandate_forward",
            "name": "a request forwarded to the helper",
            "mandate": MANDATE_ID,
            "kind": "request",
            "id": REQUEST_ID,
            "envelope": hx(envelope),
            "forward_text": forward.decode(),
            "signed_message": hx(fw_msg),
            "owner_sign_pk": hx(w.id_sign_pk),
            "helper_box_sk": hx(helper.identity_box_secret),
            "spliced": hx(spliced),
            "request_text": canonical_json(req.body()).decode(),
        }
    )
    # a helper's answer, read by the requester
    caf = keys.new_bundle(REQUESTER, det("caf/bundle", 96), T0)
    answer = checklists.AnswerStatement(
        request_id=REQUEST_ID,
        owner=HANDLE,
        owner_sign_pk=w.id_sign_pk,
        requester=REQUESTER,
        grant_id=det("mandate/answer-grant", 16).hex(),
        items={"proof-of-address": ("Papiers/Facture EDF.pdf",)},
        answered=T0 + 7200,
    )

    def helper_answer(st: checklists.AnswerStatement, sk: bytes, label: str) -> bytes:
        return delegated.build_helper_answer(
            statement=st,
            mandate=text,
            mandate_sig=sig,
            helper_sign_sk=sk,
            requester_box_pk=caf.identity_box[0],
            owner_box_pk=w.id_box_pk,
            keys=(det(f"mandate/{label}/k1"), det(f"mandate/{label}/k2")),
            ephemerals=(det(f"mandate/{label}/e1"), det(f"mandate/{label}/e2")),
            nonces=(det(f"mandate/{label}/n1", 24), det(f"mandate/{label}/n2", 24)),
        )

    ans = helper_answer(answer, helper.identity_sign[1], "answer")
    ans_msg = b"vault.v1/request-answer\x00" + canonical_json(answer.body())
    got, _ = delegated.open_helper_answer(
        REQUEST_ID, "requester", caf.identity_box_secret, ans, HANDLE, w.id_sign_pk
    )
    assert got == answer
    positive.append(
        {
            "op": "helper_answer",
            "name": "an answer by the helper, the requester's copy",
            "request": REQUEST_ID,
            "reader": "requester",
            "reader_box_sk": hx(caf.identity_box_secret),
            "owner": HANDLE,
            "owner_sign_pk": hx(w.id_sign_pk),
            "envelope_text": ans.decode(),
            "signed_message": hx(ans_msg),
            "statement_text": canonical_json(answer.body()).decode(),
        }
    )

    # -- negative ---------------------------------------------------------------------------
    negative: list[JSON] = []

    def bad_statement(name: str, statement: bytes, signature: bytes) -> None:
        negative.append(
            neg(name, "mandate_statement", "IntegrityError", statement_text=statement.decode(),
                sig=hx(signature), owner_sign_pk=hx(w.id_sign_pk))
        )  # fmt: skip

    bad_statement("flipped signature", text, flip(sig, 5))
    wider = canonical_json(dict(m.to_json(), scopes=["inbox", "read:Papiers", "requests",
                                                     "upload:Papiers"]))  # fmt: skip
    bad_statement("scopes widened after signing", wider, sig)
    longer = canonical_json(dict(m.to_json(), expires=m.expires + DAY))
    bad_statement("expiry moved after signing", longer, sig)
    not_canonical = text.replace(b'{"created"', b'{ "created"')
    bad_statement(
        "not canonical",
        not_canonical,
        _crypto.sign(w.id_sign_sk, b"vault.v1/mandate\x00" + not_canonical),
    )
    for label, change in (
        ("helper is the owner", {"helper": HANDLE}),
        ("a read scope without its grant", {"grant": None}),
        ("scopes out of order", {"scopes": ["requests", "inbox"], "grant": None}),
        ("a scope with a path outside the vault", {"scopes": ["upload:../x"], "grant": None}),
        ("longer than ten years", {"expires": T0 + mandates.MAX_LIFE + 1}),
        ("an unknown field", {"extra": 1}),
    ):
        body_ = canonical_json(dict(m.to_json(), **change))
        bad_statement(label, body_, _crypto.sign(w.id_sign_sk, b"vault.v1/mandate\x00" + body_))
    bad_statement("signed by another key", text, mandates.sign_mandate(m, other.identity_sign[1]))

    def bad_entry(name: str, entry: bytes, st: JSON = state) -> None:
        try:
            verify(entry, st)
        except Exception as exc:  # noqa: BLE001 (the generator checks the core refuses it)
            assert type(exc).__name__ == "IntegrityError", exc
        else:
            raise AssertionError(f"helper entry case {name!r} was accepted")
        negative.append(
            neg(name, "helper_entry", "IntegrityError", handle=HANDLE, owner_box_sk=hx(w.id_box_sk),
                owner_sign_pk=hx(w.id_sign_pk), record_key=hx(w.vk.record_key), state=st,
                entry_text=entry.decode())
        )  # fmt: skip

    bad_entry(
        "an upload outside the upload scope", helper_entry(_upload("Papiers/impots.pdf"), "out")[0]
    )
    bad_entry(
        "signed by another key than the helper's",
        helper_entry(_upload("Papiers/CAF/x.pdf"), "other", sk=other.identity_sign[1])[0],
    )
    bad_entry(
        "after the mandate's expiry",
        helper_entry(_upload("Papiers/CAF/y.pdf"), "late", time=m.expires * 1000)[0],
    )
    ended = dict(state, mandates={MANDATE_ID: dict(held, ended=True)})
    bad_entry("after the mandate ended", good, ended)
    without = {k: v for k, v in state.items() if k != "mandates"}
    bad_entry("under a mandate the log does not hold", good, without)
    flipped = log.LogEntry.decode(good)
    bad_entry(
        "a flipped sealed record", dataclasses.replace(flipped, rec=flip(flipped.rec, 40)).encode()
    )

    def bad_forward(name: str, **fields: Any) -> None:
        case = {"mandate": MANDATE_ID, "kind": "request", "id": REQUEST_ID,
                "envelope": hx(envelope), "forward_text": forward.decode(),
                "owner_sign_pk": hx(w.id_sign_pk)}  # fmt: skip
        case.update(fields)
        negative.append(neg(name, "mandate_forward", "IntegrityError", **case))

    other_env = deposits.build_request(
        statement=req, issuer_sk=w.iss_sk, cert=iss, recipient_box_pk=w.id_box_pk,
        key=det("mandate/request/key2"), ephemeral=det("mandate/request/ephemeral2"),
        nonce=det("mandate/request/nonce2", 24),
    )  # fmt: skip
    bad_forward("beside another envelope", envelope=hx(other_env))
    bad_forward("for another mandate", mandate=det("mandate/other", 16).hex())
    bad_forward("as a deposit", kind="deposit")
    bad_forward("not signed by the owner", owner_sign_pk=hx(other.identity_sign[0]))

    def bad_answer(name: str, envelope_: bytes, owner_pk: bytes = w.id_sign_pk) -> None:
        negative.append(
            neg(name, "helper_answer", "IntegrityError", request=REQUEST_ID, reader="requester",
                reader_box_sk=hx(caf.identity_box_secret), owner=HANDLE,
                owner_sign_pk=hx(owner_pk), envelope_text=envelope_.decode())
        )  # fmt: skip

    bad_answer("signed by another key than the helper's",
               helper_answer(answer, other.identity_sign[1], "answer-other"))  # fmt: skip
    late = dataclasses.replace(answer, answered=m.expires)
    bad_answer(
        "answered after the mandate expired",
        helper_answer(late, helper.identity_sign[1], "answer-late"),
    )
    bad_answer("the mandate not signed by the owner the reader holds", ans, other.identity_sign[0])
    return vector_file(
        "mandate",
        "Mandates",
        "A helper mandate: the owner's statement and the helper's copy, scope matching, a "
        "helper entry of the owner's log, a forwarded request and a helper's answer.",
        owner=HANDLE,
        helper=HELPER,
        positive=positive,
        negative=negative,
    )
