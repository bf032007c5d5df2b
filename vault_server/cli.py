"""``vault-server``: serve, grant-issuer, gc, migrate.

Every command takes the same storage options (``--data``, ``--metadata``, ``--blobs``,
``--config``; see config.py): the embedded default is ``--data DIR`` alone (SQLite + files);
``--metadata postgresql://...`` and ``--blobs s3://...`` select the shared backends. Values come
from the command line, else the ``VAULT_*`` environment variables, else the config file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from aiohttp import web

from . import gc, limits
from .app import build_app, open_context
from .clock import SystemClock
from .config import ConfigFileError, Limits, ServerConfig, StorageConfig, load_config_file
from .logs import setup_logging
from .storage.backends import StorageConfigError, check, open_metadata, open_stores
from .storage.urls import StorageError, redact_text, redact_url

_SIZE = re.compile(r"^(\d+)([KMGT]?)(i?B)?$", re.IGNORECASE)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def parse_size(text: str) -> int:
    m = _SIZE.match(text.strip())
    if not m:
        raise click.BadParameter(f"not a size: {text!r} (e.g. 10G, 500M)")
    factor = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(m.group(1)) * factor[m.group(2).upper()]


def fail(message: str) -> None:
    click.echo(f"vault-server: {message}", err=True)
    sys.exit(1)


def storage_options(f: F) -> F:
    """--config, --data, --metadata, --blobs (with their VAULT_* variables)."""
    options = [
        click.option(
            "--config",
            "config_file",
            envvar="VAULT_CONFIG",
            type=click.Path(path_type=Path, dir_okay=False),
            help="TOML settings file (keys as the long options; [s3] access_key, secret_key).",
        ),
        click.option(
            "--data",
            "data",
            envvar="VAULT_DATA",
            type=click.Path(path_type=Path, file_okay=False),
            help="Data directory of the embedded storage (SQLite + files).",
        ),
        click.option(
            "--metadata",
            envvar="VAULT_METADATA",
            help="Metadata store: postgresql://USER@HOST:PORT/DB[?schema=NAME] (default: SQLite"
            " in --data).",
        ),
        click.option(
            "--blobs",
            envvar="VAULT_BLOBS",
            help="Blob store: s3://BUCKET[/PREFIX]?endpoint=URL (default: files in --data).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def resolve(
    config_file: Path | None, data: Path | None, metadata: str | None, blobs: str | None
) -> tuple[dict[str, Any], Path | None, StorageConfig]:
    """Merge command line / environment (already in the arguments) over the config file."""
    file: dict[str, Any] = {}
    if config_file is not None:
        try:
            file = load_config_file(config_file)
        except ConfigFileError as e:
            fail(str(e))
    if data is None and file.get("data"):
        data = Path(str(file["data"]))
    storage = StorageConfig(
        metadata=metadata or file.get("metadata"),
        blobs=blobs or file.get("blobs"),
        s3_access_key=os.environ.get("VAULT_S3_ACCESS_KEY") or file.get("s3_access_key"),
        s3_secret_key=os.environ.get("VAULT_S3_SECRET_KEY") or file.get("s3_secret_key"),
    )
    try:
        check(storage, data)
    except StorageConfigError as e:
        fail(str(e))
    return file, data, storage


def describe(storage: StorageConfig, data: Path | None) -> str:
    meta = redact_url(storage.metadata) if storage.metadata else f"sqlite in {data}"
    blobs = storage.blobs or f"files in {data}"
    return f"metadata: {meta}; blobs: {blobs}"


def run_storage(coro: Awaitable[T], doing: str = "reach storage") -> T:
    """Run ``coro``; errors become one line on stderr (never a secret) and exit status 1."""

    async def wrapped() -> T:
        return await coro

    try:
        return asyncio.run(wrapped())
    except StorageError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot {doing}: {redact_text(str(e.strerror or e))}")
    except Exception as e:  # noqa: BLE001 - driver errors (asyncpg, botocore): one line
        fail(f"storage error: {type(e).__name__}: {redact_text(str(e))[:300]}")
    raise AssertionError("unreachable")


@click.group()
def main() -> None:
    """The vault sync server."""


async def _serve(config: ServerConfig, host: str, port: int) -> None:
    c = await open_context(config, SystemClock())
    app = build_app(c)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=30.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port, shutdown_timeout=30.0)
        await site.start()
        real_port = runner.addresses[0][1]
        print(f"listening on http://{host}:{real_port}", flush=True)
        await stop.wait()
    finally:
        # Stops accepting, lets requests in flight finish (every acknowledged write is
        # already committed), closes WebSockets, then closes the stores.
        await runner.cleanup()


@main.command()
@storage_options
@click.option("--host", default=None, help="Address to listen on  [default: 127.0.0.1]")
@click.option("--port", default=None, type=click.IntRange(0, 65535), help="[default: 8700]")
@click.option("--quota", default=None, help="Per-account storage quota.  [default: 10G]")
@click.option("--public-host", default=None, help="Host name login proofs must name.")
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help="Address of a reverse proxy whose X-Forwarded-For names the client (repeatable).",
)
@click.option(
    "--trust-roots",
    "trust_roots",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Signed trust roots ('vault-server trust-roots make'), offered to clients.",
)
@click.option(
    "--web-dir",
    "web_dir",
    envvar="VAULT_WEB_DIR",
    default=None,
    type=click.Path(path_type=Path, file_okay=False),
    help="Build of the web access page to serve (default: the installed one).",
)
def serve(
    config_file: Path | None,
    data: Path | None,
    metadata: str | None,
    blobs: str | None,
    host: str | None,
    port: int | None,
    quota: str | None,
    public_host: str | None,
    trusted_proxies: tuple[str, ...],
    trust_roots: Path | None,
    web_dir: Path | None,
) -> None:
    """Run the server (the embedded data directory is created on first start)."""
    from vault_core._malloc import keep_freed_memory

    keep_freed_memory()
    # the event loop and the storage threads hand the GIL to each other for every write: a
    # 0.2 ms switch interval instead of 5 ms (measured: server CPU -4 %, the tree -2.6 %)
    sys.setswitchinterval(0.0002)
    setup_logging()
    file, data, storage = resolve(config_file, data, metadata, blobs)
    host = host or str(file.get("host", "127.0.0.1"))
    try:
        port = port if port is not None else int(file.get("port", 8700))
    except (TypeError, ValueError):
        fail("port in the config file must be an integer")
    assert port is not None
    try:
        quota_bytes = parse_size(quota or str(file.get("quota", "10G")))
    except click.BadParameter as e:
        fail(str(e.message))
    proxies = list(trusted_proxies) or file.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        fail("trusted_proxies in the config file must be a list of addresses")
    try:
        trusted = frozenset(str(ipaddress.ip_address(p)) for p in proxies)
    except ValueError as e:
        fail(f"trusted proxy: {e}")
    roots_path = trust_roots or (Path(file["trust_roots"]) if file.get("trust_roots") else None)
    config = ServerConfig(
        data_dir=data,
        limits=dataclasses.replace(Limits(quota=quota_bytes), **file.get("limits", {})),
        public_host=public_host or file.get("public_host"),
        trusted_proxies=trusted,
        storage=storage,
        trust_roots=_read_trust_roots(roots_path) if roots_path is not None else None,
        web_dir=web_dir.resolve() if web_dir is not None else None,
    )
    run_storage(_serve(config, host, port), doing="serve")


def _read_trust_roots(path: Path) -> bytes:
    """The signed trust-roots file, checked before serving it (a bad one stops the start)."""
    from vault_core.errors import IntegrityError
    from vault_core.trust import MAX_ROOTS_FILE, TrustRoots

    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_ROOTS_FILE + 1)
    except OSError as e:
        fail(f"cannot read the trust roots {path}: {e.strerror or e}")
    try:
        TrustRoots.decode(data)
    except IntegrityError:
        fail(f"{path} is not a valid signed trust-roots file ('vault-server trust-roots make')")
    return data


@main.group("trust-roots")
def trust_roots_group() -> None:
    """The deployment's trust roots: authorities offered to every client of this server."""


