from __future__ import annotations

import re

from srv_helpers import Srv, expect

from vault_server.app import ALL_ROUTES, registered_routes


async def test_openapi_matches_routes(srv: Srv) -> None:
    doc = await expect(await srv.client.get("/v1/openapi.json"), 200)
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = registered_routes(srv.client.app)
    assert documented == served
    assert len(served) == len(ALL_ROUTES)
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for op in ops.values():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == names
            assert "400" in op["responses"]


async def test_unknown_route_and_method_are_json(srv: Srv) -> None:
    body = await expect(await srv.client.get("/v1/nope"), 404, "not_found")
    assert body["message"]
    r = await srv.client.patch("/v1/log")
    assert r.status == 405 and (await r.json())["code"] == "bad_request"
