"""The server gives its free heap back once idle (vault_server.memory, issue 8: a long-running
server must not keep the high-water mark of its busiest spell resident)."""

from __future__ import annotations

import asyncio
import platform
import sys
from typing import Any

import pytest
from aiohttp import web
from srv_helpers import Srv, expect

from vault_core._malloc import give_back_freed_memory
from vault_server.app import IDLE_TRIM
from vault_server.memory import IDLE_SECONDS, IdleTrim


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def _request(trim: IdleTrim, handler: Any) -> None:
    await trim.middleware(None, handler)  # type: ignore[arg-type]


async def test_trims_once_after_idle_following_a_request() -> None:
    now = FakeTime()
    trim = IdleTrim(idle=1.0, trim=lambda: None, now=now)
    now.t += 10
    assert not trim.due()  # no request yet: nothing to give back

    async def ok(request: Any) -> web.StreamResponse:
        now.t += 0.2  # the request takes a while
        return web.Response()

    await _request(trim, ok)
    now.t += 0.9
    assert not trim.due()  # not idle long enough
    now.t += 0.2
    assert trim.due() and trim.trims == 1
    now.t += 60
    assert not trim.due()  # nothing happened since


async def test_a_long_request_does_not_block_trimming_and_failures_count() -> None:
    now = FakeTime()
    trim = IdleTrim(idle=1.0, trim=lambda: None, now=now)
    started = asyncio.Event()
    release = asyncio.Event()

    async def stream(request: Any) -> web.StreamResponse:  # an open event stream
        started.set()
        await release.wait()
        return web.Response()

    async def fails(request: Any) -> web.StreamResponse:
        raise web.HTTPNotFound()

    long = asyncio.create_task(_request(trim, stream))
    await started.wait()
    with pytest.raises(web.HTTPNotFound):
        await _request(trim, fails)
    now.t += 5
    assert trim.due()  # the failed request ended; the open stream is not activity
    release.set()
    await long
    assert not trim.due()  # the stream just ended: activity
    now.t += 1.5
    assert trim.due() and trim.trims == 2


async def test_a_real_server_trims_after_its_requests(srv: Srv) -> None:
    trim = srv.client.server.app[IDLE_TRIM]
    before = trim.trims
    await expect(await srv.client.get("/v1/health"), 200)
    for _ in range(int(IDLE_SECONDS * 40)):
        if trim.trims > before:
            break
        await asyncio.sleep(0.1)
    assert trim.trims == before + 1


def test_the_free_heap_can_be_given_back_here() -> None:
    # the machines this runs on use glibc: the trim is a real call, not a no-op
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert give_back_freed_memory() is True
    else:
        assert give_back_freed_memory() is False
