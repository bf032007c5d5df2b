"""POST /v1/inbox-batch: many deposits in one request, each answered on its own (created,
exists, unknown_recipient, inbox_full, too_large), issuers only, bounded per request (items and
body bytes, as the OpenAPI document says), every deposit counted against the issuer's pace (a
batch that does not fit is refused whole with Retry-After), one event per recipient."""

from __future__ import annotations

from typing import Any

from srv_helpers import Srv, expect, hex_id

from vault_core.encoding import b64u, unb64u
from vault_server.app import ALL_ROUTES
from vault_server.config import Limits
from vault_server.openapi import build_openapi


async def _issuer(srv: Srv, handle: str = "cityhall"):
    user = await srv.user(handle)
    assert await srv.ctx.meta.set_issuer(handle, True)
    return user


def _dep(to: str, envelope: bytes = b"sealed", dep_id: str | None = None) -> dict[str, str]:
    return {"to": to, "id": dep_id or hex_id(), "envelope": b64u(envelope)}


async def _post(srv: Srv, user: Any, deposits: list[dict[str, str]], status: int = 200) -> Any:
    r = await srv.client.post("/v1/inbox-batch", json={"deposits": deposits}, headers=user.h)
    return await expect(r, status)


async def test_each_deposit_answered_in_order_and_a_batch_posted_again_is_all_exists(
    make_srv,
) -> None:
    srv = await make_srv(inbox_items=2, json_body=4096)
    alice, bob = await srv.user("alice"), await srv.user("bob")
    city = await _issuer(srv)
    published: list[tuple[int, dict]] = []
    real = srv.ctx.hub.publish

    async def spy(account_id: int, message: dict) -> None:
        published.append((account_id, message))
        await real(account_id, message)

    srv.ctx.hub.publish = spy  # type: ignore[method-assign]
    twice = hex_id()
    batch = [
        _dep("alice", b"one"),
        _dep("nobody"),
        _dep("bob", b"x" * 4000),  # 5,334 base64 characters: over json_body
        _dep("alice", b"two", twice),
        _dep("alice", b"two again", twice),  # the same id later in the same batch
        _dep("alice", b"three"),  # alice holds 2 = inbox_items
        _dep("bob", b"for bob"),
    ]
    got = await _post(srv, city, batch)
    assert got == {
        "results": [
            {"id": d["id"], "status": s}
            for d, s in zip(
                batch,
                [
                    "created",
                    "unknown_recipient",
                    "too_large",
                    "created",
                    "exists",
                    "inbox_full",
                    "created",
                ],
                strict=True,
            )
        ]
    }
    inbox = await expect(await srv.client.get("/v1/inbox", headers=alice.h), 200)
    assert sorted(i["id"] for i in inbox) == sorted([batch[0]["id"], twice])
    one = await expect(await srv.client.get(f"/v1/inbox/{twice}", headers=alice.h), 200)
    assert unb64u(one["envelope"]) == b"two" and one["from"] == "cityhall"
    bob_inbox = await expect(await srv.client.get("/v1/inbox", headers=bob.h), 200)
    assert [i["id"] for i in bob_inbox] == [batch[6]["id"]]
    # one event per recipient that got something, however many deposits
    ids = [(await srv.ctx.meta.get_account_by_handle(h)).id for h in ("alice", "bob")]  # type: ignore[union-attr]
    assert sorted(published, key=lambda p: p[0]) == [(a, {"type": "inbox"}) for a in sorted(ids)]
    # the same batch again: nothing new, the held ids are "exists" (a rerun is safe)
    published.clear()
    again = await _post(srv, city, batch)
    assert [r["status"] for r in again["results"]] == [
        "exists",
        "unknown_recipient",
        "too_large",
        "exists",
        "exists",
        "inbox_full",
        "exists",
    ]
    assert published == []
    # the one-deposit route refuses those ids too: one id space
    await expect(
        await srv.client.post(
            "/v1/inbox/bob", json={"id": twice, "envelope": "AA"}, headers=city.h
        ),
        409,
    )


