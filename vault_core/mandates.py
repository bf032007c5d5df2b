"""Helper mandates (SPEC §Mandates): the owner's signed statement, its scopes and durations.

Theory of operation: the owner lets a helper (aidant) act for him with her own account. He
signs, with the identity key, a statement naming both accounts and their keys (hers pinned on
first use, as for an account grant), what she may do (``scopes``: ``requests``, ``inbox``,
``read:PATH``, ``upload:PATH``), until when, and the account grant that serves her ``read:``
scopes. The statement goes into the owner's log (a ``mandate`` record, :mod:`vault_core.log`),
where it is what every helper entry is checked against, and, sealed to her box key, to the
helper (``copy``), whose client refuses to act outside it. Everything here is pure: times,
keys and random bytes come in as arguments.

Scope paths are vault paths (names of the owner's files): the server never sees them, only the
kinds (:func:`scope_kinds`), so it can refuse a call of the wrong kind but not a path outside
the scope; the helper's client (exit 5) and the owner's clients (exit 4) do that.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u
from .errors import FormatError, IntegrityError, UsageError
from .paths import check_path

KINDS = ("inbox", "read", "requests", "upload")  # what the server sees of the scopes
PATH_KINDS = ("read", "upload")
MAX_SCOPES = 16
MAX_NAME = 64
MAX_LIFE = 10 * 366 * 86400  # a mandate lasts at most ten years
COURRIER = "Courrier"  # where accepted deposits go (service/inbox.py), also for a helper
ACTIONS = {"upload": "upload", "accept": "inbox", "answer": "requests"}  # action -> scope kind
UNITS = {"s": 1, "h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}

_STATEMENT = b"vault.v1/mandate\x00"
_COPY = b"vault.v1/mandate-copy\x00"
_FIELDS = {
    "created",
    "expires",
    "grant",
    "helper",
    "helper_box_pk",
    "helper_sign_pk",
    "mandate",
    "name",
    "owner",
    "owner_box_pk",
    "owner_sign_pk",
    "scopes",
    "type",
    "v",
}
_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
_HEX = frozenset("0123456789abcdef")
_DURATION = re.compile(r"([1-9][0-9]{0,9})([a-z])")


# -- durations and scopes (what people type) ------------------------------------------------


def parse_duration(text: str) -> int:
    """Seconds of a mandate's life: ``N`` and a unit ``s h d w m y`` (``m`` a month of 30
    days, not a minute), at most ten years; UsageError otherwise."""
    m = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if m is None or m.group(2) not in UNITS:
        raise UsageError(f"bad duration {text!r}: use e.g. 1d, 30d, 6m (months) or 1y")
    seconds = int(m.group(1)) * UNITS[m.group(2)]
    if seconds > MAX_LIFE:
        raise UsageError(f"duration {text!r} is too long: a mandate lasts at most 10 years")
    return seconds


def scope(kind: str, path: str | None = None) -> str:
    """A scope from its kind and, for ``read`` and ``upload``, a vault path (UsageError)."""
    if kind in PATH_KINDS:
        try:
            return f"{kind}:{check_path(path)}"
        except FormatError:
            raise UsageError(f"scope {kind}:{path}: not a path of the vault") from None
    if kind in ("requests", "inbox") and path is None:
        return kind
    raise UsageError(f"bad scope {kind!r}: use read:PATH, upload:PATH, requests or inbox")


def split_scope(text: str) -> tuple[str, str | None]:
    """(kind, path or None) of a scope as typed (``read:Papiers``); UsageError."""
    if not isinstance(text, str):
        raise UsageError("bad scope: use read:PATH, upload:PATH, requests or inbox")
    kind, colon, path = text.partition(":")
    if kind in PATH_KINDS and colon and path:
        return kind, path
    if text in ("requests", "inbox"):
        return text, None
    raise UsageError(f"bad scope {text!r}: use read:PATH, upload:PATH, requests or inbox")


def normalize_scopes(scopes: list[str]) -> tuple[str, ...]:
    """Distinct, sorted, well-formed scopes (UsageError for none, too many or a bad one)."""
    out = sorted({scope(*split_scope(s)) for s in scopes})
    if not 1 <= len(out) <= MAX_SCOPES:
        raise UsageError("a mandate has 1 to 16 scopes")
    return tuple(out)


def scope_kinds(scopes: tuple[str, ...] | list[str]) -> list[str]:
    """The kinds of the scopes (what the server may know): sorted, distinct."""
    return sorted({s.partition(":")[0] for s in scopes})


def scope_paths(scopes: tuple[str, ...] | list[str], kind: str) -> list[str]:
    """The paths of the scopes of one kind (``read`` or ``upload``)."""
    return [s.partition(":")[2] for s in scopes if s.partition(":")[0] == kind]


def inside(path: str, base: str) -> bool:
    """``path`` is ``base`` or under it (component-wise: ``Papiers2`` is not in ``Papiers``)."""
    return path == base or path.startswith(base + "/")


def allows(scopes: tuple[str, ...] | list[str], action: str, path: str | None = None) -> bool:
    """Whether a helper with ``scopes`` may do ``action`` (``upload``, ``accept``, ``answer``;
    ``read`` and ``upload`` with a path): SPEC §Mandates, verification step 2."""
    if action == "read" or action == "upload":
        return path is not None and any(inside(path, p) for p in scope_paths(scopes, action))
    if action == "accept":
        if "inbox" not in scopes or path is None:
            return False
        return inside(path, COURRIER) or any(inside(path, p) for p in scope_paths(scopes, "upload"))
    if action == "answer":
        return "requests" in scopes
    return False


# -- the statement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mandate:
    mandate_id: str
    owner: str
    owner_sign_pk: bytes
    owner_box_pk: bytes
    helper: str
    helper_sign_pk: bytes
    helper_box_pk: bytes
    name: str  # what the owner calls the helper ("Gaëlle")
    scopes: tuple[str, ...]
    created: int
    expires: int
    grant_id: str | None  # the account grant serving the read: scopes

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "expires": self.expires,
            "grant": self.grant_id,
            "helper": self.helper,
            "helper_box_pk": b64u(self.helper_box_pk),
            "helper_sign_pk": b64u(self.helper_sign_pk),
            "mandate": self.mandate_id,
            "name": self.name,
            "owner": self.owner,
            "owner_box_pk": b64u(self.owner_box_pk),
            "owner_sign_pk": b64u(self.owner_sign_pk),
            "scopes": list(self.scopes),
            "type": "mandate",
            "v": 1,
        }

    def encode(self) -> bytes:
        check_shape(self)
        return canonical_json(self.to_json())

    def live(self, now: int) -> bool:
        """Within its time (seconds): ``created ≤ now < expires``."""
        return self.created <= now < self.expires

    def kinds(self) -> list[str]:
        return scope_kinds(self.scopes)


def check_name(name: Any) -> str:
    """The helper's name as the owner writes it (FormatError)."""
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_NAME
        or name != name.strip()
        or any(unicodedata.category(c) in ("Cc", "Cf") for c in name)
    ):
        raise FormatError("a helper's name has 1 to 64 characters, no control character")
    return name


