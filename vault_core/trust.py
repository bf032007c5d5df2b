"""Trust invitations and fingerprint words (SPEC §Trust invitations).

Theory of operation: an owner must not be asked to type an authority's base64 key. The
authority writes an *invitation*: its public key, its name and a creation time, signed by the
authority key itself (domain-separated). The signature proves the invitation was made by the
holder of that key and binds the name to it; it cannot prove that the key is the real city
hall's: that is what the *fingerprint words* are for. Six words from a fixed 2048-word list,
drawn from a hash of the key, are printed on the paper letter or the clerk's screen and shown
by the client before it pins the key; a swapped invitation (someone else's key under the city
hall's name) shows other words.

The same invitation travels as a file (canonical JSON) or as a ``vault-trust:`` URI (for a QR
code or a link); both carry the same signed body and parse to the same object, and a parser
MUST reject anything else: unknown or repeated fields, a bad signature, a non-canonical file,
a weak or malformed key, an empty or over-long name or one with control characters.

Pure: no I/O, no clock (the caller passes ``created``), no word list (the caller maps the
indices of :func:`fingerprint_indices` to its list: vault_client uses BIP-39's French list).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError

LABEL_INVITATION = b"vault.v1/trust-invitation\x00"
LABEL_WORDS = b"vault.v1/authority-words\x00"
URI_SCHEME = "vault-trust:"
MAX_NAME = 120
WORDS = 6  # 66 bits of the key's hash, 11 bits a word
WORD_BITS = 11
MAX_INVITATION = 2048  # bytes, file or URI


def check_name(name: str) -> str:
    """An authority's display name: 1-120 characters, NFC, no control characters, no leading
    or trailing space (FormatError otherwise)."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise FormatError("authority name: 1 to 120 characters")
    if unicodedata.normalize("NFC", name) != name or name != name.strip():
        raise FormatError("authority name: not in NFC, or spaces around it")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise FormatError("authority name: control characters")
    return name


def fingerprint_indices(authority_pk: bytes) -> tuple[int, ...]:
    """Six 11-bit indices (0-2047) from SHA-256(LABEL_WORDS || pk), most significant first."""
    if len(authority_pk) != 32:
        raise FormatError("authority key: 32 bytes")
    digest = int.from_bytes(_crypto.sha256(LABEL_WORDS + authority_pk), "big")
    top = digest >> (256 - WORDS * WORD_BITS)
    return tuple(
        (top >> (WORD_BITS * (WORDS - 1 - i))) & ((1 << WORD_BITS) - 1) for i in range(WORDS)
    )