@trust_roots_group.command("make")
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The operator's signing key (created, owner-only, when missing).")  # fmt: skip
@click.option("--name", "deployment", required=True, help="The deployment's name, shown to owners.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.argument("invitations", nargs=-1, required=True, type=click.Path(path_type=Path))
def trust_roots_make(
    key_file: Path, deployment: str, out: Path, invitations: tuple[Path, ...]
) -> None:
    """Sign a list of authority invitations ('vault authority invite') as trust roots."""
    import os
    import time

    from vault_core.encoding import b64u
    from vault_core.errors import VaultError
    from vault_core.trust import MAX_INVITATION, TrustInvitation, TrustRoots, operator_keypair

    if key_file.exists():
        seed = key_file.read_bytes()
        if len(seed) != 32:
            fail(f"{key_file} is not an operator key (32 bytes)")
    else:
        seed = os.urandom(32)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(seed)
    pk, sk = operator_keypair(seed)
    roots = []
    for path in invitations:
        try:
            with path.open("rb") as fh:
                roots.append(TrustInvitation.decode(fh.read(MAX_INVITATION + 1)))
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror or e}")
        except VaultError:
            fail(f"{path} is not a valid authority invitation ('vault authority invite')")
    try:
        signed = TrustRoots.issue(sk, pk, deployment, int(time.time()), roots)
    except VaultError as e:
        fail(e.message)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_bytes(signed.encode() + b"\n")
    os.replace(tmp, out)
    click.echo(f"{len(roots)} trust roots for {deployment} written to {out}", err=True)
    click.echo(b64u(pk))


