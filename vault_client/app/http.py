"""What every handler of the app's local server shares: JSON answers, and reading a
request's JSON body and its fields (each failure a UsageError, one French sentence)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from vault_core.errors import UsageError

from ..service.results import to_json

MAX_JSON = 1 << 20

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(to_json(data), status=status, dumps=dumps)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise UsageError("request too large")
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise UsageError("the request body is not a JSON object")
    return data


def text(data: dict[str, Any], name: str, required: bool = True, limit: int = 4096) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise UsageError(f"{name}: a text is needed")
    return value


def number(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{name}: a number is needed")
    return int(value)


def paths_of(data: dict[str, Any]) -> list[str]:
    value = data.get("paths")
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise UsageError("paths: choose at least one document")
    return [p.strip("/") for p in value]
