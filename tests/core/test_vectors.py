"""protocol/vectors/*.json: regenerated == committed; positives verify; negatives are rejected.

Three layers:

* the committed files equal what ``protocol.make_vectors`` builds now (no silent drift);
* every positive case verifies with vault_core, and every negative case is rejected by
  vault_core with the named error class (never another exception, never accepted);
* an independent reimplementation of the SPEC's formulas with libsodium primitives only
  (``nacl.bindings`` + hashlib, as a JavaScript client would use libsodium-wrappers-sumo)
  reproduces the vectors from their intermediate values.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import pytest

from protocol import make_vectors
from vault_core import (
    _crypto,
    appointments,
    asks,
    checklists,
    chunks,
    deposits,
    grants,
    keys,
    log,
    login,
    manifest,
    shamir,
    trust,
)
from vault_core.encoding import b64u, canonical_json, parse_canonical_json, unb64u
from vault_core.errors import (
    FormatError,
    IntegrityError,
    RollbackError,
    VaultError,
    WeakParameters,
)

VECTORS = Path(make_vectors.__file__).resolve().parent / "vectors"
FILES = sorted(p.stem for p in VECTORS.glob("*.json"))
DOCS: dict[str, dict[str, Any]] = {
    name: json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8")) for name in FILES
}
ERRORS: dict[str, type[VaultError]] = {
    "IntegrityError": IntegrityError,
    "FormatError": FormatError,
    "WeakParameters": WeakParameters,
    "RollbackError": RollbackError,
}

# Negative vectors that the current vault_core does NOT reject as the spec requires. Each is a
# reported core bug (see the report of the vectors work); strict=True turns the fix into a
# reminder to remove the entry.
KNOWN_CORE_BUGS: dict[tuple[str, str], str] = {}


def H(value: str) -> bytes:
    return bytes.fromhex(value)


def test_files_present() -> None:
    expected = {
        "encoding",
        "kdf",
        "login",
        "bundle",
        "identity",
        "public_keys",
        "device_cert",
        "chunk",
        "manifest",
        "log",
        "paths",
        "seal",
        "grant",
        "issuer_cert",
        "trust_invitation",
        "deposit",
        "request",
        "request_answer",
        "appointment",
        "ask",
        "recovery",
        "shamir",
        "recovery_contacts",
        "mandate",
        "release",
    }
    assert expected == set(FILES)


@pytest.fixture(scope="module")
def regenerated() -> dict[str, dict[str, Any]]:
    return make_vectors.build_all()


@pytest.mark.parametrize("name", FILES)
def test_committed_equals_regenerated(name: str, regenerated: dict[str, dict[str, Any]]) -> None:
    committed = (VECTORS / f"{name}.json").read_text(encoding="utf-8")
    assert make_vectors.render(regenerated[name]) == committed, (
        f"protocol/vectors/{name}.json is stale: run python -m protocol.make_vectors"
    )


def test_every_file_has_both_kinds() -> None:
    for name, doc in DOCS.items():
        assert doc["positive"], name
        assert doc["negative"], name
        assert doc["format_version"] == 1
        for case in doc["negative"]:
            assert case["error"] in ERRORS, (name, case["name"])


# -- positive cases -------------------------------------------------------------------------


def _bundle_for_vault_key(vault_key: bytes) -> keys.AccountBundle:
    return keys.AccountBundle("x", b"\x01" * 32, b"\x02" * 32, vault_key)


def pos_b64u(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert b64u(H(c["bytes"])) == c["text"]
    assert unb64u(c["text"]) == H(c["bytes"])


def pos_canonical_json(c: dict[str, Any], doc: dict[str, Any]) -> None:
    canonical = c["canonical_text"].encode("utf-8")
    assert canonical_json(json.loads(c["input_text"])) == canonical
    assert canonical_json(parse_canonical_json(canonical)) == canonical


def pos_kdf(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert _crypto.kdf(H(c["key"]), c["label"], c["size"]) == H(c["output"])


def pos_argon2id(c: dict[str, Any], doc: dict[str, Any]) -> None:
    out = _crypto.argon2id(H(c["password"]), H(c["salt"]), c["m_kib"], c["t"], c["p"], c["size"])
    assert out == H(c["output"])
    with pytest.raises(WeakParameters):  # test-only costs are below the floor
        keys.KdfParams(H(c["salt"]), c["m_kib"], c["t"], c["p"]).check_floor()


def pos_passphrase(c: dict[str, Any], doc: dict[str, Any]) -> None:
    params = keys.KdfParams.from_json(c["kdf"])
    params.check_floor()
    assert c["passphrase_text"].encode("utf-8") == H(c["passphrase_utf8"])
    pk = keys.derive_passphrase_keys(c["passphrase_text"], params)
    assert pk.login_seed == H(c["login_seed"])
    assert pk.login_keypair[0] == H(c["login_pk"])
    assert pk.kek == H(c["kek"])
    assert _crypto.kdf(H(c["root"]), "vault.v1/login") == pk.login_seed


def pos_recovery(c: dict[str, Any], doc: dict[str, Any]) -> None:
    rk = keys.derive_recovery_keys(H(c["recovery_key"]))
    assert rk.login_seed == H(c["login_seed"])
    assert rk.login_keypair[0] == H(c["login_pk"])
    assert rk.kek == H(c["kek"])


def pos_vault_keys(c: dict[str, Any], doc: dict[str, Any]) -> None:
    vk = _bundle_for_vault_key(H(c["vault_key"])).vault_keys
    assert vk.record_key == H(c["record_key"])
    assert vk.chunk_id_key == H(c["chunk_id_key"])
    assert vk.chunk_key_key == H(c["chunk_key_key"])
    assert vk.local_key == H(c["local_key"])
    assert vk.cdc_seed == int(c["cdc_seed_u64"], 16)


def pos_login_proof(c: dict[str, Any], doc: dict[str, Any]) -> None:
    msg = login.login_proof_message(c["handle"], c["host"], c["purpose"], H(c["challenge"]))
    assert msg == H(c["message"])
    login.verify_login_proof(
        H(c["public_key"]),
        c["handle"],
        c["host"],
        c["purpose"],
        H(c["challenge"]),
        H(c["signature"]),
    )


def pos_token_hash(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert login.token_hash(H(c["token"])) == H(c["hash"])


def pos_unwrap_bundle(c: dict[str, Any], doc: dict[str, Any]) -> None:
    b = keys.unwrap_bundle(H(c["wrapped"]), H(c["kek"]), c["handle"], c["slot"])
    assert b.to_plain() == c["plaintext_text"].encode()
    assert b.identity_sign_seed == H(c["bundle"]["sign_seed"])
    assert b.identity_box_secret == H(c["bundle"]["box_sk"])
    assert b.vault_key == H(c["bundle"]["vault_key"])
    assert b.created == c["bundle"]["created"]
    assert keys.wrap_bundle(b, H(c["kek"]), c["slot"], H(c["nonce"])) == H(c["wrapped"])
    assert unb64u(c["wrapped_b64u"]) == H(c["wrapped"])


def pos_identity(c: dict[str, Any], doc: dict[str, Any]) -> None:
    ident = keys.PublicIdentity.from_json(json.loads(c["json_text"]))
    assert ident.sign_pk == H(c["sign_pk"]) and ident.box_pk == H(c["box_pk"])
    assert ident.fingerprint() == c["fingerprint"]
    b = keys.AccountBundle(c["handle"], H(c["sign_seed"]), H(c["box_sk"]), b"\x03" * 32)
    assert b.public_identity() == ident


def pos_check_box_pk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.check_box_pk(H(c["public_key"]))


def pos_check_sign_pk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.check_sign_pk(H(c["public_key"]))


def pos_device_cert(c: dict[str, Any], doc: dict[str, Any]) -> None:
    cert = keys.DeviceCert.decode(c["cert_text"].encode())
    cert.verify(H(c["identity_sign_pk"]))
    assert cert.encode() == c["cert_text"].encode()
    assert keys.device_keypair(H(c["device_seed"]))[0] == H(c["device_sign_pk"]) == cert.sign_pk
    assert (cert.device_id, cert.name, cert.created) == (c["device_id"], c["name"], c["created"])


def pos_chunk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    plain = H(c["plaintext"])
    ref = chunks.chunk_ref(H(c["chunk_id_key"]), H(c["chunk_key_key"]), plain)
    assert (ref.id, ref.key, ref.hash, ref.size) == (
        c["id"],
        H(c["key"]),
        H(c["sha256"]),
        c["size"],
    )
    assert chunks.seal_chunk(ref, plain, H(c["nonce"])) == H(c["blob"])
    assert chunks.open_chunk(ref, H(c["blob"])) == plain


def _cdc_input(inp: dict[str, Any]) -> bytes:
    data = make_vectors.blake2b_stream(H(inp["key"]), inp["length"])
    if "insert" in inp:
        off = inp["insert"]["offset"]
        data = data[:off] + inp["insert"]["bytes_text"].encode() + data[off:]
    return data


def pos_cdc(c: dict[str, Any], doc: dict[str, Any]) -> None:
    data = _cdc_input(c["input"])
    cut = list(chunks.cut(chunks.new_chunker(int(c["cdc_seed_u64"], 16)), data))
    assert [len(p) for p in cut] == c["cut_lengths"]
    ids = [chunks.chunk_ref(H(c["chunk_id_key"]), H(c["chunk_key_key"]), p).id for p in cut]
    assert ids == c["chunk_ids"]


def _ref(r: dict[str, Any]) -> chunks.ChunkRef:
    return chunks.ChunkRef(id=r["id"], key=H(r["key"]), hash=H(r["hash"]), size=r["size"])


def pos_open_manifest(c: dict[str, Any], doc: dict[str, Any]) -> None:
    m = manifest.open_manifest(
        H(c["blob"]), c["blob_id"], H(c["file_key"]), H(c["file_id"]), c["version"]
    )
    assert m.encode() == H(c["plaintext"])
    assert [(r.id, r.key, r.hash, r.size) for r in m.chunks] == [
        (r["id"], H(r["key"]), H(r["hash"]), r["size"]) for r in c["chunks"]
    ]
    assert (m.size, m.content) == (c["size"], H(c["content_hash"]))
    built = manifest.Manifest.build(H(c["file_id"]), c["version"], [_ref(r) for r in c["chunks"]])
    assert manifest.seal_manifest(built, H(c["file_key"]), H(c["nonce"])) == (
        c["blob_id"],
        H(c["blob"]),
    )


def pos_open_manifest_inline(c: dict[str, Any], doc: dict[str, Any]) -> None:
    m = manifest.open_manifest(
        H(c["blob"]), c["blob_id"], H(c["file_key"]), H(c["file_id"]), c["version"]
    )
    assert m.encode() == H(c["plaintext"])
    assert (m.data, m.chunks, m.size, m.content) == (
        H(c["data"]),
        (),
        c["size"],
        H(c["content_hash"]),
    )
    built = manifest.Manifest.inline(H(c["file_id"]), c["version"], H(c["data"]))
    assert manifest.seal_manifest(built, H(c["file_key"]), H(c["nonce"])) == (
        c["blob_id"],
        H(c["blob"]),
    )


def _verifier(doc: dict[str, Any], handle: str | None = None) -> log.LogVerifier:
    ctx = doc["context"]
    return log.LogVerifier(
        handle or ctx["handle"], H(ctx["identity_sign_pk"]), H(ctx["record_key"])
    )


def pos_chain(c: dict[str, Any], doc: dict[str, Any]) -> None:
    v = _verifier(doc)
    ctx = doc["context"]
    assert v.head == H(ctx["genesis"])
    for e in c["entries"]:
        assert v.head == H(e["prev"])
        entry, record = v.feed(e["entry_text"].encode())
        assert entry.hash() == H(e["hash"]) and entry.sig == H(e["sig"])
        assert canonical_json(record.to_json()) == e["record_text"].encode()
        assert log.open_record(ctx["handle"], H(ctx["record_key"]), entry) == record
    assert v.state() == c["final_state"]
    restored = log.LogVerifier.from_state(
        ctx["handle"], H(ctx["identity_sign_pk"]), H(ctx["record_key"]), c["final_state"]
    )
    assert restored.state() == c["final_state"]


def pos_check_head(c: dict[str, Any], doc: dict[str, Any]) -> None:
    log.check_head(c["server_head"], c["seen_seq"])


def pos_check_path(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert log.check_path(c["path"]) == c["path"]


def pos_seal(c: dict[str, Any], doc: dict[str, Any]) -> None:
    sealed = _crypto.seal(H(c["recipient_pk"]), H(c["ephemeral_sk"]), H(c["message"]), H(c["ad"]))
    assert sealed == H(c["sealed"])
    assert _crypto.seal_open(H(c["recipient_sk"]), sealed, H(c["ad"])) == H(c["message"])


def pos_link(c: dict[str, Any], doc: dict[str, Any]) -> None:
    secrets = grants.link_secrets(H(c["secret"]), c["password"])
    assert secrets.grant_key == H(c["grant_key"])
    assert secrets.access_token == H(c["access_token"])
    assert grants.access_hash(secrets.access_token) == H(c["access_hash"])
    assert grants.format_link(c["server"], c["grant_id"], H(c["secret"])) == c["link"]
    assert grants.parse_link(c["link"]) == (c["server"], c["grant_id"], H(c["secret"]))


def pos_open_payload(c: dict[str, Any], doc: dict[str, Any]) -> None:
    pinned = H(c["pinned_owner_sign_pk"]) if "pinned_owner_sign_pk" in c else None
    header, payload = grants.open_payload(
        c["header_text"].encode(), H(c["sealed"]), H(c["grant_key"]), c["grant_id"], pinned
    )
    assert header.encode() == c["header_text"].encode()
    assert canonical_json(payload.to_json()) == c["payload_text"].encode()
    assert unb64u(c["sealed_b64u"]) == H(c["sealed"])


def pos_open_grant_key(c: dict[str, Any], doc: dict[str, Any]) -> None:
    key = grants.open_grant_key(H(c["recipient_sk"]), H(c["sealed"]), c["grant_id"])
    assert key == H(c["message"])


def pos_issuer_cert(c: dict[str, Any], doc: dict[str, Any]) -> None:
    cert = deposits.IssuerCert.from_json(json.loads(c["cert_text"]))
    cert.verify({H(k): "authority" for k in c["trusted"]}, c["now"], c["usage"])
    assert cert.encode() == c["cert_text"].encode() and cert.name == c["name"]


def _verify_args(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "trusted": {H(k): "authority" for k in v["trusted"]},
        "now": v["now"],
        "owner": v["owner"],
        "owner_sign_pk": H(v["owner_sign_pk"]),
    }


def run_deposit(c: dict[str, Any]) -> str:
    proof, document = deposits.open_deposit(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    return proof.verify(
        document_sha256=deposits.document_hash(document), **_verify_args(c["verify"])
    )


def pos_deposit(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert run_deposit(c) == c["issuer_name"]
    _, document = deposits.open_deposit(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    assert document == H(c["body"])


def run_request(c: dict[str, Any]) -> deposits.RequestStatement:
    """SPEC §Requests, verification: open, then recipient binding, then the issuer chain."""
    st, cert = deposits.open_request(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    v = _verify_args(c["verify"])
    if st.to != v["owner"] or not _crypto.equal(st.to_sign_pk, v["owner_sign_pk"]):
        raise IntegrityError()
    cert.verify(v["trusted"], v["now"], "request")
    return st


def pos_request(c: dict[str, Any], doc: dict[str, Any]) -> None:
    st = run_request(c)
    assert canonical_json(st.body()) == c["statement_text"].encode()


def run_appointment(c: dict[str, Any]) -> appointments.AppointmentStatement:
    """SPEC §Appointments: open, then recipient binding, then the issuer chain."""
    st, cert = appointments.open_appointment(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    v = _verify_args(c["verify"])
    appointments.verify_appointment(
        st, cert, trusted=v["trusted"], now=v["now"], owner=v["owner"],
        owner_sign_pk=v["owner_sign_pk"],
    )  # fmt: skip
    return st


def pos_appointment(c: dict[str, Any], doc: dict[str, Any]) -> None:
    st = run_appointment(c)
    assert canonical_json(st.body()) == c["statement_text"].encode()


def run_ask(c: dict[str, Any]) -> asks.AskStatement:
    """SPEC §Asks, the issuer's side: open, then the asker's pinned key and the addressee."""
    st = asks.open_ask(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    v = c["verify"]
    asks.verify_ask(
        st, to=v["to"], sender=v["sender"], sender_sign_pk=H(v["sender_sign_pk"]),
        sender_listed=v["sender_listed"],
    )  # fmt: skip
    return st


def run_ask_reply(c: dict[str, Any]) -> asks.AskReply:
    """SPEC §Asks, the asker's side: open the reply, then its link to the ask and deposit."""
    reply, cert = asks.open_reply(c["id"], H(c["recipient_box_sk"]), H(c["envelope"]))
    v = c["verify"]
    ask = asks.AskStatement.from_json(parse_canonical_json(v["ask_text"].encode()))
    asks.verify_reply(
        reply, cert, ask=ask, deposit_id=v["deposit_id"], owner=v["owner"],
        **{k: a for k, a in _verify_args(v).items() if k in ("trusted", "now", "owner_sign_pk")},
    )  # fmt: skip
    return reply


