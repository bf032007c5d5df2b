"""Fixtures for the service layer's tests: a real server on 127.0.0.1 (the same as the CLI's
black-box tests use), and service contexts on real profiles and folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.conftest import PASS, Server
from vault_client.service import Context

__all__ = ["PASS", "Server"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server-data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def new_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``new_context(name)``: a context on an empty profile, without a passphrase source (as
    the app's daemon holds it)."""
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)

    def make(name: str) -> Context:
        monkeypatch.setenv("VAULT_DEVICE_NAME", name)
        return Context(tmp_path / f"home-{name}")

    return make