@dataclass(frozen=True)
class TrustInvitation:
    authority_pk: bytes
    name: str
    created: int
    sig: bytes

    def body(self) -> dict[str, Any]:
        return {
            "authority_pk": b64u(self.authority_pk),
            "created": self.created,
            "name": self.name,
            "type": "trust-invitation",
            "v": 1,
        }

    def message(self) -> bytes:
        return LABEL_INVITATION + canonical_json(self.body())

    @classmethod
    def issue(
        cls, authority_sk: bytes, authority_pk: bytes, name: str, created: int
    ) -> TrustInvitation:
        _crypto.check_sign_pk(authority_pk)
        check_name(name)
        if not 0 <= created < 2**53:
            raise FormatError("invitation: created out of range")
        unsigned = cls(authority_pk, name, created, b"")
        return cls(authority_pk, name, created, _crypto.sign(authority_sk, unsigned.message()))

    def verify(self) -> None:
        """IntegrityError unless the signature by ``authority_pk`` holds."""
        _crypto.check_sign_pk(self.authority_pk)
        _crypto.verify(self.authority_pk, self.message(), self.sig)

    # -- the file form: canonical JSON {"invitation": body, "sig": b64u} ----------------------

    def encode(self) -> bytes:
        return canonical_json({"invitation": self.body(), "sig": b64u(self.sig)})

    @classmethod
    def decode(cls, data: bytes) -> TrustInvitation:
        """Parse and verify the file form (IntegrityError for any failure)."""
        if len(data) > MAX_INVITATION:
            raise IntegrityError()
        if data.endswith(b"\n"):  # one trailing newline, as a text file has
            data = data[:-1]
        try:
            obj = parse_canonical_json(data)
            if not isinstance(obj, dict) or set(obj) != {"invitation", "sig"}:
                raise FormatError("invitation: fields")
            inv = cls._from_body(obj["invitation"], unb64u(want(obj["sig"], str), 64))
        except (FormatError, KeyError, TypeError, ValueError):
            raise IntegrityError() from None
        inv.verify()
        return inv

    @classmethod
    def _from_body(cls, b: Any, sig: bytes) -> TrustInvitation:
        if not isinstance(b, dict) or set(b) != {"authority_pk", "created", "name", "type", "v"}:
            raise FormatError("invitation: body fields")
        if b["type"] != "trust-invitation" or want(b["v"], int) != 1:
            raise FormatError("invitation: type or version")
        created = want(b["created"], int)
        if not 0 <= created < 2**53:
            raise FormatError("invitation: created")
        return cls(
            authority_pk=unb64u(want(b["authority_pk"], str), 32),
            name=check_name(want(b["name"], str)),
            created=created,
            sig=sig,
        )

    # -- the URI form: vault-trust:<pk>?name=<pct>&created=<int>&sig=<b64u> -------------------

    def to_uri(self) -> str:
        return (
            f"{URI_SCHEME}{b64u(self.authority_pk)}?name={quote(self.name, safe='')}"
            f"&created={self.created}&sig={b64u(self.sig)}"
        )

    @classmethod
    def from_uri(cls, uri: str) -> TrustInvitation:
        """Parse and verify the URI form: exactly these three parameters, in this order, each
        once; the name percent-encoded UTF-8 (IntegrityError for any failure)."""
        if len(uri) > MAX_INVITATION or not uri.startswith(URI_SCHEME):
            raise IntegrityError()
        try:
            key_text, _, query = uri[len(URI_SCHEME) :].partition("?")
            params = [p.partition("=") for p in query.split("&")]
            if [(k, sep) for k, sep, _ in params] != [(k, "=") for k in ("name", "created", "sig")]:
                raise FormatError("invitation URI: parameters")
            name = unquote_to_bytes(params[0][2]).decode("utf-8")
            created_text = params[1][2]
            if (
                not created_text.isascii()
                or not created_text.isdigit()
                or (len(created_text) > 1 and created_text[0] == "0")
            ):
                raise FormatError("invitation URI: created")
            body = {
                "authority_pk": key_text,
                "created": int(created_text),
                "name": name,
                "type": "trust-invitation",
                "v": 1,
            }
            inv = cls._from_body(body, unb64u(params[2][2], 64))
            if inv.to_uri() != uri:  # one spelling only (percent-encoding, base64url)
                raise FormatError("invitation URI: not canonical")
        except (FormatError, UnicodeDecodeError, ValueError, TypeError):
            raise IntegrityError() from None
        inv.verify()
        return inv


# -- trust roots shipped with a deployment (SPEC §Trust roots) ---------------------------------

LABEL_ROOTS = b"vault.v1/trust-roots\x00"
LABEL_ROOTS_DIGEST = b"vault.v1/trust-roots-digest\x00"
MAX_ROOTS = 64
MAX_ROOTS_FILE = 64 * 1024


def operator_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """The operator's Ed25519 key pair (public, secret) from a 32-byte seed."""
    if len(seed) != 32:
        raise FormatError("operator key: a 32-byte seed")
    return _crypto.sign_keypair(seed)