def _is_handle(value: Any) -> bool:
    return isinstance(value, str) and bool(_HANDLE.fullmatch(value))


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 32 and set(value) <= _HEX


def check_shape(m: Mandate) -> None:
    """The rules of a statement as FormatError (a caller building one): see SPEC."""
    if not (_is_id(m.mandate_id) and _is_handle(m.owner) and _is_handle(m.helper)):
        raise FormatError("mandate: a malformed id or handle")
    if m.helper == m.owner:
        raise FormatError("a mandate is given to another account")
    if m.grant_id is not None and not _is_id(m.grant_id):
        raise FormatError("mandate: a malformed grant id")
    if (m.grant_id is not None) != bool(scope_paths(m.scopes, "read")):
        raise FormatError("mandate: a read grant exactly when there is a read: scope")
    check_name(m.name)
    if list(m.scopes) != sorted(set(m.scopes)) or not 1 <= len(m.scopes) <= MAX_SCOPES:
        raise FormatError("mandate: 1 to 16 distinct scopes, in order")
    for s in m.scopes:
        try:
            if scope(*split_scope(s)) != s:
                raise FormatError("mandate: a scope not in its written form")
        except UsageError:
            raise FormatError("mandate: a malformed scope") from None
    for t in (m.created, m.expires):
        if type(t) is not int or not 0 <= t < 2**53:
            raise FormatError("mandate: a bad time")
    if not m.created < m.expires <= m.created + MAX_LIFE:
        raise FormatError("mandate: it must end after it starts, within 10 years")
    try:
        for pk in (m.owner_sign_pk, m.helper_sign_pk):
            _crypto.check_sign_pk(pk)
        for pk in (m.owner_box_pk, m.helper_box_pk):
            _crypto.check_box_pk(pk)
    except IntegrityError:
        raise FormatError("mandate: a bad public key") from None


