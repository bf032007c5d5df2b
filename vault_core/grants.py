"""Share grants (SPEC §Grants).

Theory of operation: a grant gives one grantee the file keys of exactly the versions it
covers, nothing else.

* A **link grant** has a fresh 32-byte secret ``S`` that only travels in the URL fragment
  (``<server>/s/<grant-id>#<b64u(S)>``). From it: ``grant_key = kdf(S', "vault.v1/grant-key")``
  and ``access = kdf(S', "vault.v1/grant-access")`` where ``S' = S`` or, with a password,
  ``S' = kdf(S || Argon2id(password, kdf(S, "vault.v1/grant-pw-salt")[:16]),
  "vault.v1/grant-password")``. The server stores SHA-256(access) only: it can check an access
  token and count wrong attempts, but can neither derive the grant key nor test passwords
  offline.
* An **account grant** draws a random ``grant_key`` and seals it to the grantee's pinned X25519
  key (AD names the grant id).

The owner signs a canonical header (id, owner, kind, recipient, expiry, limits) and each
payload revision; the payload is encrypted under ``grant_key`` with the header hash in the AD.
A live folder grant gets new revisions as files are added; after revocation or expiry the
owner's client stops adding keys, so content written later is never readable with the old
secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError
from .keys import normalize_secret

PAYLOAD_MAGIC = b"VG1"
GRANT_PW_M_KIB = 64 * 1024
GRANT_PW_T = 3


@dataclass(frozen=True, repr=False)
class LinkSecrets:
    grant_key: bytes
    access_token: bytes

    def __repr__(self) -> str:
        return "LinkSecrets(<secret>)"


def link_secrets(secret: bytes, password: str | None = None) -> LinkSecrets:
    if len(secret) != 32:
        raise IntegrityError()
    base = secret
    if password is not None:
        salt = _crypto.kdf(secret, "vault.v1/grant-pw-salt", 16)
        pwk = _crypto.argon2id(normalize_secret(password), salt, GRANT_PW_M_KIB, GRANT_PW_T, 1)
        base = _crypto.kdf(secret + pwk, "vault.v1/grant-password")
    return LinkSecrets(
        grant_key=_crypto.kdf(base, "vault.v1/grant-key"),
        access_token=_crypto.kdf(base, "vault.v1/grant-access"),
    )


def access_hash(access_token: bytes) -> bytes:
    return _crypto.sha256(access_token)


def format_link(server: str, grant_id: str, secret: bytes) -> str:
    return f"{server.rstrip('/')}/s/{grant_id}#{b64u(secret)}"


def parse_link(link: str) -> tuple[str, str, bytes]:
    """Returns (server, grant id, secret). Raises FormatError when the link is not one."""
    if "#" not in link or "/s/" not in link:
        raise FormatError("not a share link")
    url, fragment = link.split("#", 1)
    server, grant_id = url.rsplit("/s/", 1)
    if len(grant_id) != 32 or any(c not in "0123456789abcdef" for c in grant_id):
        raise FormatError("not a share link")
    try:
        secret = unb64u(fragment, 32, "link secret")
    except FormatError:
        raise IntegrityError("the link's secret is damaged") from None
    return server, grant_id, secret


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise IntegrityError()
    return value


@dataclass(frozen=True)
class GrantHeader:
    grant_id: str
    owner: str
    owner_sign_pk: bytes
    kind: str  # "link" | "account"
    to: str | None
    to_box_pk: bytes | None
    expires: int  # unix seconds
    max_uses: int | None
    password: bool
    created: int

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "expires": self.expires,
            "grant": self.grant_id,
            "kind": self.kind,
            "max_uses": self.max_uses,
            "owner": self.owner,
            "owner_sign_pk": b64u(self.owner_sign_pk),
            "password": self.password,
            "to": self.to,
            "to_box_pk": b64u(self.to_box_pk) if self.to_box_pk else None,
            "v": 1,
        }

    def encode(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def decode(cls, data: bytes) -> GrantHeader:
        try:
            o = parse_canonical_json(data)
            if not isinstance(o, dict) or o.get("v") != 1 or o["kind"] not in ("link", "account"):
                raise IntegrityError()
            h = cls(
                grant_id=_typed(o["grant"], str),
                owner=_typed(o["owner"], str),
                owner_sign_pk=unb64u(o["owner_sign_pk"], 32),
                kind=_typed(o["kind"], str),
                to=None if o["to"] is None else _typed(o["to"], str),
                to_box_pk=unb64u(o["to_box_pk"], 32) if o["to_box_pk"] is not None else None,
                expires=_typed(o["expires"], int),
                max_uses=None if o["max_uses"] is None else _typed(o["max_uses"], int),
                password=_typed(o["password"], bool),
                created=_typed(o["created"], int),
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None
        # kind, recipient and recipient key must agree
        if (h.kind == "account") != (h.to is not None and h.to_box_pk is not None) or (
            h.kind == "link" and (h.to is not None or h.to_box_pk is not None)
        ):
            raise IntegrityError()
        if h.encode() != bytes(data):
            raise IntegrityError()
        return h


@dataclass(frozen=True, repr=False)
class GrantItem:
    """One document a grant covers: what the grantee needs to fetch and verify it."""

    name: str
    file_id: str
    version: int
    size: int
    mtime: int
    content: bytes
    manifest: str
    key: bytes
    doc_type: str | None = None
    certificate: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"GrantItem(name={self.name!r}, size={self.size})"

    def to_json(self) -> dict[str, Any]:
        return {
            "cert": self.certificate,
            "content": b64u(self.content),
            "file": self.file_id,
            "key": b64u(self.key),
            "manifest": self.manifest,
            "mtime": self.mtime,
            "name": self.name,
            "size": self.size,
            "type": self.doc_type,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, o: Any) -> GrantItem:
        from .log import check_path

        try:
            return cls(
                name=check_path(o["name"]),
                file_id=want(o["file"], str),
                version=want(o["version"], int),
                size=want(o["size"], int),
                mtime=want(o["mtime"], int),
                content=unb64u(o["content"], 32),
                manifest=want(o["manifest"], str),
                key=unb64u(o["key"], 32),
                doc_type=o["type"],
                certificate=o["cert"],
            )
        except (KeyError, TypeError, ValueError, FormatError):
            raise IntegrityError() from None


@dataclass(frozen=True)
class GrantPayload:
    grant_id: str
    revision: int
    scope: tuple[str, ...]  # granted paths (files or folders), for the owner's live updates
    items: tuple[GrantItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "grant": self.grant_id,
            "items": [i.to_json() for i in self.items],
            "rev": self.revision,
            "scope": list(self.scope),
            "v": 1,
        }


def _payload_ad(header: bytes) -> bytes:
    return b"vault.v1/grant-payload\x00" + _crypto.sha256(header)


def _payload_sig_msg(header: bytes, nonce: bytes, ct: bytes) -> bytes:
    return b"vault.v1/grant\x00" + _crypto.sha256(header) + nonce + ct


def seal_payload(
    header: GrantHeader,
    payload: GrantPayload,
    grant_key: bytes,
    owner_sign_sk: bytes,
    nonce: bytes,
) -> bytes:
    """``"VG1" | sig (64) | nonce (24) | AEAD(grant_key, nonce, payload, AD(header))``."""
    hb = header.encode()
    ct = _crypto.aead_encrypt(grant_key, nonce, canonical_json(payload.to_json()), _payload_ad(hb))
    sig = _crypto.sign(owner_sign_sk, _payload_sig_msg(hb, nonce, ct))
    return PAYLOAD_MAGIC + sig + nonce + ct


def open_payload(
    header_bytes: bytes,
    sealed: bytes,
    grant_key: bytes,
    grant_id: str,
    owner_sign_pk: bytes | None = None,
) -> tuple[GrantHeader, GrantPayload]:
    """Verify and decrypt. ``owner_sign_pk``: the pinned owner key (account grants)."""
    header = GrantHeader.decode(header_bytes)
    if header.grant_id != grant_id:
        raise IntegrityError()
    if header.kind == "account" and owner_sign_pk is None:
        # a sealed key is anonymous: only the owner's pinned key makes an account grant genuine
        raise IntegrityError()
    if owner_sign_pk is not None and not _crypto.equal(owner_sign_pk, header.owner_sign_pk):
        raise IntegrityError()
    if len(sealed) < 3 + 64 + 24 + 16 or sealed[:3] != PAYLOAD_MAGIC:
        raise IntegrityError()
    sig, nonce, ct = sealed[3:67], sealed[67:91], sealed[91:]
    _crypto.verify(header.owner_sign_pk, _payload_sig_msg(header_bytes, nonce, ct), sig)
    plain = _crypto.aead_decrypt(grant_key, nonce, ct, _payload_ad(header_bytes))
    try:
        o = parse_canonical_json(plain)
        if want(o.get("v"), int) != 1 or o["grant"] != grant_id:
            raise IntegrityError()
        payload = GrantPayload(
            grant_id=grant_id,
            revision=want(o["rev"], int),
            scope=tuple(str(s) for s in o["scope"]),
            items=tuple(GrantItem.from_json(i) for i in o["items"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError, FormatError):
        raise IntegrityError() from None
    return header, payload


def _key_ad(grant_id: str) -> bytes:
    return b"vault.v1/grant-key\x00" + grant_id.encode("ascii")


def seal_grant_key(
    recipient_box_pk: bytes, grant_key: bytes, grant_id: str, ephemeral: bytes
) -> bytes:
    return _crypto.seal(recipient_box_pk, ephemeral, grant_key, _key_ad(grant_id))


def open_grant_key(recipient_box_sk: bytes, sealed: bytes, grant_id: str) -> bytes:
    key = _crypto.seal_open(recipient_box_sk, sealed, _key_ad(grant_id))
    if len(key) != 32:
        raise IntegrityError()
    return key