@dataclass(frozen=True)
class TrustRoots:
    """An operator's signed list of authority invitations: ``deployment`` names the service
    (e.g. "Coffre-fort de la Métropole de Lyon"), ``signer`` is the operator's Ed25519 key.

    A client never pins these on its own: it shows them, pins them when the owner accepts,
    and remembers :meth:`digest`; another list later (other roots, another signer, another
    issue) is refused until the owner accepts it again."""

    deployment: str
    issued: int
    roots: tuple[TrustInvitation, ...]
    signer: bytes
    sig: bytes

    def body(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "issued": self.issued,
            "roots": [
                {"invitation": r.body(), "sig": b64u(r.sig)}
                for r in sorted(self.roots, key=lambda r: r.authority_pk)
            ],
            "type": "trust-roots",
            "v": 1,
        }

    def message(self) -> bytes:
        return LABEL_ROOTS + canonical_json(self.body())

    def digest(self) -> bytes:
        """What a client pins: SHA-256 over the label, the signer and the signed body."""
        return _crypto.sha256(LABEL_ROOTS_DIGEST + self.signer + canonical_json(self.body()))

    @classmethod
    def issue(
        cls,
        signer_sk: bytes,
        signer_pk: bytes,
        deployment: str,
        issued: int,
        roots: list[TrustInvitation],
    ) -> TrustRoots:
        _crypto.check_sign_pk(signer_pk)
        check_name(deployment)
        if not 0 <= issued < 2**53:
            raise FormatError("trust roots: issued out of range")
        if not 1 <= len(roots) <= MAX_ROOTS:
            raise FormatError(f"trust roots: 1 to {MAX_ROOTS} authorities")
        if len({r.authority_pk for r in roots}) != len(roots):
            raise FormatError("trust roots: an authority listed twice")
        for r in roots:
            r.verify()
        ordered = tuple(sorted(roots, key=lambda r: r.authority_pk))
        unsigned = cls(deployment, issued, ordered, signer_pk, b"")
        return cls(
            deployment, issued, ordered, signer_pk, _crypto.sign(signer_sk, unsigned.message())
        )

    def encode(self) -> bytes:
        return canonical_json(
            {"roots": self.body(), "sig": b64u(self.sig), "signer": b64u(self.signer)}
        )

    @classmethod
    def decode(cls, data: bytes) -> TrustRoots:
        """Parse and verify (the operator's signature and every invitation's); IntegrityError
        for any failure: unknown or missing fields, not canonical, a root listed twice or out
        of order, more than 64 roots, a bad signature."""
        if len(data) > MAX_ROOTS_FILE:
            raise IntegrityError()
        if data.endswith(b"\n"):
            data = data[:-1]
        try:
            obj = parse_canonical_json(data)
            if not isinstance(obj, dict) or set(obj) != {"roots", "sig", "signer"}:
                raise FormatError("trust roots: fields")
            b = obj["roots"]
            if not isinstance(b, dict) or set(b) != {"deployment", "issued", "roots", "type", "v"}:
                raise FormatError("trust roots: body fields")
            if b["type"] != "trust-roots" or want(b["v"], int) != 1:
                raise FormatError("trust roots: type or version")
            issued = want(b["issued"], int)
            listed = b["roots"]
            if not 0 <= issued < 2**53 or not isinstance(listed, list):
                raise FormatError("trust roots: issued or roots")
            if not 1 <= len(listed) <= MAX_ROOTS:
                raise FormatError("trust roots: count")
            roots = []
            for item in listed:
                if not isinstance(item, dict) or set(item) != {"invitation", "sig"}:
                    raise FormatError("trust roots: a root's fields")
                roots.append(
                    TrustInvitation._from_body(
                        item["invitation"], unb64u(want(item["sig"], str), 64)
                    )
                )
            keys = [r.authority_pk for r in roots]
            if keys != sorted(set(keys)):
                raise FormatError("trust roots: order or repeats")
            out = cls(
                deployment=check_name(want(b["deployment"], str)),
                issued=issued,
                roots=tuple(roots),
                signer=unb64u(want(obj["signer"], str), 32),
                sig=unb64u(want(obj["sig"], str), 64),
            )
        except (FormatError, KeyError, TypeError, ValueError):
            raise IntegrityError() from None
        _crypto.check_sign_pk(out.signer)
        _crypto.verify(out.signer, out.message(), out.sig)
        for r in out.roots:
            r.verify()
        return out