@main.command("grant-issuer")
@storage_options
@click.option("--revoke", is_flag=True, help="Take the issuer role away instead.")
@click.argument("handle")
def grant_issuer(
    config_file: Path | None,
    data: Path | None,
    metadata: str | None,
    blobs: str | None,
    handle: str,
    revoke: bool,
) -> None:
    """Let account HANDLE deposit documents and send requests."""
    _, data, storage = resolve(config_file, data, metadata, blobs)
    if not storage.metadata and not (data is not None and (data / "vault.sqlite3").is_file()):
        fail(f"no server data in {data}")

    async def run() -> bool:
        meta = await open_metadata(storage, data)
        try:
            return await meta.set_issuer(handle, not revoke)
        finally:
            await meta.close()

    if not run_storage(run()):
        fail(f"unknown account {handle!r}")


@main.command("gc")
@storage_options
def gc_command(
    config_file: Path | None, data: Path | None, metadata: str | None, blobs: str | None
) -> None:
    """Delete unreferenced blobs older than the grace period (safe while serving)."""
    _, data, storage = resolve(config_file, data, metadata, blobs)
    if not storage.metadata and not (data is not None and (data / "vault.sqlite3").is_file()):
        fail(f"no server data in {data}")

    async def run() -> gc.GcReport:
        stores = await open_stores(storage, data)
        lim = Limits()
        try:
            return await gc.collect(
                stores.meta,
                stores.blobs,
                SystemClock().now(),
                lim.gc_grace,
                limits.rate_window(lim),
            )
        finally:
            await stores.meta.close()
            await stores.blobs.close()

    report = run_storage(run())
    click.echo(
        f"deleted {report.deleted} blobs, settled {report.promoted + report.released} uploads,"
        f" removed {report.staging_removed} staging files"
    )


@main.command("migrate")
@storage_options
@click.option(
    "--jobs",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Blobs copied in parallel.",
)
@click.option("--verify-only", is_flag=True, help="Only compare source and target.")
def migrate_command(
    config_file: Path | None,
    data: Path | None,
    metadata: str | None,
    blobs: str | None,
    jobs: int,
    verify_only: bool,
) -> None:
    """Copy an embedded installation (--data) to PostgreSQL (--metadata) and S3 (--blobs).

    The server must be stopped. Blobs are copied first (re-runnable: objects already there
    with the same bytes are kept), then every metadata table in one transaction into an empty
    database; finally row counts, per-table digests and every blob's SHA-256 are compared.
    """
    from .migrate import migrate

    setup_logging()
    _, data, target = resolve(config_file, data, metadata, blobs)
    if data is None or not (data / "vault.sqlite3").is_file():
        fail(f"no embedded server data in {data} (--data names the installation to copy)")
    assert data is not None
    if not target.metadata or not target.blobs:
        fail("migrate needs --metadata postgresql://... and --blobs s3://... (the target)")
    click.echo(f"source: {data}; target {describe(target, None)}")
    progress = functools.partial(click.echo, err=True)
    report = run_storage(
        migrate(data, target, jobs=jobs, verify_only=verify_only, progress=progress)
    )
    click.echo(report.summary())
