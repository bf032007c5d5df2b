"""JSON Schema pieces of the OpenAPI document: the grammar of validate.py, said as schemas.

Every request and answer shape of the route table is written here once, from the same limits
the server enforces (config.Limits), so the document says exactly what the server accepts:
what a schema allows, the server takes (unless the state says otherwise: an unknown blob, a
time in the past, a key that is not a point of its curve, all answered with their documented
status); what a schema refuses, the server refuses with 400.

Bodies follow the general rules of protocol/API.md §Limits: the top-level object is depth 1
and no container sits deeper than 8, every container holds at most ``list_items`` items,
numbers are integers with |n| < 2^53, and unknown fields are ignored (any JSON value that keeps
to those rules: :func:`extra`).
"""

from __future__ import annotations

from typing import Any

from .config import Limits

Schema = dict[str, Any]

MAX_INT = 2**53 - 1
_B64 = "[A-Za-z0-9_-]"
_TAIL1 = f"{_B64}[AQgw]"  # one last byte: the second character's 4 low bits are zero
_TAIL2 = f"{_B64}{{2}}[AEIMQUYcgkosw048]"  # two last bytes: 2 low bits zero


def b64_chars(n: int) -> int:
    """Characters of n bytes in base64url without padding."""
    return (4 * n + 2) // 3


def b64(
    size: int | None = None, max_size: int | None = None, min_size: int = 0, what: str = ""
) -> Schema:
    """Canonical base64url without padding (validate.b64)."""
    desc = {"description": what} if what else {}
    if size is not None:
        tail = {0: "", 1: _TAIL1, 2: _TAIL2}[size % 3]
        group = f"{_B64}{{{4 * (size // 3)}}}" if size >= 3 else ""
        return {"type": "string", "pattern": f"^{group}{tail}$", **desc}
    out: Schema = {
        "type": "string",
        "pattern": f"^(?:{_B64}{{4}})*(?:{_TAIL1}|{_TAIL2})?$",
        **desc,
    }
    if min_size:
        out["minLength"] = b64_chars(min_size)
    if max_size is not None:
        out["maxLength"] = b64_chars(max_size)
    return out


HANDLE: Schema = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,31}$"}
BLOB_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
HEX_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
# a file of the web access page (vault_server/static/app/): app.js, engine.js, icon.svg...
ASSET_NAME: Schema = {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,63}$"}
SIGN_PK = b64(32, what="Ed25519 public key (a canonical point, not zero, not of small order)")
BOX_PK = b64(32, what="X25519 public key (not of low order)")
SIG = b64(64)


def integer(lo: int = 0, hi: int = MAX_INT, what: str = "") -> Schema:
    out: Schema = {"type": "integer", "minimum": lo, "maximum": hi}
    if what:
        out["description"] = what
    return out


def text(max_len: int, min_len: int = 1) -> Schema:
    """validate.text: no C0/C1 control character, min_len..max_len characters."""
    return {
        "type": "string",
        "minLength": min_len,
        "maxLength": max_len,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
    }


def nullable(schema: Schema) -> Schema:
    """An optional field the server reads as absent when it is null."""
    return {"anyOf": [{"type": "null"}, schema]}


def any_json(levels: int, items: int) -> Schema:
    """Any JSON value whose containers nest at most ``levels`` deep (an ignored field)."""
    return {"$ref": f"#/components/schemas/{extra_name(levels, items)}"}


def extra_name(levels: int, items: int) -> str:
    return f"Json{levels}x{items}"


def extra_components(items: int, depth: int) -> dict[str, Schema]:
    """The ``Json<k>x<items>`` family used by :func:`extra` (k = 0..depth-1)."""
    out: dict[str, Schema] = {}
    scalars: list[Schema] = [
        {"type": "null"},
        {"type": "boolean"},
        integer(-MAX_INT),
        {"type": "string"},
    ]
    for k in range(depth):
        options = list(scalars)
        if k > 0:
            inner = any_json(k - 1, items)
            options.append({"type": "array", "maxItems": items, "items": inner})
            options.append(
                {"type": "object", "maxProperties": items, "additionalProperties": inner}
            )
        out[extra_name(k, items)] = {"anyOf": options}
    return out


def obj(
    lim: Limits,
    depth: int,
    required: dict[str, Schema],
    optional: dict[str, Schema] | None = None,
    items: int | None = None,
) -> Schema:
    """An object at ``depth`` (the body itself is 1) whose other fields are ignored."""
    n = items or lim.list_items
    props = {**required, **(optional or {})}
    return {
        "type": "object",
        "required": list(required),
        "properties": props,
        "maxProperties": n,
        "additionalProperties": any_json(lim.json_depth - depth, n),
    }


def array(item: Schema, max_items: int, min_items: int = 0) -> Schema:
    out: Schema = {"type": "array", "items": item, "maxItems": max_items}
    if min_items:
        out["minItems"] = min_items
    return out


def kdf(lim: Limits, depth: int) -> Schema:
    return obj(
        lim,
        depth,
        {
            "alg": {"const": "argon2id"},
            "m_kib": integer(8, 4 * 1024 * 1024),
            "t": integer(1, 64),
            "p": integer(1, 16),
            "salt": b64(16),
        },
    )


def device(lim: Limits, depth: int) -> Schema:
    return obj(
        lim,
        depth,
        {"id": HEX_ID, "name": text(lim.device_name), "sign_pk": SIGN_PK},
        {
            "cert": nullable(b64(max_size=lim.small_blob_field)),
            # web access: a browser's device, revoked after the server's idle time
            "ephemeral": nullable({"type": "boolean"}),
        },
    )


ERROR: Schema = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "head": integer(what="the current log head (a 409 of POST /v1/log)"),
        "retry_after": integer(1, what="seconds to wait (a 429), as its Retry-After header"),
    },
}


def answer(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """A JSON answer: exactly these fields."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


def answer_list(item: Schema) -> Schema:
    return {"type": "array", "items": item}


TIME = integer(what="Unix seconds")
NULL_TIME = {"anyOf": [{"type": "null"}, TIME]}
