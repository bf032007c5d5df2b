"""Strict input grammar (protocol/API.md §Identifiers and §Limits).

Everything that comes from a request goes through here before it reaches a store: any value
outside its grammar or bounds raises :class:`~vault_core.errors.BadRequest` (400), never
anything else.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from vault_core.encoding import unb64u
from vault_core.errors import BadRequest, FormatError, IntegrityError
from vault_core.login import check_public_box_key, check_public_sign_key

HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
BLOB_ID = re.compile(r"[0-9a-f]{64}")
HEX_ID = re.compile(r"[0-9a-f]{32}")
MAX_INT = 2**53 - 1


def handle(value: object, what: str = "handle") -> str:
    if not isinstance(value, str) or not HANDLE.fullmatch(value):
        raise BadRequest(f"{what}: invalid handle")
    return value


def blob_id(value: object, what: str = "blob id") -> str:
    if not isinstance(value, str) or not BLOB_ID.fullmatch(value):
        raise BadRequest(f"{what}: invalid blob id")
    return value


def hex_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not HEX_ID.fullmatch(value):
        raise BadRequest(f"{what}: invalid id")
    return value


def b64(
    value: object,
    what: str,
    size: int | None = None,
    max_size: int | None = None,
    min_size: int = 0,
) -> bytes:
    try:
        raw = unb64u(value, size, what)
    except FormatError as e:
        raise BadRequest(e.message) from None
    if max_size is not None and len(raw) > max_size:
        raise BadRequest(f"{what}: too long")
    if len(raw) < min_size:
        raise BadRequest(f"{what}: too short")
    return raw


def sign_pk(value: object, what: str) -> bytes:
    raw = b64(value, what, size=32)
    try:
        check_public_sign_key(raw)
    except (IntegrityError, FormatError):
        raise BadRequest(f"{what}: invalid public key") from None
    return raw


def box_pk(value: object, what: str) -> bytes:
    raw = b64(value, what, size=32)
    try:
        check_public_box_key(raw)
    except (IntegrityError, FormatError):
        raise BadRequest(f"{what}: invalid public key") from None
    return raw


def integer(value: object, what: str, lo: int = 0, hi: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(f"{what}: must be an integer in [{lo}, {hi}]")
    return value


def text(value: object, what: str, max_len: int, min_len: int = 1) -> str:
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise BadRequest(f"{what}: must be a string of {min_len}..{max_len} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise BadRequest(f"{what}: control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{what}: not valid Unicode") from None
    return value


def query_int(value: str | None, what: str, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 16:
        raise BadRequest(f"{what}: must be a decimal integer")
    return integer(int(value), what, lo, hi)


def kdf(value: object) -> dict[str, Any]:
    """Shape and sanity bounds only; the Argon2id floor is the client's to enforce."""
    if not isinstance(value, dict):
        raise BadRequest("kdf: must be an object")
    if value.get("alg") != "argon2id":
        raise BadRequest("kdf.alg: must be argon2id")
    out = {
        "alg": "argon2id",
        "m_kib": integer(value.get("m_kib"), "kdf.m_kib", 8, 4 * 1024 * 1024),
        "t": integer(value.get("t"), "kdf.t", 1, 64),
        "p": integer(value.get("p"), "kdf.p", 1, 16),
    }
    b64(value.get("salt"), "kdf.salt", size=16)
    out["salt"] = value["salt"]
    return out


def check_json_shape(value: Any, max_depth: int, max_items: int) -> None:
    """Depth ≤ max_depth, every list/object ≤ max_items and every integer |n| ≤ 2^53 - 1,
    wherever it sits (an ignored field too: protocol/API.md §Limits); iterative."""
    # only containers go on the stack: a body of 10,000 log entries is mostly strings, which
    # have no shape to check
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise BadRequest("JSON nested too deeply")
        if len(item) > max_items:
            raise BadRequest("too many items")
        children = item.values() if isinstance(item, dict) else item
        for c in children:
            t = type(c)
            if t is dict or t is list:
                stack.append((c, depth + 1))
            elif t is int and not -MAX_INT <= c <= MAX_INT:
                raise BadRequest("integers must be below 2^53 in magnitude")


def _integral_number(text: str) -> int:
    """A number written with a fraction or an exponent is the integer it equals (``3.0``,
    ``1e3``: JSON Schema's reading, where 1.0 is an integer), else refused: the protocol has
    no floats. Exact (decimal, never binary floating point), bounded before it is expanded."""
    try:
        d = Decimal(text)
    except ArithmeticError:
        raise BadRequest("not valid JSON") from None
    if not d.is_finite() or d.adjusted() > 16:
        raise BadRequest("integers must be below 2^53 in magnitude")
    if d != d.to_integral_value():
        raise BadRequest("floats are not allowed")
    return int(d)


def _no_constant(text: str) -> Any:
    raise BadRequest("NaN and Infinity are not allowed")


def parse_json(raw: bytes, max_depth: int, max_items: int) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_float=_integral_number, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("not valid JSON") from None
    check_json_shape(value, max_depth, max_items)
    if not isinstance(value, dict):
        raise BadRequest("body must be a JSON object")
    return value


def obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what}: must be an object")
    return value


def array(value: object, what: str, max_items: int, min_items: int = 0) -> list[Any]:
    if not isinstance(value, list) or not min_items <= len(value) <= max_items:
        raise BadRequest(f"{what}: must be a list of {min_items}..{max_items} items")
    return value


def boolean(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{what}: must be true or false")
    return value
