"""OpenAPI 3.1 document generated from the route table (see routing.py) and the server's limits
(schemas.py), so that it says exactly what this server accepts and answers.

Paths are merged as OpenAPI reads them: templates of the same shape are one path item
(``/v1/inbox/{handle}`` for POST and ``/v1/inbox/{id}`` for GET and DELETE are
``/v1/inbox/{target}``), whose parameter each operation describes with its own grammar.
"""

from __future__ import annotations

import re
from typing import Any

from . import schemas
from .config import Limits
from .routing import Route, SchemaSource

_PARAM = re.compile(r"\{([a-z_]+)\}")
_PATTERNS = {
    "handle": schemas.HANDLE,
    "blob_id": schemas.BLOB_ID,
    "id": schemas.HEX_ID,
    "name": schemas.ASSET_NAME,
}
_MEANING = {
    "handle": "an account's handle",
    "blob_id": "a blob id (SHA-256, hex)",
    "id": "an id (16 bytes, hex)",
    "name": "the name of a file of the web access page",
}
_REASONS = {
    101: "Switching Protocols (WebSocket)",
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad request: outside the grammar, or a reference to something absent (unknown blob)",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed (the path is another path item's)",
    409: "Conflict",
    410: "Grant unavailable",
    413: "Too large",
    429: "Rate limited",
    503: "Unavailable (the server's storage is full, or the share page is not built)",
    507: "Quota exceeded",
}


def _schema(source: SchemaSource | None, limits: Limits) -> dict[str, Any]:
    if source is None:
        return {}
    return source(limits) if callable(source) else source


def _bounded(schema: Any, items: int) -> Any:
    """``schema`` with the rule every JSON body obeys (validate.check_json_shape): no array or
    object holds more than ``items`` items, whatever a route's own schema allows."""
    if isinstance(schema, list):
        return [_bounded(s, items) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v, items) for k, v in schema.items()}
    kinds = out.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "array" in kinds:
        out["maxItems"] = min(out.get("maxItems", items), items)
    if "object" in kinds:
        out["maxProperties"] = min(out.get("maxProperties", items), items)
    return out


def _json_items(r: Route, limits: Limits) -> int:
    """The items bound the route's handler reads its JSON body with."""
    from .routes_log import max_refs  # POST /v1/log: the one body with longer lists

    return max_refs(limits) if (r.method, r.path) == ("POST", "/v1/log") else limits.list_items


def doc_path(path: str, names: dict[str, str]) -> str:
    """The document's path of a route path (placeholders renamed where paths merge)."""
    return _PARAM.sub(lambda m: "{" + names.get(m.group(1), m.group(1)) + "}", path)


def _merged_names(routes: list[Route]) -> dict[str, dict[str, str]]:
    """Per route path, the placeholder renames that make same-shape templates one path."""
    shapes: dict[str, set[str]] = {}
    for r in routes:
        shapes.setdefault(_PARAM.sub("{}", r.path), set()).add(r.path)
    out: dict[str, dict[str, str]] = {}
    for paths in shapes.values():
        if len(paths) > 1:
            for p in paths:
                out[p] = {name: "target" for name in _PARAM.findall(p)}
    return out


def _shadowed_values(path: str, literal: set[str]) -> dict[str, list[str]]:
    """Per placeholder of ``path``, the values that make it a literal path of the table
    (``sent`` for ``/v1/requests/{handle}``): those belong to the literal path item."""
    parts = path.split("/")
    out: dict[str, list[str]] = {}
    for lit in sorted(literal):
        lparts = lit.split("/")
        if len(lparts) != len(parts):
            continue
        holes = [(p, q) for p, q in zip(parts, lparts, strict=True) if p != q]
        if len(holes) == 1 and _PARAM.fullmatch(holes[0][0]):
            out.setdefault(holes[0][0][1:-1], []).append(holes[0][1])
    return out


