from __future__ import annotations

import re

from srv_helpers import Srv, expect

from vault_server.app import ALL_ROUTES, registered_routes
from vault_server.openapi import doc_path


async def test_openapi_matches_routes(srv: Srv) -> None:
    """Every route aiohttp serves is one operation of the document and nothing else is: the
    document's paths are the route table's, same-shape templates merged into one path item
    (``/v1/inbox/{handle}`` and ``/v1/inbox/{id}`` are ``/v1/inbox/{target}``)."""
    doc = await expect(await srv.client.get("/v1/openapi.json"), 200)
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = registered_routes(srv.client.app)
    assert served == {(r.method, r.path) for r in ALL_ROUTES}
    assert len(served) == len(ALL_ROUTES)
    shapes: dict[str, set[str]] = {}
    for r in ALL_ROUTES:
        shapes.setdefault(re.sub(r"\{\w+\}", "{}", r.path), set()).add(r.path)
    expected = set()
    for r in ALL_ROUTES:
        same = shapes[re.sub(r"\{\w+\}", "{}", r.path)]
        names = {n: "target" for n in re.findall(r"\{(\w+)\}", r.path)} if len(same) > 1 else {}
        expected.add((r.method, doc_path(r.path, names)))
    assert documented == expected
    assert len({re.sub(r"\{\w+\}", "{}", p) for p in doc["paths"]}) == len(doc["paths"])
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for op in ops.values():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == names
            assert "400" in op["responses"]
    # a template never claims a literal path of the table: POST /v1/requests/sent is not a
    # request to the account "sent" (the path item of GET /v1/requests/sent answers 405)
    handle = next(
        p["schema"]
        for p in doc["paths"]["/v1/requests/{handle}"]["post"]["parameters"]
        if p["name"] == "handle"
    )
    assert handle["not"] == {"enum": ["sent"]}


async def test_unknown_route_and_method_are_json(srv: Srv) -> None:
    body = await expect(await srv.client.get("/v1/nope"), 404, "not_found")
    assert body["message"]
    r = await srv.client.patch("/v1/log")
    assert r.status == 405 and (await r.json())["code"] == "bad_request"
    assert set(r.headers["Allow"].split(",")) == {"GET", "POST"}
    # the methods of the document's path item, not aiohttp's union over matching templates
    r = await srv.client.post("/v1/requests/sent")
    assert r.status == 405 and r.headers["Allow"] == "GET"
    r = await srv.client.put("/v1/inbox/" + "a" * 32)
    assert r.status == 405 and set(r.headers["Allow"].split(",")) == {"DELETE", "GET", "POST"}


def test_api_md_agrees_with_the_route_table() -> None:
    """protocol/API.md's route index is the one generated from ALL_ROUTES (regenerate with
    ``python -m vault_server.api_index``), and every ``METHOD /path`` its prose names is a route."""
    from pathlib import Path

    from vault_server.openapi import route_index, update_api_md

    md = (Path(__file__).resolve().parents[2] / "protocol" / "API.md").read_text(encoding="utf-8")
    assert update_api_md(md, route_index(ALL_ROUTES)) == md, "API.md's route index is stale"

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])

    routes = {(r.method, shape(r.path)) for r in ALL_ROUTES}
    named = {
        (m, shape(p))
        for m, p in re.findall(r"`(GET|POST|PUT|DELETE|PATCH) (/(?:[^` {]|\{[^}]*\})*)", md)
    }
    assert named, "no route named in API.md"
    assert named <= routes, named - routes