async def test_issuers_only_and_the_limits_per_request(make_srv) -> None:
    srv = await make_srv(deposit_batch_items=3, deposit_batch_body=2000)
    await srv.user("alice")
    mallory = await srv.user("mallory")
    city = await _issuer(srv)
    body = await _post(srv, mallory, [_dep("alice")], 403)
    assert body["code"] == "forbidden"
    await expect(await srv.client.post("/v1/inbox-batch", json={"deposits": [_dep("alice")]}), 401)
    # four deposits: over deposit_batch_items (413, nothing stored)
    body = await _post(srv, city, [_dep("alice") for _ in range(4)], 413)
    assert body["code"] == "too_large" and "3 deposits" in body["message"]
    # a body over deposit_batch_body: 413 while it is read
    body = await _post(srv, city, [_dep("alice", b"y" * 1600)], 413)
    assert body["code"] == "too_large"
    alice_inbox = await srv.ctx.meta.list_deposits(
        (await srv.ctx.meta.get_account_by_handle("alice")).id  # type: ignore[union-attr]
    )
    assert alice_inbox == []
    # outside the grammar: 400, nothing stored
    for bad in (
        [],
        [{"to": "alice", "id": "not-hex", "envelope": "AA"}],
        [{"to": "Alice!", "id": hex_id(), "envelope": "AA"}],
        [{"to": "alice", "id": hex_id(), "envelope": ""}],
        [{"to": "alice", "id": hex_id(), "envelope": "A"}],
        [_dep("alice"), "not an object"],
    ):
        await _post(srv, city, bad, 400)  # type: ignore[arg-type]
    await expect(await srv.client.post("/v1/inbox-batch", json={"items": []}, headers=city.h), 400)
    assert await _post(srv, city, [_dep("alice"), _dep("alice"), _dep("alice")])


async def test_every_deposit_counts_against_the_pace_and_an_over_batch_is_refused_whole(
    make_srv,
) -> None:
    srv = await make_srv(issuer_per_minute=10, deposit_batch_items=8)
    await srv.user("alice")
    alice = await srv.ctx.meta.get_account_by_handle("alice")
    assert alice is not None
    city = await _issuer(srv)
    got = await _post(srv, city, [_dep("alice") for _ in range(8)])
    assert [r["status"] for r in got["results"]] == ["created"] * 8
    srv.clock.advance(20)
    # 8 of 10 taken: a batch of 3 does not fit, nothing of it is stored or counted
    r = await srv.client.post(
        "/v1/inbox-batch", json={"deposits": [_dep("alice") for _ in range(3)]}, headers=city.h
    )
    body = await expect(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == str(body["retry_after"]) == "40"  # when the 8 leave
    assert len(await srv.ctx.meta.list_deposits(alice.id)) == 8
    # a batch of 2 fits exactly, then even one deposit by the one-row route is over the pace
    await _post(srv, city, [_dep("alice") for _ in range(2)])
    r = await srv.client.post(
        "/v1/inbox/alice", json={"id": hex_id(), "envelope": "AA"}, headers=city.h
    )
    await expect(r, 429, "rate_limited")
    srv.clock.advance(41)  # the window moved past the batch of 8
    got = await _post(srv, city, [_dep("alice") for _ in range(3)])
    assert [r["status"] for r in got["results"]] == ["created"] * 3
    # unknown recipients count too (no free probing of handles)
    got = await _post(srv, city, [_dep("nobody") for _ in range(5)])
    assert [r["status"] for r in got["results"]] == ["unknown_recipient"] * 5
    await _post(srv, city, [_dep("alice")], 429)


def test_the_openapi_document_says_the_limits_per_request() -> None:
    lim = Limits(deposit_batch_items=40, deposit_batch_body=123456, issuer_per_minute=100)
    op = build_openapi(ALL_ROUTES, lim)["paths"]["/v1/inbox-batch"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    deposits = schema["properties"]["deposits"]
    assert (deposits["maxItems"], deposits["minItems"]) == (40, 1)
    assert set(deposits["items"]["required"]) == {"to", "id", "envelope"}
    assert "123456 bytes" in schema["description"]
    assert {"200", "400", "401", "403", "413", "429"} <= set(op["responses"])
    statuses = op["responses"]["200"]["content"]["application/json"]["schema"]
    item = statuses["properties"]["results"]["items"]
    assert item["properties"]["status"]["enum"] == [
        "created",
        "exists",
        "unknown_recipient",
        "inbox_full",
        "too_large",
    ]
    # never more per request than the pace lets pass
    small = Limits(deposit_batch_items=500, issuer_per_minute=30)
    op = build_openapi(ALL_ROUTES, small)["paths"]["/v1/inbox-batch"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["deposits"]["maxItems"] == 30