def sign_mandate(m: Mandate, owner_sign_sk: bytes) -> bytes:
    return _crypto.sign(owner_sign_sk, _STATEMENT + m.encode())


def _pk(value: Any, box: bool) -> bytes:
    raw = unb64u(value, 32)
    if box:
        _crypto.check_box_pk(raw)
    else:
        _crypto.check_sign_pk(raw)
    return raw


def _exact(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise FormatError("mistyped")
    return value


def decode_mandate(data: bytes) -> Mandate:
    """Parse a statement (no signature check); IntegrityError on any rule."""
    try:
        o = parse_canonical_json(data)
        if not isinstance(o, dict) or set(o) != _FIELDS or o["type"] != "mandate":
            raise FormatError("fields")
        if type(o["v"]) is not int or o["v"] != 1 or type(o["scopes"]) is not list:
            raise FormatError("version")
        m = Mandate(
            mandate_id=_exact(o["mandate"], str),
            owner=_exact(o["owner"], str),
            owner_sign_pk=_pk(o["owner_sign_pk"], box=False),
            owner_box_pk=_pk(o["owner_box_pk"], box=True),
            helper=_exact(o["helper"], str),
            helper_sign_pk=_pk(o["helper_sign_pk"], box=False),
            helper_box_pk=_pk(o["helper_box_pk"], box=True),
            name=_exact(o["name"], str),
            scopes=tuple(_exact(s, str) for s in o["scopes"]),
            created=_exact(o["created"], int),
            expires=_exact(o["expires"], int),
            grant_id=None if o["grant"] is None else _exact(o["grant"], str),
        )
        check_shape(m)
    except (FormatError, IntegrityError, KeyError, TypeError, ValueError):
        raise IntegrityError() from None
    if m.encode() != bytes(data):
        raise IntegrityError()
    return m


def open_mandate(data: bytes, sig: bytes, owner_sign_pk: bytes) -> Mandate:
    """A statement signed by the owner whose key the verifier holds (IntegrityError)."""
    m = decode_mandate(data)
    if len(sig) != 64 or not _crypto.equal(m.owner_sign_pk, owner_sign_pk):
        raise IntegrityError()
    _crypto.verify(owner_sign_pk, _STATEMENT + bytes(data), sig)
    return m


# -- the helper's copy --------------------------------------------------------------------------


def _copy_ad(mandate_id: str) -> bytes:
    return _COPY + mandate_id.encode("ascii")


def signed_pair(statement: bytes, sig: bytes) -> bytes:
    """``canonical({"sig", "statement"})`` of a signed statement (the helper's copy, sealed)."""
    return canonical_json({"sig": b64u(sig), "statement": parse_canonical_json(statement)})


def seal_copy(m: Mandate, sig: bytes, ephemeral: bytes) -> bytes:
    """The statement and its signature sealed to the helper (AD: the mandate id)."""
    return _crypto.seal(
        m.helper_box_pk, ephemeral, signed_pair(m.encode(), sig), _copy_ad(m.mandate_id)
    )


def open_copy(
    sealed: bytes,
    mandate_id: str,
    helper_box_sk: bytes,
    owner_sign_pk: bytes,
    helper: str,
    helper_sign_pk: bytes,
) -> tuple[Mandate, bytes]:
    """The helper's side: her copy opened and checked (her keys, the owner's pinned key);
    (statement, signature). IntegrityError."""
    plain = _crypto.seal_open(helper_box_sk, sealed, _copy_ad(mandate_id))
    try:
        pair = parse_canonical_json(plain)
        if not isinstance(pair, dict) or set(pair) != {"sig", "statement"}:
            raise FormatError("fields")
        statement = canonical_json(pair["statement"])
        sig = unb64u(pair["sig"], 64)
    except (FormatError, KeyError, TypeError, ValueError):
        raise IntegrityError() from None
    m = open_mandate(statement, sig, owner_sign_pk)
    helper_box_pk = _crypto.box_keypair(helper_box_sk)[0]
    if (
        m.mandate_id != mandate_id
        or m.helper != helper
        or not _crypto.equal(m.helper_sign_pk, helper_sign_pk)
        or not _crypto.equal(m.helper_box_pk, helper_box_pk)
    ):
        raise IntegrityError()
    return m, sig