def pos_ask(c: dict[str, Any], doc: dict[str, Any]) -> None:
    st = run_ask(c)
    assert canonical_json(st.body()) == c["statement_text"].encode()
    assert H(c["statement_message"]) == b"vault.v1/ask\x00" + c["statement_text"].encode()


def pos_ask_reply(c: dict[str, Any], doc: dict[str, Any]) -> None:
    reply = run_ask_reply(c)
    assert canonical_json(reply.body()) == c["statement_text"].encode()
    assert H(c["statement_message"]) == b"vault.v1/ask-reply\x00" + c["statement_text"].encode()


def pos_ask_deposit_id(c: dict[str, Any], doc: dict[str, Any]) -> None:
    got = asks.fulfil_deposit_id(H(c["issuer_seed"]), c["ask"], H(c["doc_sha256"]))
    assert got == c["deposit_id"]


def run_request_answer(c: dict[str, Any]) -> checklists.AnswerStatement:
    """SPEC §Requests, answers: the reader's copy opens, bound to the request, signed by the
    owner key the reader holds."""
    return checklists.open_answer(
        c["id"], c["reader"], H(c["reader_box_sk"]), H(c["envelope"]), H(c["owner_sign_pk"])
    )


def pos_request_answer(c: dict[str, Any], doc: dict[str, Any]) -> None:
    st = run_request_answer(c)
    assert canonical_json(st.body()) == c["statement_text"].encode()


