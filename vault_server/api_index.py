"""Rewrites the route index at the end of protocol/API.md from the route table:
``python -m vault_server.api_index`` (a test fails when the index is stale).

A module of its own: the OpenAPI builder must not import the app (the app imports it)."""

from __future__ import annotations

from pathlib import Path

from .app import ALL_ROUTES
from .openapi import route_index, update_api_md


def main() -> None:
    md = Path(__file__).resolve().parents[1] / "protocol" / "API.md"
    md.write_text(update_api_md(md.read_text(encoding="utf-8"), route_index(ALL_ROUTES)))


if __name__ == "__main__":  # pragma: no cover
    main()
