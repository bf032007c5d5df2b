from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from srv_helpers import Srv, start_srv


@pytest.fixture
async def make_srv(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Srv]]]:
    made: list[Srv] = []

    async def make(**limits: Any) -> Srv:
        s = await start_srv(tmp_path / f"data{len(made)}", **limits)
        made.append(s)
        return s

    yield make
    for s in made:
        await s.client.close()


@pytest.fixture
async def srv(make_srv: Callable[..., Awaitable[Srv]]) -> Srv:
    return await make_srv()