def _operation(
    r: Route, limits: Limits, names: dict[str, str], literal: set[str]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{r.method.lower()}_{r.handler.__name__}",
        "summary": r.summary,
        "tags": [r.tag],
        "responses": {},
    }
    if r.description:
        op["description"] = r.description
    params: list[dict[str, Any]] = []
    shadowed = _shadowed_values(r.path, literal)
    clashes = False
    for name in _PARAM.findall(r.path):
        schema = _PATTERNS[name]
        clash = [v for v in shadowed.get(name, ()) if re.search(schema["pattern"], v)]
        if clash:
            schema = {**schema, "not": {"enum": clash}}
            clashes = True
        params.append(
            {
                "name": names.get(name, name),
                "in": "path",
                "required": True,
                "description": _MEANING[name],
                "schema": schema,
            }
        )
    for qname, qschema, qrequired in r.query:
        params.append(
            {
                "name": qname,
                "in": "query",
                "required": qrequired,
                "schema": _schema(qschema, limits),
            }
        )
    for hname, hschema, hrequired in r.headers:
        params.append({"name": hname, "in": "header", "required": hrequired, "schema": hschema})
    if params:
        op["parameters"] = params
    if r.auth == "none":
        op["security"] = []
    elif r.auth == "bearer_optional":
        op["security"] = [{}, {"bearer": []}]
    elif r.auth == "grant_or_bearer":
        op["security"] = [{"grant": []}, {"bearer": []}]
    else:
        op["security"] = [{"bearer": []}]
    if r.body == "json":
        op["requestBody"] = {
            "required": r.body_required,
            "content": {
                "application/json": {
                    "schema": _bounded(_schema(r.request, limits), _json_items(r, limits))
                }
            },
        }
    elif r.body == "raw":
        op["requestBody"] = {
            "required": r.body_required,
            "content": {"application/octet-stream": {"schema": _schema(r.request, limits)}},
        }
    for status in (r.status, *r.also):
        ok: dict[str, Any] = {"description": _REASONS.get(status, "OK")}
        if r.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(r.response, limits)}}
        elif status not in (101, 204):
            media = (r.media,) if isinstance(r.media, str) else r.media
            ok["content"] = {m: {"schema": {}} for m in media}
        op["responses"][str(status)] = ok
    errors = {*r.errors, 400, 503}
    if clashes:
        errors.add(405)  # the literal path's own path item answers (say POST /v1/requests/sent)
    if r.body == "json" or r.body == "raw":
        errors.add(413)
    for code in sorted(errors):
        op["responses"][str(code)] = {
            "description": _REASONS.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code == 429:
            op["responses"]["429"]["headers"] = {
                "Retry-After": {
                    "description": "seconds until an attempt can pass again",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    return op


def build_openapi(routes: list[Route], limits: Limits | None = None) -> dict[str, Any]:
    limits = limits or Limits()
    merged = _merged_names(routes)
    literal = {r.path for r in routes if "{" not in r.path}
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        names = merged.get(r.path, {})
        paths.setdefault(doc_path(r.path, names), {})[r.method.lower()] = _operation(
            r, limits, names, literal
        )
    components: dict[str, Any] = {"Error": schemas.ERROR}
    from .routes_log import max_refs  # the one body with longer lists

    for items in (limits.list_items, max_refs(limits)):
        components.update(schemas.extra_components(items, limits.json_depth))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vault sync server",
            "version": "1",
            "description": (
                "See protocol/API.md. All byte strings are base64url without padding. "
                "Generated from the server's route table and limits."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "grant": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Grant <token>",
                },
            },
            "schemas": components,
        },
    }


API_MD_BEGIN = "<!-- route index: generated by `python -m vault_server.api_index`, do not edit -->"
API_MD_END = "<!-- end of route index -->"


def route_index(routes: list[Route], limits: Limits | None = None) -> str:
    """protocol/API.md's route index: every operation of the document, from the same table."""
    doc = build_openapi(routes, limits)
    lines = [
        API_MD_BEGIN,
        "| method | path | auth | success | errors | summary |",
        "|---|---|---|---|---|---|",
    ]
    auth_words = {
        "none": "none",
        "bearer": "Bearer",
        "bearer_optional": "Bearer or none",
        "grant_or_bearer": "Grant or Bearer",
        "websocket": "Bearer (or ?token=)",
    }
    by_op = {(r.method.lower(), r.handler.__name__): r for r in routes}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            r = by_op[(method, op["operationId"].split("_", 1)[1])]
            codes = sorted(op["responses"], key=int)
            ok = [c for c in codes if int(c) < 400]
            bad = [c for c in codes if int(c) >= 400]
            lines.append(
                f"| {method.upper()} | `{path}` | {auth_words[r.auth]} | {', '.join(ok)} "
                f"| {', '.join(bad)} | {r.summary} |"
            )
    lines.append(API_MD_END)
    return "\n".join(lines)


def update_api_md(text: str, index: str) -> str:
    """``text`` with its route index replaced by ``index`` (appended when it has none)."""
    if API_MD_BEGIN in text and API_MD_END in text:
        head, rest = text.split(API_MD_BEGIN, 1)
        tail = rest.split(API_MD_END, 1)[1]
        return head + index + tail
    return text.rstrip("\n") + "\n\n## Route index\n" + index + "\n"
