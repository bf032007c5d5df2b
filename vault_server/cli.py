"""``vault-server``: serve, grant-issuer, gc."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import click
from aiohttp import web

from . import gc
from .app import build_app, open_context
from .clock import SystemClock
from .config import Limits, ServerConfig
from .logs import setup_logging
from .storage.file_blobs import FileBlobStore
from .storage.sqlite_meta import SqliteMetadataStore

_SIZE = re.compile(r"^(\d+)([KMGT]?)(i?B)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    m = _SIZE.match(text.strip())
    if not m:
        raise click.BadParameter(f"not a size: {text!r} (e.g. 10G, 500M)")
    factor = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(m.group(1)) * factor[m.group(2).upper()]


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
@click.option("--data", "data", required=True, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option("--quota", default="10G", show_default=True, help="Per-account storage quota.")
@click.option("--public-host", default=None, help="Host name login proofs must name.")
def serve(data: Path, host: str, port: int, quota: str, public_host: str | None) -> None:
    """Run the server on DATA (created on first start)."""
    setup_logging()
    config = ServerConfig(
        data_dir=data, limits=Limits(quota=parse_size(quota)), public_host=public_host
    )
    try:
        asyncio.run(_serve(config, host, port))
    except OSError as e:
        click.echo(f"vault-server: cannot serve: {e.strerror or e}", err=True)
        sys.exit(1)


@main.command("grant-issuer")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path))
@click.option("--revoke", is_flag=True, help="Take the issuer role away instead.")
@click.argument("handle")
def grant_issuer(data: Path, handle: str, revoke: bool) -> None:
    """Let account HANDLE deposit documents and send requests."""

    async def run() -> bool:
        meta = SqliteMetadataStore(data / "vault.sqlite3")
        try:
            return await meta.set_issuer(handle, not revoke)
        finally:
            await meta.close()

    if not (data / "vault.sqlite3").is_file():
        click.echo(f"vault-server: no server data in {data}", err=True)
        sys.exit(1)
    if not asyncio.run(run()):
        click.echo(f"vault-server: unknown account {handle!r}", err=True)
        sys.exit(1)


@main.command("gc")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path))
def gc_command(data: Path) -> None:
    """Delete unreferenced blobs older than the grace period (safe while serving)."""

    async def run() -> gc.GcReport:
        meta = SqliteMetadataStore(data / "vault.sqlite3")
        blobs = FileBlobStore(data / "blobs")
        lim = Limits()
        try:
            return await gc.collect(
                meta, blobs, SystemClock().now(), lim.gc_grace, lim.login_fail_window
            )
        finally:
            await meta.close()

    if not (data / "vault.sqlite3").is_file():
        click.echo(f"vault-server: no server data in {data}", err=True)
        sys.exit(1)
    report = asyncio.run(run())
    click.echo(
        f"deleted {report.deleted} blobs, settled {report.promoted + report.released} uploads,"
        f" removed {report.staging_removed} staging files"
    )
