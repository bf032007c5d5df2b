"""``vault app``: the desktop app of this profile (the daemon and its local web UI)."""

from __future__ import annotations

import sys

import click

from ..service.context import Context
from .common import cli


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Local port (0: any).")
@click.option("--no-browser", is_flag=True, help="Only print the launch URL.")
@click.pass_obj
def app(obj: Context, port: int, no_browser: bool) -> None:
    """Start the desktop app on 127.0.0.1; the last line of stdout is its launch URL."""
    from ..app.server import run

    sys.exit(run(obj.home, port, open_browser=not no_browser))
