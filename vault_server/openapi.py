"""OpenAPI 3.1 document generated from the route table (see routing.py)."""

from __future__ import annotations

import re
from typing import Any

from .routing import Route

_PARAM = re.compile(r"\{([a-z_]+)\}")
_PATTERNS = {
    "handle": "^[a-z0-9][a-z0-9._-]{1,31}$",
    "blob_id": "^[0-9a-f]{64}$",
    "id": "^[0-9a-f]{32}$",
}
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    410: "Grant unavailable",
    413: "Too large",
    429: "Rate limited",
    507: "Quota exceeded",
}


def _operation(r: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{r.method.lower()}_{r.handler.__name__}",
        "summary": r.summary,
        "tags": [r.tag],
        "responses": {},
    }
    params = []
    for name in _PARAM.findall(r.path):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": _PATTERNS[name]},
            }
        )
    for name in r.query:
        params.append({"name": name, "in": "query", "required": False, "schema": {}})
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
        props: dict[str, Any] = {name: {} for name in (*r.required, *r.optional)}
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": list(r.required), "properties": props}
                }
            },
        }
    elif r.body == "raw":
        op["requestBody"] = {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    ok: dict[str, Any] = {"description": _REASONS.get(r.status, "OK")}
    if r.status != 204:
        ok["content"] = {"application/json": {"schema": {}}}
    op["responses"][str(r.status)] = ok
    for code in sorted({*r.errors, 400}):
        op["responses"][str(code)] = {
            "description": _REASONS.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return op


def build_openapi(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vault sync server",
            "version": "1",
            "description": "See protocol/API.md. All byte strings are base64url without padding.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "grant": {"type": "apiKey", "in": "header", "name": "Authorization"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
    }
