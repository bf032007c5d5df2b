"""Canonical encodings shared by every format (SPEC §Conventions).

* ``b64u``: base64url without padding; decoding rejects padding, whitespace, any character
  outside the alphabet and non-canonical trailing bits.
* Canonical JSON: UTF-8, objects with keys sorted by code point, no insignificant whitespace,
  integers only (no floats, |n| < 2**53), strings with the minimal escapes of ``json.dumps``
  with ``ensure_ascii=False``. A parser re-encodes what it read and rejects any difference.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from .errors import FormatError

MAX_SAFE_INT = 2**53 - 1
# one encoder for every call (json.dumps builds a new one each time it is given options)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_TO_URL = bytes.maketrans(b"+/", b"-_")
_TO_STD = bytes.maketrans(b"-_", b"+/")
_B64_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def b64u(data: bytes | bytearray | memoryview) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URL).decode("ascii")


def unb64u(text: object, size: int | None = None, what: str = "value") -> bytes:
    # "+", "/" and "=" would pass the decoder after the translation: refused here; any other
    # character outside the alphabet (whitespace included) is refused by the strict decoder
    if (
        not isinstance(text, str)
        or len(text) % 4 == 1
        or "+" in text
        or "/" in text
        or "=" in text
        or not text.isascii()
    ):
        raise FormatError(f"{what}: not base64url")
    try:
        padded = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_TO_STD)
        raw = binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what}: not base64url") from None
    # canonical (re-encoding gives the text back) unless the last character of a short final
    # group carries bits that decoding dropped: 4 of them after 2 characters, 2 after 3
    tail = len(text) % 4
    if tail and _B64_VALUE[text[-1]] & (0x0F if tail == 2 else 0x03):
        raise FormatError(f"{what}: non-canonical base64url")
    if size is not None and len(raw) != size:
        raise FormatError(f"{what}: must be {size} bytes")
    return raw


def _check(value: Any, depth: int) -> None:
    if depth > 16:
        raise FormatError("JSON nested too deeply")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        _utf8(value)
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise FormatError("integer out of range")
        return
    if isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError("object keys must be strings")
            _utf8(key)
            _check(item, depth + 1)
        return
    raise FormatError(f"type not allowed in canonical JSON: {type(value).__name__}")


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError("string is not valid Unicode (lone surrogate)") from None


def _fast_check(value: Any, depth: int) -> bool:
    """True if ``value`` is made only of exact JSON types with integers in range.

    Strings are not encoded here: the final UTF-8 encoding of the whole document refuses a
    lone surrogate anywhere. False means "look closer" (:func:`_check` gives the error).
    """
    if depth > 16:
        return False
    t = type(value)
    if t is str or value is None or t is bool:
        return True
    if t is int:
        return bool(-MAX_SAFE_INT <= value <= MAX_SAFE_INT)
    if t is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            t = type(item)
            if t is str or t is bool or item is None:
                continue
            if t is int:
                if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                    return False
            elif not _fast_check(item, depth + 1):
                return False
        return True
    if t is list:
        return all(_fast_check(item, depth + 1) for item in value)
    return False


def canonical_json(value: Any) -> bytes:
    if not _fast_check(value, 0):
        _check(value, 0)  # raises the precise error (or accepts a str/int subclass)
    text = _ENCODER.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError("string is not valid Unicode (lone surrogate)") from None


def _no_floats(text: str) -> Any:
    raise FormatError("floats are not allowed")


def _no_constants(text: str) -> Any:
    raise FormatError("NaN and Infinity are not allowed")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FormatError("duplicate key")
        out[key] = value
    return out


def parse_canonical_json(
    data: bytes, max_size: int = 16 * 1024 * 1024, recheck: bool = True
) -> Any:
    """Parse bytes that MUST be canonical JSON; anything else raises FormatError.

    ``recheck=False`` leaves out the final comparison with the value's canonical encoding:
    only for bytes the caller has just made with :func:`canonical_json` (strict decoding,
    no floats, constants or duplicate names still apply)."""
    if len(data) > max_size:
        raise FormatError("document too large")
    try:
        text = bytes(data).decode("utf-8")
        value = json.loads(
            text,
            parse_float=_no_floats,
            parse_constant=_no_constants,
            object_pairs_hook=_pairs,
        )
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise FormatError("not valid JSON") from None
    if recheck and canonical_json(value) != bytes(data):
        raise FormatError("JSON is not canonical")
    return value


def want(value: Any, kind: type) -> Any:
    """Exact JSON type check (no coercion: ``true`` is not 1, ``"1"`` is not 1)."""
    if type(value) is not kind:
        raise FormatError(f"expected {kind.__name__}")
    return value
