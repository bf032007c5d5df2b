"""Server settings: every limit of protocol/API.md in one place, with the documented defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    json_body: int = 1 * MIB
    log_body: int = 8 * MIB
    json_depth: int = 8
    list_items: int = 1000
    blob_size: int = 8 * MIB
    batch_body: int = 32 * MIB
    quota: int = 10 * GIB
    token_lifetime: int = 3600
    challenge_lifetime: int = 300
    login_fail_window: int = 15 * 60
    login_fail_per_handle: int = 10
    login_fail_per_address: int = 30
    issuer_per_minute: int = 60
    inbox_items: int = 100
    grant_failed_attempts: int = 10
    gc_grace: int = 24 * 3600
    gc_interval: int = 3600
    log_page: int = 1000
    device_name: int = 128
    small_blob_field: int = 64 * KIB  # certs, identity signatures, sealed keys


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    limits: Limits = Limits()
    # When set, login proofs must name this host; otherwise the request's Host header is used.
    public_host: str | None = None
    # Run the periodic GC task inside `serve`.
    periodic_gc: bool = True
