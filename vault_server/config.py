"""Server settings: every limit of protocol/API.md in one place, with the documented defaults,
and where the data lives (storage backends).

Storage is chosen by two URLs (``vault-server serve --metadata URL --blobs URL``, the
``VAULT_METADATA`` / ``VAULT_BLOBS`` variables, or a TOML file given with ``--config``; the
command line wins over the environment, which wins over the file):

* metadata: unset or ``sqlite:///PATH`` (embedded, ``DATA/vault.sqlite3`` by default), or
  ``postgresql://USER@HOST:PORT/DB?schema=NAME`` (shared by several processes);
* blobs: unset or ``file:///PATH`` (embedded, ``DATA/blobs`` by default), or
  ``s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME`` (any S3-compatible store).

Secrets never travel in URLs that get logged: a PostgreSQL password may sit in the URL (it is
redacted everywhere) but is better given through ``PGPASSWORD`` or a ``.pgpass`` file; S3 keys
come from ``VAULT_S3_ACCESS_KEY`` / ``VAULT_S3_SECRET_KEY``, the file's ``[s3]`` table, or the
standard AWS chain (``AWS_ACCESS_KEY_ID``..., ``~/.aws/credentials``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .storage.urls import redact_url

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
    # an ephemeral (web access) device: its session ends after this many seconds without a
    # request, and the device is then revoked (it never gets another session)
    web_idle: int = 900
    challenge_lifetime: int = 300
    login_fail_window: int = 15 * 60
    login_fail_per_handle: int = 10
    login_fail_per_address: int = 30
    # deposits + requests one issuer may post per sliding minute (a batch counts each of its
    # deposits): a city hall's campaign of 10,000 letters goes in one minute, a runaway or
    # stolen issuer account is held to 200 a second (each recipient's inbox: inbox_items)
    issuer_per_minute: int = 12_000
    inbox_items: int = 100
    # citizens' asks (POST /v1/asks/{handle}): per asking account per minute, asks not yet
    # fulfilled per asking account, bytes of each sealed envelope (the ask, its copy, a reply)
    asks_per_minute: int = 10
    asks_open: int = 100
    ask_envelope: int = 32 * KIB
    # POST /v1/inbox-batch: deposits per request and bytes of its JSON body
    deposit_batch_items: int = 500
    deposit_batch_body: int = 16 * MIB
    grant_failed_attempts: int = 10
    gc_grace: int = 24 * 3600
    gc_interval: int = 3600
    log_page: int = 1000
    device_name: int = 128
    small_blob_field: int = 64 * KIB  # certs, identity signatures, sealed keys
    # blob references of one log entry (routes_log.py: the refs of a large file's version)
    log_refs: int = 131_072


@dataclass(frozen=True)
class StorageConfig:
    """Where metadata and blob bytes live; None means the embedded default under data_dir."""

    metadata: str | None = field(default=None, repr=False)
    blobs: str | None = None
    s3_access_key: str | None = field(default=None, repr=False)
    s3_secret_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        meta = redact_url(self.metadata) if self.metadata else None
        return f"StorageConfig(metadata={meta!r}, blobs={self.blobs!r})"


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path | None = None
    limits: Limits = Limits()
    # When set, login proofs must name this host; otherwise the request's Host header is used.
    public_host: str | None = None
    # Reverse proxies whose X-Forwarded-For is believed (per-address login rate limit).
    trusted_proxies: frozenset[str] = frozenset()
    # Run the periodic GC task inside `serve`.
    periodic_gc: bool = True
    storage: StorageConfig = StorageConfig()
    # The operator's signed trust roots (``--trust-roots FILE``), served as they are.
    trust_roots: bytes | None = None
    # The web access page's build directory (``--web-dir DIR``); None: the installed one.
    web_dir: Path | None = None


# -- the config file ----------------------------------------------------------------------
# Keys of the TOML file (all optional):
#   data, host, port, quota, public_host, trusted_proxies, metadata, blobs,
#   trust_roots (a file path)                                                 (top level)
#   [s3] access_key, secret_key                                               (S3 credentials)
#   [limits] any field of Limits, a positive integer    (e.g. small limits for a test server)
FILE_KEYS = (
    "data",
    "host",
    "port",
    "quota",
    "public_host",
    "trusted_proxies",
    "metadata",
    "blobs",
    "trust_roots",
)


class ConfigFileError(ValueError):
    pass


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings of a TOML config file as a flat dict (``s3_access_key``...)."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise ConfigFileError(f"cannot read {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigFileError(f"{path}: {e}") from None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "s3" and isinstance(value, dict):
            for k in ("access_key", "secret_key"):
                if k in value:
                    out[f"s3_{k}"] = str(value[k])
            unknown = set(value) - {"access_key", "secret_key"}
            if unknown:
                raise ConfigFileError(f"{path}: unknown [s3] keys: {', '.join(sorted(unknown))}")
        elif key == "limits" and isinstance(value, dict):
            out["limits"] = _limits_table(path, value)
        elif key in FILE_KEYS:
            out[key] = value
        else:
            raise ConfigFileError(f"{path}: unknown key {key!r}")
    return out


def _limits_table(path: Path, table: dict[str, Any]) -> dict[str, int]:
    """The ``[limits]`` table: fields of :class:`Limits`, each a positive integer."""
    names = {f.name for f in fields(Limits)} - {"quota"}  # quota: the top-level key
    out: dict[str, int] = {}
    for key, value in table.items():
        if key not in names:
            raise ConfigFileError(f"{path}: unknown [limits] key {key!r}")
        if type(value) is not int or value <= 0:
            raise ConfigFileError(f"{path}: [limits] {key} must be a positive integer")
        out[key] = value
    return out