def pos_recovery_text(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert keys.format_recovery_key(H(c["recovery_key"])) == c["text"]
    assert keys.parse_recovery_key(c["text"]) == H(c["recovery_key"])


def pos_parse_recovery(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert keys.parse_recovery_key(c["text"]) == H(c["recovery_key"])


def pos_shamir_split(c: dict[str, Any], doc: dict[str, Any]) -> None:
    shares = shamir.split(H(c["secret"]), c["n"], c["t"], H(c["random"]))
    assert [s.hex() for s in shares] == c["shares"]
    for xs in c["rebuild"]:
        assert shamir.combine([shares[x - 1] for x in xs]) == H(c["secret"])


def pos_shamir_combine(c: dict[str, Any], doc: dict[str, Any]) -> None:
    assert shamir.combine([H(s) for s in c["shares"]]) == H(c["secret"])


def pos_trust_invitation(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from importlib import resources

    pk, sk = deposits.authority_keypair(H(c["authority_seed"]))
    assert pk == H(c["authority_pk"])
    made = trust.TrustInvitation.issue(sk, pk, c["name"], c["created"])
    assert made.message() == H(c["message"]) and made.sig == H(c["sig"])
    assert made.encode().decode() == c["file_text"] and made.to_uri() == c["uri"]
    assert trust.TrustInvitation.decode(c["file_text"].encode()) == made
    assert trust.TrustInvitation.decode(c["file_text"].encode() + b"\n") == made
    assert trust.TrustInvitation.from_uri(c["uri"]) == made
    assert list(trust.fingerprint_indices(pk)) == c["word_indices"]
    data = (resources.files("mnemonic") / "wordlist" / "french.txt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == doc["french_list_sha256"]
    words = data.decode().split()
    assert " ".join(words[i] for i in c["word_indices"]) == c["words"]


# -- trusted contacts (recovery_contacts.json) ---------------------------------------------


def _rc_set(c: dict[str, Any], doc: dict[str, Any]) -> Any:
    from vault_core import recovery as rc

    owner = H(c.get("owner_sign_pk") or _rc_positive(doc, "recovery_set")["owner_sign_pk"])
    text = c.get("set_text") or _rc_positive(doc, "recovery_set")["set_text"]
    sig = c.get("set_sig") or _rc_positive(doc, "recovery_set")["set_sig"]
    return rc.open_set(text.encode(), H(sig), owner, doc["owner"])


def _rc_positive(doc: dict[str, Any], op: str) -> dict[str, Any]:
    return next(p for p in doc["positive"] if p["op"] == op)


def _rc_request(doc: dict[str, Any]) -> bytes:
    return str(_rc_positive(doc, "recovery_request")["request_text"]).encode()


def pos_recovery_set(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    ck = rc.contacts_keys(H(c["contacts_secret"]))
    assert (ck.login_seed, ck.kek, ck.login_keypair[0]) == (
        H(c["login_seed"]),
        H(c["kek"]),
        H(c["login_pk"]),
    )
    s = rc.open_set(c["set_text"].encode(), H(c["set_sig"]), H(c["owner_sign_pk"]), doc["owner"])
    assert s.encode() == c["set_text"].encode() and s.login_pk == ck.login_keypair[0]
    shares = shamir.split(
        H(c["contacts_secret"]), len(s.contacts), s.threshold, H(c["split_random"])
    )
    assert [hx for hx in map(bytes.hex, shares)] == c["shares"]


def pos_recovery_share(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = _rc_set({}, doc)
    contact = s.contact(c["contact"])
    assert rc.open_share(s, contact, H(c["recipient_sk"]), H(c["sealed"])) == H(c["message"])
    assert _crypto.seal(contact.box_pk, H(c["ephemeral_sk"]), H(c["message"]), H(c["ad"])) == H(
        c["sealed"]
    )


def pos_recovery_request(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    req = rc.decode_request(c["request_text"].encode())
    assert req.encode() == c["request_text"].encode()
    assert req.box_pk == _crypto.box_keypair(H(c["device_box_sk"]))[0]
    assert rc.request_code(c["request_text"].encode()) == c["code"]


def pos_recovery_approval(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = _rc_set({}, doc)
    contact = s.contact(c["contact"])
    a = rc.check_approval(
        c["approval_text"].encode(), H(c["sig"]), s, contact, _rc_request(doc), H(c["resealed"])
    )
    assert a.contact == c["contact"] and contact.sign_pk == H(c["contact_sign_pk"])
    dsk = H(_rc_positive(doc, "recovery_request")["device_box_sk"])
    share = rc.open_reshare(s, contact, doc["recovery"], dsk, H(c["resealed"]))
    assert share[-1] == contact.x


def pos_recovery_ready_at(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = _rc_set({}, doc)
    req = rc.decode_request(_rc_request(doc))
    approvals = [
        rc.check_approval(
            p["approval_text"].encode(),
            H(p["sig"]),
            s,
            s.contact(p["contact"]),
            _rc_request(doc),
            H(p["resealed"]),
        )
        for p in doc["positive"]
        if p["op"] == "recovery_approval"
    ]
    assert [a.approved for a in approvals] == c["approved"] and req.created == c["created"]
    assert rc.ready_at(req, s, approvals) == c["ready_at"]
    assert rc.ready_at(req, s, approvals[:1]) is None


def pos_recovery_veto(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    owner = H(_rc_positive(doc, "recovery_set")["owner_sign_pk"])
    rc.check_veto(c["veto_text"].encode(), H(c["sig"]), owner, _rc_request(doc))


def pos_recovery_finish(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    login_pk = H(_rc_positive(doc, "recovery_set")["login_pk"])
    msg = rc.finish_message(
        doc["owner"], doc["recovery"], c["device"], H(c["device_pk"]), c["host"]
    )
    assert msg == H(c["message"])
    args = (doc["owner"], doc["recovery"], c["device"], H(c["device_pk"]), c["host"])
    rc.verify_finish(login_pk, *args, H(c["signature"]))


# -- helper mandates (mandate.json) ---------------------------------------------------------


def pos_mandate_statement(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import mandates

    text = c["statement_text"].encode()
    assert H(c["message"]) == b"vault.v1/mandate\x00" + text
    m = mandates.open_mandate(text, H(c["sig"]), H(c["owner_sign_pk"]))
    assert m.kinds() == c["kinds"] and m.encode() == text


def pos_mandate_copy(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import mandates

    m, sig = mandates.open_copy(
        H(c["sealed"]), c["mandate"], H(c["helper_box_sk"]), H(c["owner_sign_pk"]),
        c["helper"], H(c["helper_sign_pk"]),
    )  # fmt: skip
    assert mandates.signed_pair(m.encode(), sig) == c["copy_text"].encode()
    assert H(c["seal"]["message"]) == c["copy_text"].encode()


def pos_mandate_allows(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import mandates

    assert mandates.allows(c["scopes"], c["action"], c["path"]) is c["allowed"]


def _helper_verifier(c: dict[str, Any]) -> log.LogVerifier:
    return log.LogVerifier.from_state(
        c["handle"], H(c["owner_sign_pk"]), H(c["record_key"]), c["state"],
        box_sk=H(c["owner_box_sk"]),
    )  # fmt: skip


def pos_helper_entry(c: dict[str, Any], doc: dict[str, Any]) -> None:
    v = _helper_verifier(c)
    entry, record = v.feed(c["entry_text"].encode())
    assert isinstance(record, log.HelperRecord)
    assert canonical_json(record.to_json()) == c["record_text"].encode()
    assert H(c["signed_message"]) == b"vault.v1/log-entry\x00" + canonical_json(entry.unsigned())
    assert v.state() == c["final_state"]


def pos_mandate_forward(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import delegated

    spliced, _ = delegated.open_forward(
        c["forward_text"].encode(), H(c["owner_sign_pk"]), c["mandate"], c["kind"], c["id"],
        H(c["envelope"]),
    )  # fmt: skip
    assert spliced == H(c["spliced"])
    st, _ = deposits.open_request(c["id"], H(c["helper_box_sk"]), spliced)
    assert canonical_json(st.body()) == c["request_text"].encode()


def pos_helper_answer(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import delegated

    st, _ = delegated.open_helper_answer(
        c["request"], c["reader"], H(c["reader_box_sk"]), c["envelope_text"].encode(),
        c["owner"], H(c["owner_sign_pk"]),
    )  # fmt: skip
    assert canonical_json(st.body()) == c["statement_text"].encode()
    assert H(c["signed_message"]) == b"vault.v1/request-answer\x00" + c["statement_text"].encode()


# -- the web access release manifest (release.json) -----------------------------------------


def pos_release(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import release

    pk, sk = release.release_keypair(H(c["release_seed"]))
    assert pk == H(c["release_pk"])
    got = release.verify(c["file_text"].encode(), [H(k) for k in c["trusted"]])
    assert got.message() == H(c["message"]) and got.sig == H(c["sig"])
    assert canonical_json(got.body()) == c["body_text"].encode()
    made = release.Release.issue(sk, pk, got.release, got.created, got.hashes())
    assert made == got and made.encode().decode() == c["file_text"]
    assert release.verify(c["file_text"].encode() + b"\n", [pk]) == got
    assert [list(t) for t in release.targets(got)] == c["targets"]


def pos_asset_refs(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import release

    assert release.asset_refs(c["html_text"]) == c["refs"]


POSITIVE: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    name[4:]: fn for name, fn in globals().items() if name.startswith("pos_") and callable(fn)
}


def _positive_cases() -> list[Any]:
    out = []
    for name in FILES:
        for i, case in enumerate(DOCS[name]["positive"]):
            label = case.get("name") or case.get("label") or case.get("purpose") or case["op"]
            out.append(pytest.param(name, case, id=f"{name}-{i}-{label}"))
    return out


@pytest.mark.parametrize(("name", "case"), _positive_cases())
def test_positive(name: str, case: dict[str, Any]) -> None:
    POSITIVE[case["op"]](case, DOCS[name])


# -- negative cases -------------------------------------------------------------------------


def neg_unb64u(c: dict[str, Any], doc: dict[str, Any]) -> None:
    unb64u(c["text"], c.get("size"))


def neg_parse_canonical_json(c: dict[str, Any], doc: dict[str, Any]) -> None:
    data = H(c["bytes"]) if "bytes" in c else c["text"].encode("utf-8")
    parse_canonical_json(data)


def neg_kdf_params(c: dict[str, Any], doc: dict[str, Any]) -> None:
    keys.KdfParams.from_json(c["kdf"]).check_floor()


def neg_login_proof(c: dict[str, Any], doc: dict[str, Any]) -> None:
    login.verify_login_proof(
        H(c["public_key"]),
        c["handle"],
        c["host"],
        c["purpose"],
        H(c["challenge"]),
        H(c["signature"]),
    )


def neg_unwrap_bundle(c: dict[str, Any], doc: dict[str, Any]) -> None:
    keys.unwrap_bundle(H(c["wrapped"]), H(c["kek"]), c["handle"], c["slot"])


def neg_identity(c: dict[str, Any], doc: dict[str, Any]) -> None:
    keys.PublicIdentity.from_json(c["identity"])


def neg_check_box_pk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.check_box_pk(H(c["public_key"]))


def neg_check_sign_pk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.check_sign_pk(H(c["public_key"]))


def neg_device_cert(c: dict[str, Any], doc: dict[str, Any]) -> None:
    keys.DeviceCert.decode(c["cert_text"].encode()).verify(H(c["identity_sign_pk"]))


def neg_issue_device_cert(c: dict[str, Any], doc: dict[str, Any]) -> None:
    bundle = keys.new_bundle("jean", bytes(range(1, 97)), 0)
    keys.DeviceCert.issue(bundle, "00" * 16, "x", H(c["device_sign_pk"]), 0)


def neg_open_chunk(c: dict[str, Any], doc: dict[str, Any]) -> None:
    chunks.open_chunk(_ref(c["ref"]), H(c["blob"]))


def neg_open_manifest(c: dict[str, Any], doc: dict[str, Any]) -> None:
    manifest.open_manifest(
        H(c["blob"]), c["blob_id"], H(c["file_key"]), H(c["file_id"]), c["version"]
    )


def neg_verify_chain(c: dict[str, Any], doc: dict[str, Any]) -> None:
    ctx = doc["context"]
    if "start_state" in c:
        v = log.LogVerifier.from_state(
            ctx["handle"], H(ctx["identity_sign_pk"]), H(ctx["record_key"]), c["start_state"]
        )
    else:
        v = _verifier(doc, c.get("handle"))
    entries = [e.encode() for e in c["entries"]]
    for e in entries[: c["accepted"]]:
        try:
            v.feed(e)
        except VaultError as exc:  # must not count as the expected rejection
            raise AssertionError(f"entry {v.seq + 1} should have been accepted") from exc
    before = v.state()
    try:
        for e in entries[c["accepted"] :]:
            v.feed(e)
    finally:
        assert v.state() == before, "a rejected entry changed the verifier's state"


def neg_check_head(c: dict[str, Any], doc: dict[str, Any]) -> None:
    log.check_head(c["server_head"], c["seen_seq"])


def neg_check_path(c: dict[str, Any], doc: dict[str, Any]) -> None:
    log.check_path(c["path"])


def neg_seal_open(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.seal_open(H(c["recipient_sk"]), H(c["sealed"]), H(c["ad"]))


def neg_seal(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _crypto.seal(H(c["recipient_pk"]), H(c["ephemeral_sk"]), H(c["message"]), H(c["ad"]))


def neg_open_payload(c: dict[str, Any], doc: dict[str, Any]) -> None:
    pinned = H(c["pinned_owner_sign_pk"]) if "pinned_owner_sign_pk" in c else None
    grants.open_payload(
        c["header_text"].encode(), H(c["sealed"]), H(c["grant_key"]), c["grant_id"], pinned
    )


def neg_open_grant_key(c: dict[str, Any], doc: dict[str, Any]) -> None:
    grants.open_grant_key(H(c["recipient_sk"]), H(c["sealed"]), c["grant_id"])


def neg_parse_link(c: dict[str, Any], doc: dict[str, Any]) -> None:
    grants.parse_link(c["link"])


def neg_issuer_cert(c: dict[str, Any], doc: dict[str, Any]) -> None:
    cert = deposits.IssuerCert.from_json(json.loads(c["cert_text"]))
    cert.verify({H(k): "authority" for k in c["trusted"]}, c["now"], c["usage"])


def neg_deposit(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_deposit(c)


def neg_request(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_request(c)


def neg_request_answer(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_request_answer(c)


def neg_appointment(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_appointment(c)


def neg_ask(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_ask(c)


def neg_ask_reply(c: dict[str, Any], doc: dict[str, Any]) -> None:
    run_ask_reply(c)


def neg_parse_recovery(c: dict[str, Any], doc: dict[str, Any]) -> None:
    keys.parse_recovery_key(c["text"])


def neg_trust_invitation_file(c: dict[str, Any], doc: dict[str, Any]) -> None:
    trust.TrustInvitation.decode(c["file_text"].encode())


def neg_trust_invitation_uri(c: dict[str, Any], doc: dict[str, Any]) -> None:
    trust.TrustInvitation.from_uri(c["uri"])


def neg_shamir_split(c: dict[str, Any], doc: dict[str, Any]) -> None:
    shamir.split(H(c["secret"]), c["n"], c["t"], H(c["random"]))


def neg_shamir_combine(c: dict[str, Any], doc: dict[str, Any]) -> None:
    shamir.combine([H(s) for s in c["shares"]])


def neg_open_set(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    rc.open_set(c["set_text"].encode(), H(c["sig"]), H(c["owner_sign_pk"]), c["account"])


def neg_decode_request(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    rc.decode_request(c["request_text"].encode())


def neg_check_approval(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = rc.open_set(c["set_text"].encode(), H(c["set_sig"]), H(c["owner_sign_pk"]), c["account"])
    rc.check_approval(
        c["approval_text"].encode(),
        H(c["sig"]),
        s,
        s.contact(c["contact"]),
        c["request_text"].encode(),
        H(c["resealed"]),
    )


def neg_open_share(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = rc.open_set(c["set_text"].encode(), H(c["set_sig"]), H(c["owner_sign_pk"]), c["account"])
    rc.open_share(s, s.contact(c["contact"]), H(c["box_sk"]), H(c["sealed"]))


def neg_open_reshare(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    s = rc.open_set(c["set_text"].encode(), H(c["set_sig"]), H(c["owner_sign_pk"]), c["account"])
    rc.open_reshare(s, s.contact(c["contact"]), c["recovery"], H(c["box_sk"]), H(c["sealed"]))


def neg_check_veto(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    rc.check_veto(
        c["veto_text"].encode(), H(c["sig"]), H(c["owner_sign_pk"]), c["request_text"].encode()
    )


def neg_verify_finish(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    rc.verify_finish(
        H(c["login_pk"]),
        c["account"],
        c["recovery"],
        c["device"],
        H(c["device_pk"]),
        c["host"],
        H(c["signature"]),
    )


def neg_contacts_keys(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import recovery as rc

    rc.contacts_keys(H(c["contacts_secret"]))


def neg_mandate_statement(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import mandates

    mandates.open_mandate(c["statement_text"].encode(), H(c["sig"]), H(c["owner_sign_pk"]))


def neg_helper_entry(c: dict[str, Any], doc: dict[str, Any]) -> None:
    _helper_verifier(c).feed(c["entry_text"].encode())


def neg_mandate_forward(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import delegated

    delegated.open_forward(
        c["forward_text"].encode(), H(c["owner_sign_pk"]), c["mandate"], c["kind"], c["id"],
        H(c["envelope"]),
    )  # fmt: skip


def neg_helper_answer(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import delegated

    delegated.open_helper_answer(
        c["request"], c["reader"], H(c["reader_box_sk"]), c["envelope_text"].encode(),
        c["owner"], H(c["owner_sign_pk"]),
    )  # fmt: skip


def neg_release(c: dict[str, Any], doc: dict[str, Any]) -> None:
    from vault_core import release

    release.verify(c["file_text"].encode(), [H(k) for k in c["trusted"]])


NEGATIVE: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    name[4:]: fn for name, fn in globals().items() if name.startswith("neg_") and callable(fn)
}


def _negative_cases() -> list[Any]:
    out = []
    for name in FILES:
        for i, case in enumerate(DOCS[name]["negative"]):
            marks = []
            bug = KNOWN_CORE_BUGS.get((name, case["name"]))
            if bug:
                marks.append(pytest.mark.xfail(strict=True, reason=f"vault_core bug: {bug}"))
            out.append(pytest.param(name, case, id=f"{name}-{i}-{case['name']}", marks=marks))
    return out


@pytest.mark.parametrize(("name", "case"), _negative_cases())
def test_negative(name: str, case: dict[str, Any]) -> None:
    expected = ERRORS[case["error"]]
    try:
        NEGATIVE[case["op"]](case, DOCS[name])
    except VaultError as exc:
        assert isinstance(exc, expected), f"{type(exc).__name__} instead of {expected.__name__}"
        if expected is IntegrityError:
            # The opaque error: nothing more specific than an integrity failure.
            assert type(exc) in (IntegrityError, RollbackError, WeakParameters)
        return
    pytest.fail(f"MUST reject, but accepted: {case['name']}")


def test_known_bugs_exist() -> None:
    names = {(n, c["name"]) for n in FILES for c in DOCS[n]["negative"]}
    assert set(KNOWN_CORE_BUGS) <= names


# -- independent reimplementation with libsodium primitives only ----------------------------


def blake2b(key: bytes, msg: bytes, size: int = 32) -> bytes:
    return bytes(sodium.crypto_generichash_blake2b_salt_personal(msg, digest_size=size, key=key))


def xopen(key: bytes, nonce: bytes, ct: bytes, ad: bytes) -> bytes:
    return bytes(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, key))


def ed_verify(pk: bytes, msg: bytes, sig: bytes) -> None:
    sodium.crypto_sign_open(sig + msg, pk)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def cj(obj: Any) -> bytes:
    """Canonical JSON as the spec words it (json.dumps here stands for any conforming encoder)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class TestIndependent:
    def test_kdf_is_crypto_generichash(self) -> None:
        for c in DOCS["kdf"]["positive"]:
            if c["op"] == "kdf":
                assert blake2b(H(c["key"]), c["label"].encode(), c["size"]) == H(c["output"])

    def test_argon2id_with_libsodium(self) -> None:
        for c in DOCS["kdf"]["positive"]:
            if c["op"] == "argon2id" and c["p"] == 1:  # libsodium computes p = 1 only
                out = sodium.crypto_pwhash_alg(
                    c["size"],
                    H(c["password"]),
                    H(c["salt"]),
                    c["t"],
                    c["m_kib"] * 1024,
                    sodium.crypto_pwhash_ALG_ARGON2ID13,
                )
                assert out == H(c["output"])

    def test_passphrase_root_with_libsodium(self) -> None:
        c = next(c for c in DOCS["kdf"]["positive"] if c["op"] == "passphrase")
        k = c["kdf"]
        root = sodium.crypto_pwhash_alg(
            32,
            H(c["passphrase_utf8"]),
            unb64u(k["salt"]),
            k["t"],
            k["m_kib"] * 1024,
            sodium.crypto_pwhash_ALG_ARGON2ID13,
        )
        assert root == H(c["root"])
        assert blake2b(root, b"vault.v1/kek") == H(c["kek"])
        seed = blake2b(root, b"vault.v1/login")
        assert sodium.crypto_sign_seed_keypair(seed)[0] == H(c["login_pk"])

    def test_cdc_seed(self) -> None:
        c = next(c for c in DOCS["kdf"]["positive"] if c["op"] == "vault_keys")
        s16 = blake2b(H(c["vault_key"]), b"vault.v1/cdc-seed", 16)
        assert s16 == H(c["cdc_seed_kdf16"])
        seed = (int.from_bytes(s16[:8], "big") | 1) & ((1 << 63) - 1)
        assert seed == int(c["cdc_seed_u64"], 16)

    def test_bundle(self) -> None:
        for c in DOCS["bundle"]["positive"]:
            ad = b"vault.v1/bundle\x00" + cj({"handle": c["handle"], "slot": c["slot"], "v": 1})
            assert ad == H(c["ad"])
            w = H(c["wrapped"])
            assert w[:3] == b"VB1" and w[3:27] == H(c["nonce"])
            assert xopen(H(c["kek"]), w[3:27], w[27:], ad) == c["plaintext_text"].encode()

    def test_identity_and_fingerprint(self) -> None:
        import base64

        for c in DOCS["identity"]["positive"]:
            pk = sodium.crypto_sign_seed_keypair(H(c["sign_seed"]))[0]
            assert pk == H(c["sign_pk"])
            assert sodium.crypto_scalarmult_base(H(c["box_sk"])) == H(c["box_pk"])
            obj = {
                "box_pk": b64u(pk and H(c["box_pk"])),
                "handle": c["handle"],
                "sign_pk": b64u(pk),
            }
            msg = b"vault.v1/identity\x00" + cj(obj)
            assert msg == H(c["message"])
            ed_verify(pk, msg, H(c["sig"]))
            fp = sha256(b"vault.v1/fingerprint\x00" + c["handle"].encode() + pk + H(c["box_pk"]))
            text = base64.b32encode(fp[:25]).decode()
            assert " ".join(text[i : i + 5] for i in range(0, 40, 5)) == c["fingerprint"]

    def test_chunk(self) -> None:
        for c in DOCS["chunk"]["positive"]:
            if c["op"] != "chunk":
                continue
            import hmac

            h = sha256(H(c["plaintext"]))
            cid = hmac.digest(H(c["chunk_id_key"]), h, "sha256")
            key = hmac.digest(H(c["chunk_key_key"]), h, "sha256")
            assert (cid.hex(), key) == (c["id"], H(c["key"]))
            ad = b"vault.v1/chunk\x00" + cid
            assert ad == H(c["ad"])
            blob = H(c["blob"])
            assert blob[:3] == b"VC1" and len(blob) == len(H(c["plaintext"])) + 43
            assert xopen(key, blob[3:27], blob[27:], ad) == H(c["plaintext"])

    def test_fastcdc_from_the_spec(self) -> None:
        """SPEC §Chunks, cut-point algorithm, written out byte by byte."""
        p = DOCS["chunk"]["cdc_params"]
        c = next(c for c in DOCS["chunk"]["positive"] if c["op"] == "cdc")
        seed = int(c["cdc_seed_u64"], 16)
        gear = [int(g, 16) ^ seed for g in p["gear_table_unseeded"]]
        mask_s, mask_l = int(p["mask_s"], 16), int(p["mask_l"], 16)
        mn, avg, mx = p["min_size"], p["avg_size"], p["max_size"]
        data = _cdc_input(c["input"])
        m64 = (1 << 64) - 1

        def cut_point(buf: memoryview) -> int:
            n = len(buf)
            if n <= mn:
                return n
            n = min(n, mx)
            center = min(avg, n)
            h = 0
            i = mn
            while i < (n // 2) * 2:
                h = ((h << 1) + gear[buf[i]]) & m64
                if not h & (mask_s if i < (center // 2) * 2 else mask_l):
                    return i
                i += 1
            return n

        mv = memoryview(data)
        lengths = []
        off = 0
        while off < len(data):
            k = cut_point(mv[off:])
            lengths.append(k)
            off += k
        assert lengths == c["cut_lengths"]

    def test_manifest(self) -> None:
        for c in DOCS["manifest"]["positive"]:
            blob = H(c["blob"])
            assert sha256(blob).hex() == c["blob_id"]
            ad = b"vault.v1/manifest\x00" + H(c["file_id"]) + struct.pack(">I", c["version"])
            assert ad == H(c["ad"])
            plain = xopen(H(c["file_key"]), blob[3:27], blob[27:], ad)
            assert plain == H(c["plaintext"])
            if c["op"] == "open_manifest_inline":
                data = H(c["data"])
                ch = sha256(b"vault.v1/content\x00" + struct.pack(">Q", len(data)) + sha256(data))
                assert ch == H(c["content_hash"]) and len(data) == c["size"]
                head = b"VMF2" + H(c["file_id"]) + struct.pack(">IQ", c["version"], c["size"])
                assert plain == head + ch + data
                continue
            hashes = b"".join(H(r["hash"]) for r in c["chunks"])
            ch = sha256(b"vault.v1/content\x00" + struct.pack(">Q", c["size"]) + hashes)
            assert ch == H(c["content_hash"])
            expect = b"VMF1" + H(c["file_id"]) + struct.pack(">IQ", c["version"], c["size"]) + ch
            expect += struct.pack(">I", len(c["chunks"]))
            for r in c["chunks"]:
                expect += H(r["id"]) + H(r["key"]) + H(r["hash"]) + struct.pack(">I", r["size"])
            assert plain == expect

    def test_log(self) -> None:
        ctx = DOCS["log"]["context"]
        handle = ctx["handle"]
        assert sha256(b"vault.v1/log-genesis\x00" + handle.encode()) == H(ctx["genesis"])
        for chain in DOCS["log"]["positive"]:
            if chain["op"] != "chain":
                continue
            devices: dict[str, bytes] = {}
            prev = H(ctx["genesis"])
            for e in chain["entries"]:
                obj = json.loads(e["entry_text"])
                assert cj(obj) == e["entry_text"].encode()
                assert H(e["prev"]) == prev == unb64u(obj["prev"])
                ad = b"vault.v1/record\x00" + cj(
                    {"device": obj["device"], "handle": handle, "seq": obj["seq"]}
                )
                assert ad == H(e["record_ad"])
                rec = unb64u(obj["rec"])
                plain = xopen(H(ctx["record_key"]), rec[3:27], rec[27:], ad)
                assert plain == e["record_text"].encode()
                record = json.loads(plain)
                unsigned = {k: v for k, v in obj.items() if k != "sig"}
                msg = b"vault.v1/log-entry\x00" + cj(unsigned)
                assert msg == H(e["sign_message"])
                if record["kind"] == "device":
                    cert = json.loads(unb64u(record["cert"]))
                    body = {k: v for k, v in cert.items() if k != "sig"}
                    ed_verify(
                        H(ctx["identity_sign_pk"]),
                        b"vault.v1/device-cert\x00" + cj(body),
                        unb64u(cert["sig"]),
                    )
                    devices[record["device"]] = unb64u(cert["sign_pk"])
                ed_verify(devices[obj["device"]], msg, unb64u(obj["sig"]))
                prev = sha256(b"vault.v1/log-hash\x00" + e["entry_text"].encode())
                assert prev == H(e["hash"])

    def test_seal(self) -> None:
        cases = [c for c in DOCS["seal"]["positive"]]
        cases += [c for c in DOCS["grant"]["positive"] if c["op"] == "open_grant_key"]
        for d in ("deposit", "request", "appointment", "ask"):
            cases += [c["seal"] for c in DOCS[d]["positive"] if "seal" in c]
        for c in cases:
            shared = sodium.crypto_scalarmult(H(c["recipient_sk"]), H(c["ephemeral_pk"]))
            assert shared == H(c["shared"])
            key_input = b"vault.v1/seal" + H(c["ephemeral_pk"]) + H(c["recipient_pk"])
            assert key_input == H(c["key_input"])
            key = blake2b(shared, key_input)
            assert key == H(c["key"])
            sealed = H(c["sealed"])
            assert sealed[:32] == H(c["ephemeral_pk"])
            assert xopen(key, bytes(24), sealed[32:], H(c["ad"])) == H(c["message"])

    def test_link_secrets(self) -> None:
        for c in DOCS["grant"]["positive"]:
            if c["op"] != "link":
                continue
            s = H(c["secret"])
            assert c["link"] == f"{c['server']}/s/{c['grant_id']}#{b64u(s)}"
            base = s
            if c["password"] is not None:
                salt = blake2b(s, b"vault.v1/grant-pw-salt", 16)
                assert salt == H(c["pw_salt"])
                a = c["pw_argon2id"]
                pwk = sodium.crypto_pwhash_alg(
                    32,
                    c["password"].encode(),
                    salt,
                    a["t"],
                    a["m_kib"] * 1024,
                    sodium.crypto_pwhash_ALG_ARGON2ID13,
                )
                assert pwk == H(c["pw_key"])
                base = blake2b(s + pwk, b"vault.v1/grant-password")
                assert base == H(c["base"])
            assert blake2b(base, b"vault.v1/grant-key") == H(c["grant_key"])
            access = blake2b(base, b"vault.v1/grant-access")
            assert access == H(c["access_token"])
            assert sha256(access) == H(c["access_hash"])

    def test_grant_payload(self) -> None:
        for c in DOCS["grant"]["positive"]:
            if c["op"] != "open_payload":
                continue
            hb = c["header_text"].encode()
            assert cj(json.loads(hb)) == hb
            sealed = H(c["sealed"])
            sig, nonce, ct = sealed[3:67], sealed[67:91], sealed[91:]
            assert sealed[:3] == b"VG1"
            msg = b"vault.v1/grant\x00" + sha256(hb) + nonce + ct
            assert msg == H(c["sig_message"])
            ed_verify(H(c["owner_sign_pk"]), msg, sig)
            ad = b"vault.v1/grant-payload\x00" + sha256(hb)
            assert xopen(H(c["grant_key"]), nonce, ct, ad) == c["payload_text"].encode()

    def test_issuer_cert(self) -> None:
        c = DOCS["issuer_cert"]["positive"][0]
        cert = json.loads(c["cert_text"])
        msg = b"vault.v1/issuer-cert\x00" + cj(cert["cert"])
        assert msg == H(c["message"])
        ed_verify(H(c["authority_pk"]), msg, unb64u(cert["sig"]))

    def test_envelopes(self) -> None:
        for d in ("deposit", "request", "appointment"):
            c = DOCS[d]["positive"][0]
            env = H(c["envelope"])
            assert env[:3] == b"VD1"
            (n,) = struct.unpack(">H", env[3:5])
            sealed = env[5 : 5 + n]
            assert sealed == H(c["sealed_key"])
            key = H(c["seal"]["message"])
            assert key == H(c["key"])
            ad = f"vault.v1/{d}\x00{c['id']}".encode()
            assert ad == H(c["ad"])
            plain = xopen(key, env[5 + n : 29 + n], env[29 + n :], ad)
            (m,) = struct.unpack(">I", plain[:4])
            meta = json.loads(plain[4 : 4 + m])
            assert cj(meta) == c["meta_text"].encode()
            st = meta["proof"]["statement"] if d == "deposit" else meta["statement"]
            sig = meta["proof"]["sig"] if d == "deposit" else meta["sig"]
            msg = f"vault.v1/{d}\x00".encode() + cj(st)
            ed_verify(unb64u(st["issuer_pk"]), msg, unb64u(sig))
            if d == "deposit":
                assert sha256(plain[4 + m :]) == unb64u(st["doc_sha256"])

    def test_ask_envelopes(self) -> None:
        """The ask and its reply opened with libsodium alone: kind and ask id in the AD, the
        ask signed by the asker's identity key, the reply by the certified issuer key."""
        for c, kind, signer in zip(DOCS["ask"]["positive"][:2], ("ask", "ask-reply"),
                                   ("from_sign_pk", "issuer_pk"), strict=True):  # fmt: skip
            env = H(c["envelope"])
            (n,) = struct.unpack(">H", env[3:5])
            assert env[:3] == b"VD1" and env[5 : 5 + n] == H(c["sealed_key"])
            key = H(c["seal"]["message"])
            ad = f"vault.v1/{kind}\x00{c['id']}".encode()
            assert (
                ad == H(c["ad"])
                and H(c["sealed_key_ad"]) == f"vault.v1/{kind}-key\x00{c['id']}".encode()
            )
            plain = xopen(key, env[5 + n : 29 + n], env[29 + n :], ad)
            (m,) = struct.unpack(">I", plain[:4])
            assert plain[4 + m :] == b""
            meta = json.loads(plain[4 : 4 + m])
            st = meta["statement"]
            ed_verify(
                unb64u(st[signer]), f"vault.v1/{kind}\x00".encode() + cj(st), unb64u(meta["sig"])
            )

    def test_release(self) -> None:
        """The release manifest verified with libsodium alone: the signed message is the label
        and the canonical manifest without its signature."""
        for c in DOCS["release"]["positive"]:
            if c["op"] != "release":
                continue
            m = json.loads(c["file_text"])
            sig = unb64u(m.pop("sig"))
            msg = b"vault.v1/release\x00" + cj(m)
            assert msg == H(c["message"]) and cj(m) == c["body_text"].encode()
            ed_verify(unb64u(m["key"]), msg, sig)
            assert H(c["release_pk"]) == unb64u(m["key"])

    def test_recovery_text(self) -> None:
        import base64

        c = DOCS["recovery"]["positive"][0]
        key = H(c["recovery_key"])
        check = sha256(b"vault.v1/recovery-check" + key)[:2]
        text = base64.b32encode(key + check).decode().rstrip("=")
        assert "-".join(text[i : i + 4] for i in range(0, len(text), 4)) == c["text"]
