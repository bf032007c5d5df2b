"""Vectors for SPEC.md "Grants": link secrets, signed headers and payloads, sealed grants.

Writes ``grant.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from vault_core import _crypto, grants, keys
from vault_core.encoding import b64u, canonical_json

from .common import (
    DAY,
    GRANTEE,
    HANDLE,
    JSON,
    LINK_PASSWORD,
    SERVER,
    T0,
    X25519_LOW_ORDER,
    World,
    det,
    file_record,
    flip,
    hx,
    neg,
    seal_case,
    set_low_bit,
    vector_file,
)

# -- grants --------------------------------------------------------------------------------


def grant_item(w: World) -> grants.GrantItem:
    rec = file_record(w, 1)
    return grants.GrantItem(
        name="Acte de naissance.pdf",
        file_id=rec.file_id,
        version=rec.version,
        size=rec.size,
        mtime=rec.mtime,
        content=rec.content,
        manifest=rec.manifest,
        key=rec.key,
        doc_type=rec.doc_type,
    )


def payload_case(
    w: World, header: grants.GrantHeader, grant_key: bytes, label: str
) -> tuple[bytes, JSON]:
    payload = grants.GrantPayload(
        header.grant_id, 1, ("Papiers/Acte de naissance.pdf",), (grant_item(w),)
    )
    nonce = det(f"grant/{label}/payload-nonce", 24)
    sealed = grants.seal_payload(header, payload, grant_key, w.id_sign_sk, nonce)
    hb = header.encode()
    pt = canonical_json(payload.to_json())
    ad = b"vault.v1/grant-payload\x00" + hashlib.sha256(hb).digest()
    ct = _crypto.aead_encrypt(grant_key, nonce, pt, ad)
    msg = b"vault.v1/grant\x00" + hashlib.sha256(hb).digest() + nonce + ct
    assert sealed == b"VG1" + _crypto.sign(w.id_sign_sk, msg) + nonce + ct
    return sealed, {
        "grant_id": header.grant_id,
        "grant_key": hx(grant_key),
        "owner_sign_pk": hx(w.id_sign_pk),
        "header_text": hb.decode(),
        "header_sha256": hx(hashlib.sha256(hb).digest()),
        "payload_text": pt.decode(),
        "nonce": hx(nonce),
        "ad": hx(ad),
        "ciphertext": hx(ct),
        "sig_message": hx(msg),
        "sig": hx(sealed[3:67]),
        "sealed": hx(sealed),
        "sealed_b64u": b64u(sealed),
    }


def build_grant(w: World) -> JSON:
    positive: list[JSON] = []
    # Link secrets.
    secret = det("grant/link/secret")
    gid_link = det("grant/link/id", 16).hex()
    ls = grants.link_secrets(secret)
    assert ls.grant_key == _crypto.kdf(secret, "vault.v1/grant-key")
    link = grants.format_link(SERVER, gid_link, secret)
    positive.append(
        {
            "op": "link",
            "server": SERVER,
            "grant_id": gid_link,
            "secret": hx(secret),
            "link": link,
            "password": None,
            "grant_key": hx(ls.grant_key),
            "access_token": hx(ls.access_token),
            "access_hash": hx(grants.access_hash(ls.access_token)),
        }
    )
    secret_pw = det("grant/pwlink/secret")
    gid_pw = det("grant/pwlink/id", 16).hex()
    lpw = grants.link_secrets(secret_pw, LINK_PASSWORD)
    pw_salt = _crypto.kdf(secret_pw, "vault.v1/grant-pw-salt", 16)
    pw_key = _crypto.argon2id(
        LINK_PASSWORD.encode(), pw_salt, grants.GRANT_PW_M_KIB, grants.GRANT_PW_T, 1
    )
    base = _crypto.kdf(secret_pw + pw_key, "vault.v1/grant-password")
    assert lpw.grant_key == _crypto.kdf(base, "vault.v1/grant-key")
    positive.append(
        {
            "op": "link",
            "server": SERVER,
            "grant_id": gid_pw,
            "secret": hx(secret_pw),
            "link": grants.format_link(SERVER, gid_pw, secret_pw),
            "password": LINK_PASSWORD,
            "password_utf8": hx(LINK_PASSWORD.encode()),
            "pw_salt": hx(pw_salt),
            "pw_argon2id": {"m_kib": grants.GRANT_PW_M_KIB, "t": grants.GRANT_PW_T, "p": 1},
            "pw_key": hx(pw_key),
            "base": hx(base),
            "grant_key": hx(lpw.grant_key),
            "access_token": hx(lpw.access_token),
            "access_hash": hx(grants.access_hash(lpw.access_token)),
        }
    )

    # Headers and payloads.
    def header(
        gid: str, kind: str, password: bool, to: str | None, to_box: bytes | None
    ) -> grants.GrantHeader:
        return grants.GrantHeader(
            grant_id=gid,
            owner=HANDLE,
            owner_sign_pk=w.id_sign_pk,
            kind=kind,
            to=to,
            to_box_pk=to_box,
            expires=T0 + 7 * DAY,
            max_uses=5 if kind == "link" else None,
            password=password,
            created=T0 + 300,
        )

    h_link = header(gid_link, "link", False, None, None)
    sealed_link, case_link = payload_case(w, h_link, ls.grant_key, "link")
    positive.append({"op": "open_payload", "name": "link", **case_link})
    h_pw = header(gid_pw, "link", True, None, None)
    sealed_pw, case_pw = payload_case(w, h_pw, lpw.grant_key, "pwlink")
    positive.append({"op": "open_payload", "name": "password link", **case_pw})
    gid_acc = det("grant/account/id", 16).hex()
    acc_key = det("grant/account/key")
    h_acc = header(gid_acc, "account", False, GRANTEE, w.grantee_identity.box_pk)
    _, case_acc = payload_case(w, h_acc, acc_key, "account")
    positive.append(
        {
            "op": "open_payload",
            "name": "account",
            "pinned_owner_sign_pk": hx(w.id_sign_pk),
            **case_acc,
        }
    )
    key_ad = b"vault.v1/grant-key\x00" + gid_acc.encode()
    sealed_key, seal_detail = seal_case(
        w.grantee.identity_box_secret, det("grant/account/ephemeral"), acc_key, key_ad
    )
    assert sealed_key == grants.seal_grant_key(
        w.grantee_identity.box_pk, acc_key, gid_acc, det("grant/account/ephemeral")
    )
    positive.append({"op": "open_grant_key", "grant_id": gid_acc, **seal_detail})

    hb_link = h_link.encode()
    pl = {"grant_id": gid_link, "grant_key": hx(ls.grant_key), "header_text": hb_link.decode()}
    # A forged account grant: the server seals its own key to the grantee, signs with its own.
    srv_pk, srv_sk = keys.device_keypair(det("server/forged-identity"))
    h_forged = replace(h_acc, owner_sign_pk=srv_pk)
    forged_payload = grants.GrantPayload(gid_acc, 1, ("x",), (grant_item(w),))
    forged = grants.seal_payload(
        h_forged, forged_payload, acc_key, srv_sk, det("grant/forged/nonce", 24)
    )
    link_obj = json.loads(hb_link)
    noncanon_secret = link[:-1] + set_low_bit(link[-1])
    negative = [
        neg(
            "password-less open of a password link",
            "open_payload",
            "IntegrityError",
            grant_id=gid_pw,
            grant_key=hx(grants.link_secrets(secret_pw).grant_key),
            header_text=h_pw.encode().decode(),
            sealed=hx(sealed_pw),
        ),
        neg(
            "wrong password",
            "open_payload",
            "IntegrityError",
            grant_id=gid_pw,
            grant_key=hx(grants.link_secrets(secret_pw, "sesame 42").grant_key),
            header_text=h_pw.encode().decode(),
            sealed=hx(sealed_pw),
        ),
        neg(
            "flipped signature",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 10)),
        ),
        neg(
            "flipped nonce",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 70)),
        ),
        neg(
            "flipped ciphertext",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(flip(sealed_link, 120)),
        ),
        neg(
            "flipped tag", "open_payload", "IntegrityError", **pl, sealed=hx(flip(sealed_link, -1))
        ),
        neg(
            "flipped magic", "open_payload", "IntegrityError", **pl, sealed=hx(flip(sealed_link, 0))
        ),
        neg("truncated", "open_payload", "IntegrityError", **pl, sealed=hx(sealed_link[:-1])),
        neg("extended", "open_payload", "IntegrityError", **pl, sealed=hx(sealed_link + b"\x00")),
        neg(
            "opened as another grant id",
            "open_payload",
            "IntegrityError",
            **{**pl, "grant_id": gid_pw},
            sealed=hx(sealed_link),
        ),
        neg(
            "header with a later expiry",
            "open_payload",
            "IntegrityError",
            **{
                **pl,
                "header_text": canonical_json(
                    {**link_obj, "expires": link_obj["expires"] + DAY}
                ).decode(),
            },
            sealed=hx(sealed_link),
        ),
        neg(
            "header with more uses",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": canonical_json({**link_obj, "max_uses": None}).decode()},
            sealed=hx(sealed_link),
        ),
        neg(
            "non-canonical header",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": json.dumps(link_obj, sort_keys=True)},
            sealed=hx(sealed_link),
        ),
        neg(
            "header version 2",
            "open_payload",
            "IntegrityError",
            **{**pl, "header_text": canonical_json({**link_obj, "v": 2}).decode()},
            sealed=hx(sealed_link),
        ),
        neg(
            "payload of another grant (splice)",
            "open_payload",
            "IntegrityError",
            **pl,
            sealed=hx(sealed_pw),
        ),
        neg(
            "forged account grant: signer is not the pinned owner",
            "open_payload",
            "IntegrityError",
            grant_id=gid_acc,
            grant_key=hx(acc_key),
            header_text=h_forged.encode().decode(),
            pinned_owner_sign_pk=hx(w.id_sign_pk),
            sealed=hx(forged),
        ),
        neg(
            "grant key sealed for another grant id",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_link,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=hx(sealed_key),
        ),
        neg(
            "grant key opened by another account",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.bundle.identity_box_secret),
            sealed=hx(sealed_key),
        ),
        neg(
            "grant key with a low-order ephemeral key",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=X25519_LOW_ORDER[3] + hx(sealed_key[32:]),
        ),
        neg(
            "grant key flipped",
            "open_grant_key",
            "IntegrityError",
            grant_id=gid_acc,
            recipient_sk=hx(w.grantee.identity_box_secret),
            sealed=hx(flip(sealed_key, 40)),
        ),
        neg(
            "link secret in non-canonical base64",
            "parse_link",
            "IntegrityError",
            link=noncanon_secret,
        ),
        neg(
            "link secret of 31 bytes",
            "parse_link",
            "IntegrityError",
            link=grants.format_link(SERVER, gid_link, secret[:31]),
        ),
        neg("link secret with padding", "parse_link", "IntegrityError", link=link + "="),
        neg("link without fragment", "parse_link", "FormatError", link=link.split("#")[0]),
        neg(
            "link with an upper-case grant id",
            "parse_link",
            "FormatError",
            link=link.replace(gid_link, gid_link.upper()),
        ),
        neg(
            "link with a short grant id",
            "parse_link",
            "FormatError",
            link=link.replace(gid_link, gid_link[:30]),
        ),
    ]
    return vector_file(
        "grant",
        "Grants",
        "link secrets (with and without password), signed grant headers and payloads, sealed "
        "account-grant keys",
        positive=positive,
        negative=negative,
    )
