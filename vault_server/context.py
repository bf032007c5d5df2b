"""What every handler reaches through ``request.app``: config, stores, clock, event hub."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from .clock import Clock
from .config import ServerConfig
from .events import EventHub
from .storage.base import BlobStore, MetadataStore


@dataclass
class ServerContext:
    config: ServerConfig
    meta: MetadataStore
    blobs: BlobStore
    clock: Clock
    hub: EventHub
    secret: bytes = field(repr=False)


CTX = web.AppKey("vault_ctx", ServerContext)


def ctx(request: web.Request) -> ServerContext:
    return request.app[CTX]
